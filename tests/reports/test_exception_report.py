"""The exception report: files exist, open, and carry the right totals (XLSX parsed back with openpyxl)."""

from __future__ import annotations

import csv
import datetime as dt

import openpyxl
import polars as pl

from db.engine import get_engine
from reconciliation.exceptions import list_exceptions
from reconciliation.funding import funding_totals
from reports.exception_report import assign_sections, write_exception_report
from tests.reconciliation.builders import day
from tests.reconciliation.scenario import build_month


def test_report_files_open_and_carry_the_right_totals(db_url, tmp_path):
    # Goal: the report for day 20 of the planted month has new / carried / closed exactly as the register says,
    # a sheet per exception type whose rows and money sum to the register's, funding that ties to the ledger,
    # BOM-prefixed CSVs, and a self-contained HTML page.
    build_month(db_url, 20, planted=True)
    run_day = day(20)
    written = write_exception_report(db_url, run_day, tmp_path)
    assert set(written) == {"Testshire:html", "Testshire:xlsx", "Testshire:csv"}

    with get_engine(db_url).connect() as conn:
        register = assign_sections(list_exceptions(conn), run_day)
        funding = funding_totals(conn, run_day.replace(day=1), run_day, ["Testshire"])
    sections = dict(register.group_by("section").len().iter_rows())
    # Day 20 closed: the overdue L2 load (it arrived); new: its late_load, the unscheduled load, ...
    assert sections["closed"] == register.filter(pl.col("resolved_on") == run_day).height >= 1
    assert "late_load" in register.filter(pl.col("section") == "new")["exception_type"].to_list()
    assert "missing_load" in register.filter(pl.col("section") == "closed")["exception_type"].to_list()

    wb = openpyxl.load_workbook(written["Testshire:xlsx"])
    summary = wb["Summary"]
    figures = {summary.cell(r, 1).value: summary.cell(r, 2).value for r in range(4, 20)}
    assert figures["New this run"] == sections.get("new", 0)
    assert figures["Carried forward"] == sections.get("carried", 0)
    assert figures["Closed this run"] == sections["closed"]
    # Five £1,000 loads, L3's £900, L2's £500 and the unscheduled £300; the unknown card's £70 is in suspense,
    # not paid from the council's funding account as far as the ledger knows.
    assert figures["Loaded, month to date"] == funding["loaded_pence"].sum() / 100 == 5 * 1_000 + 900 + 500 + 300
    assert summary.cell(4 + 15, 2).number_format == "£#,##0.00"

    bal = wb["Balance differences"]
    header = [c.value for c in bal[1]]
    assert header[:4] == ["Section", "Id", "Status", "Type"]
    assert bal.freeze_panes == "A2" and bal.auto_filter.ref is not None
    diff_col = header.index("Difference") + 1
    rows = list(bal.iter_rows(min_row=2, values_only=True))
    expected = register.filter(pl.col("exception_type") == "balance_mismatch")
    assert len(rows) == expected.height
    assert round(sum(r[diff_col - 1] for r in rows), 2) == expected["difference_pence"].sum() / 100
    assert bal.cell(2, diff_col).number_format == "£#,##0.00"
    assert isinstance(bal.cell(2, diff_col).value, float | int), "money is a number in the workbook, not text"
    # A sheet per exception type present in the report.
    assert len(wb.sheetnames) == 2 + register["exception_type"].n_unique()

    folder = written["Testshire:csv"]
    raw = (folder / "exceptions_balance_mismatch.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV must carry a UTF-8 BOM for Excel"
    with (folder / "exceptions_balance_mismatch.csv").open(encoding="utf-8-sig") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert len(csv_rows) == expected.height
    assert sum(round(float(r["difference_gbp"]) * 100) for r in csv_rows) == expected["difference_pence"].sum()

    page = written["Testshire:html"].read_text(encoding="utf-8")
    for heading in ("New this run", "Carried forward", "Closed this run", "What it means", "What to do", "Funding, month to date"):
        assert heading in page
    assert page.count("<svg") == 2 and "http://" not in page.split("</style>")[0] and "<script" not in page
    assert "10000001" not in page, "cards appear by their last 4 characters only"

    # Idempotent: writing the same day's report again gives the same workbook figures.
    again = write_exception_report(db_url, run_day, tmp_path)
    wb2 = openpyxl.load_workbook(again["Testshire:xlsx"])
    assert [[c.value for c in row] for row in wb2["Summary"].iter_rows(max_row=19)] == [
        [c.value for c in row] for row in summary.iter_rows(max_row=19)
    ]


def test_sections_are_as_of_the_run_day():
    # Goal: an exception closed after the run day shows as open (carried) in that day's report; new = first seen that day.
    d = dt.date(2026, 3, 10)
    exc = pl.DataFrame(
        {
            "exception_id": [1, 2, 3, 4], "exception_type": ["x"] * 4, "account_id": ["12345678"] * 4,
            "first_seen": [d, d - dt.timedelta(days=3), d - dt.timedelta(days=5), d + dt.timedelta(days=1)],
            "resolved_on": [None, d + dt.timedelta(days=2), d, None], "status": ["open", "resolved", "resolved", "open"],
            "london_date": [d] * 4,
        }
    )
    out = {r["exception_id"]: r for r in assign_sections(exc, d).iter_rows(named=True)}
    assert set(out) == {1, 2, 3}, "raised after the day: not in that day's report"
    assert (out[1]["section"], out[1]["age_days"]) == ("new", 0)
    assert (out[2]["section"], out[2]["status"], out[2]["age_days"]) == ("carried", "open", 3)
    assert (out[3]["section"], out[3]["age_days"], out[3]["card"]) == ("closed", 5, "…5678")
