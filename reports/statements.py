"""Statements of account for audits (a client, a period) as CSV; HTML and XLSX are in reports.audit."""

from __future__ import annotations

import csv
from pathlib import Path

from ledger.queries import Statement


def pounds_text(pence: int) -> str:
    """Pence as plain pounds with two decimals for spreadsheets: -1249 -> '-12.49'."""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(int(pence)), 100)
    return f"{sign}{whole}.{part:02d}"


def write_statement_csv(st: Statement, path: Path) -> Path:
    """Opening line, every item with its running balance, closing line; amounts in pounds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
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
