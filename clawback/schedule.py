"""The clawback schedule finance approves: XLSX (currency format, autofilter) and CSV (UTF-8 with BOM).

Why both: finance reviews and filters the XLSX in Excel; the CSV with a BOM opens in Excel with the
pound sign intact and is what scripts read. Both are written from the stored lines, sorted, with
no timestamps inside, so the same week gives the same files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from pathlib import Path

import xlsxwriter

from clawback.instructions import slug
from schemas.money import pounds_plain as _money_text

# (header, line key, is money)
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("Client", "client_id", False),
    ("Provider", "provider", False),
    ("Card account", "account_id", False),
    ("Balance", "balance_pence", True),
    ("Council share", "council_part_pence", True),
    ("Client share", "client_part_pence", True),
    ("Contingency weeks", "contingency_weeks", False),
    ("Contingency", "contingency_pence", True),
    ("Commitments", "commitments_pence", True),
    ("Holds", "holds_pence", True),
    ("Surplus", "surplus_pence", True),
    ("Client excess (refund or keep)", "client_excess_pence", True),
    ("Amount to recover", "amount_to_recover_pence", True),
    ("Outcome", "outcome", False),
    ("Reason", "reason", False),
)
FIXED_CREATED = dt.datetime(2000, 1, 1)  # workbook metadata date: fixed so the bytes are reproducible


def schedule_file_stem(council: str, iso_week: str) -> str:
    return f"clawback_schedule_{slug(council)}_{iso_week}"


def _sorted(lines: Sequence[dict]) -> list[dict]:
    return sorted(lines, key=lambda r: (r["client_id"], r["provider"], r["account_id"]))


def render_csv(lines: Sequence[dict]) -> bytes:
    """UTF-8 with BOM; money as pounds with two decimals (a number Excel can sum)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([h for h, _, _ in COLUMNS])
    for r in _sorted(lines):
        w.writerow([_money_text(r[k]) if money else ("" if r[k] is None else r[k]) for _, k, money in COLUMNS])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def write_xlsx(path: Path, lines: Sequence[dict], *, council: str, iso_week: str, summary: dict) -> None:
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"title": f"Clawback schedule {council} {iso_week}", "created": FIXED_CREATED})
    money = wb.add_format({"num_format": "£#,##0.00;[Red]-£#,##0.00"})
    bold = wb.add_format({"bold": True})
    ws = wb.add_worksheet("Schedule")
    for c, (header, _, _) in enumerate(COLUMNS):
        ws.write_string(0, c, header, bold)
    rows = _sorted(lines)
    for r_i, r in enumerate(rows, start=1):
        for c, (_, key, is_money) in enumerate(COLUMNS):
            v = r[key]
            if is_money:
                # Pounds as a number with currency format; pence / 100 is exact to 2 places for display.
                ws.write_number(r_i, c, int(v) / 100, money)
            elif isinstance(v, int):
                ws.write_number(r_i, c, v)
            elif v is None:
                ws.write_blank(r_i, c, None)
            else:
                ws.write_string(r_i, c, str(v))
    ws.autofilter(0, 0, max(len(rows), 1), len(COLUMNS) - 1)
    ws.freeze_panes(1, 0)
    ws.set_column(0, 2, 14)
    ws.set_column(3, 12, 16)
    ws.set_column(13, 13, 18)
    ws.set_column(14, 14, 60)

    s = wb.add_worksheet("Summary")
    s.set_column(0, 0, 40)
    s.set_column(1, 1, 18)
    for r, (label, value) in enumerate(summary.items()):
        s.write_string(r, 0, label)
        if label.endswith("(£)"):
            s.write_number(r, 1, int(value) / 100, money)
        elif isinstance(value, int | float):
            s.write_number(r, 1, value)
        else:
            s.write_string(r, 1, str(value))
    wb.close()


def write_schedule(lines: Sequence[dict], out_dir: Path, *, council: str, iso_week: str, summary: dict) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = schedule_file_stem(council, iso_week)
    csv_path = out_dir / f"{stem}.csv"
    xlsx_path = out_dir / f"{stem}.xlsx"
    csv_path.write_bytes(render_csv(lines))
    write_xlsx(xlsx_path, lines, council=council, iso_week=iso_week, summary=summary)
    return {"csv": csv_path, "xlsx": xlsx_path}
