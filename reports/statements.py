"""Statements of account for audits (a client, a period) as CSV, HTML and XLSX.

Why three formats: auditors file the HTML (opens from disk, prints cleanly), work in the XLSX (amounts
are numbers formatted as £, so they sum), and load the CSV into their own tools. All three come from
``ledger.queries.statement``, whose opening + items = closing is asserted when it is built; amounts
stay in pence until written here.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
from pathlib import Path

import xlsxwriter

from ledger.queries import Statement
from schemas.money import pounds as _pounds
from schemas.money import pounds_plain as pounds_text


def write_statement_csv(st: Statement, path: Path) -> Path:
    """Opening line, every item with its running balance, closing line; amounts in pounds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8-sig") as fh:  # BOM: Excel then reads it as UTF-8
        w = csv.writer(fh)
        w.writerow(["client_id", "date", "entry_id", "type", "description", "provider_txn_id", "amount_gbp", "balance_gbp"])
        w.writerow([st.client_id, st.date_from.isoformat(), "", "opening", "Opening balance", "", "", pounds_text(st.opening_pence)])
        for r in st.items.iter_rows(named=True):
            w.writerow(
                [
                    st.client_id,
                    r["london_date"].isoformat(),
                    r["entry_id"],
                    r["entry_type"],
                    r["description"],
                    r["provider_txn_id"] or "",
                    pounds_text(r["amount_pence"]),
                    pounds_text(r["running_balance_pence"]),
                ]
            )
        w.writerow([st.client_id, st.date_to.isoformat(), "", "closing", "Closing balance", "", "", pounds_text(st.closing_pence)])
    return path


def write_statement_html(st: Statement, path: Path) -> Path:
    """A self-contained HTML statement (inline CSS, no scripts) for an audit file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    e = html.escape
    rows = [
        f"<tr><td>{r['london_date']:%d/%m/%Y}</td><td>{e(r['entry_type'].replace('_', ' '))}</td><td>{e(r['description'] or '')}</td>"
        f"<td>{e(r['provider_txn_id'] or '')}</td><td class=n>{_pounds(r['amount_pence'])}</td>"
        f"<td class=n>{_pounds(r['running_balance_pence'])}</td></tr>"
        for r in st.items.iter_rows(named=True)
    ]
    money_in = int(st.items.filter(st.items["amount_pence"] > 0)["amount_pence"].sum()) if st.items.height else 0
    money_out = int(st.items.filter(st.items["amount_pence"] < 0)["amount_pence"].sum()) if st.items.height else 0
    doc = f"""<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Statement of account — client {e(st.client_id)}</title>
<style>
body {{ font-family: Arial, Helvetica, sans-serif; margin: 28px; color: #1b1b1b; font-size: 14px; }}
h1 {{ font-size: 22px; margin-bottom: 2px; }} .sub {{ color: #555; margin-top: 0; }}
table {{ border-collapse: collapse; width: 100%; margin-top: 12px; }}
th {{ background: #e7edf6; text-align: left; padding: 5px 6px; border-bottom: 2px solid #b8c4d6; }}
td {{ padding: 4px 6px; border-bottom: 1px solid #e6e8ec; }} td.n, th.n {{ text-align: right; white-space: nowrap; }}
tr.total td {{ font-weight: bold; background: #f4f6fa; }}
.figs td {{ border: none; padding: 2px 14px 2px 0; }}
</style></head><body>
<h1>Statement of account — client {e(st.client_id)}</h1>
<p class="sub">{st.date_from:%d %B %Y} to {st.date_to:%d %B %Y} (London days). The card's money, council-funded and
client-funded parts together, from the careledger ledger. Generated {dt.datetime.now(dt.UTC):%d/%m/%Y %H:%M} UTC.</p>
<table class="figs"><tr><td>Opening balance</td><td class=n>{_pounds(st.opening_pence)}</td></tr>
<tr><td>Money in</td><td class=n>{_pounds(money_in)}</td></tr><tr><td>Money out</td><td class=n>{_pounds(money_out)}</td></tr>
<tr><td><b>Closing balance</b></td><td class=n><b>{_pounds(st.closing_pence)}</b></td></tr></table>
<table><thead><tr><th>Date</th><th>Type</th><th>Description</th><th>Provider item</th><th class=n>Amount</th><th class=n>Balance</th></tr></thead>
<tbody><tr class=total><td>{st.date_from:%d/%m/%Y}</td><td colspan=4>Opening balance</td><td class=n>{_pounds(st.opening_pence)}</td></tr>
{"".join(rows)}
<tr class=total><td>{st.date_to:%d/%m/%Y}</td><td colspan=4>Closing balance</td><td class=n>{_pounds(st.closing_pence)}</td></tr>
</tbody></table></body></html>
"""
    path.write_text(doc, encoding="utf-8")
    return path


def write_statement_xlsx(st: Statement, path: Path) -> Path:
    """The statement as a workbook: amounts are pound numbers (pence / 100, here only) formatted as £."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Statement")
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    money = wb.add_format({"num_format": "£#,##0.00"})
    money_b = wb.add_format({"num_format": "£#,##0.00", "bold": True})
    date = wb.add_format({"num_format": "dd/mm/yyyy"})
    bold = wb.add_format({"bold": True})
    ws.write(0, 0, f"Statement of account — client {st.client_id}, {st.date_from:%d/%m/%Y} to {st.date_to:%d/%m/%Y}", bold)
    cols = ["Date", "Entry", "Type", "Description", "Provider item", "Amount", "Balance"]
    ws.write_row(2, 0, cols, head)
    ws.write_datetime(3, 0, dt.datetime.combine(st.date_from, dt.time()), date)
    ws.write(3, 3, "Opening balance", bold)
    ws.write_number(3, 6, st.opening_pence / 100, money_b)
    i = 4
    for r in st.items.iter_rows(named=True):
        ws.write_datetime(i, 0, dt.datetime.combine(r["london_date"], dt.time()), date)
        ws.write_number(i, 1, int(r["entry_id"]))
        ws.write_string(i, 2, r["entry_type"])
        ws.write_string(i, 3, r["description"] or "")
        ws.write_string(i, 4, r["provider_txn_id"] or "")
        ws.write_number(i, 5, r["amount_pence"] / 100, money)
        ws.write_number(i, 6, r["running_balance_pence"] / 100, money)
        i += 1
    ws.write_datetime(i, 0, dt.datetime.combine(st.date_to, dt.time()), date)
    ws.write(i, 3, "Closing balance", bold)
    ws.write_number(i, 6, st.closing_pence / 100, money_b)
    ws.autofilter(2, 0, i, len(cols) - 1)
    ws.freeze_panes(3, 0)
    ws.set_column(0, 0, 12)
    ws.set_column(1, 2, 14)
    ws.set_column(3, 3, 48)
    ws.set_column(4, 4, 16)
    ws.set_column(5, 6, 14)
    wb.close()
    return path


def write_statement(st: Statement, out_dir: Path) -> dict[str, Path]:
    """CSV, HTML and XLSX of one statement into ``out_dir``, named by client and period."""
    stem = f"statement_{st.client_id}_{st.date_from.isoformat()}_{st.date_to.isoformat()}"
    out_dir = Path(out_dir)
    return {
        "csv": write_statement_csv(st, out_dir / f"{stem}.csv"),
        "html": write_statement_html(st, out_dir / f"{stem}.html"),
        "xlsx": write_statement_xlsx(st, out_dir / f"{stem}.xlsx"),
    }
