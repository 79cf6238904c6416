"""End to end: simulate a council's month, ingest each day's drop, reconcile each day, write the report, and
check that every planted reconciliation case in ground_truth.json is found (recall per type is printed)."""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest

from db.engine import get_engine
from feeds.ingest import ingest_drop
from reconciliation.exceptions import list_exceptions
from reconciliation.run import reconcile_day
from reports.exception_report import write_exception_report

RECON_RULES = (
    "balance_discrepancy", "missing_load", "late_load", "duplicate_load", "wrong_amount_load", "unexpected_load",
    "late_file", "missing_file",
)


def case_found(case: dict, exc: dict) -> bool:
    """Does this exception report this planted case? Loads: same type and client, within 10 days (the simulator
    dates a late or duplicate load by its arrival, the register by its due date)."""
    rule, day = case["rule"], dt.date.fromisoformat(case["date"])
    if rule == "balance_discrepancy":
        return (exc["exception_type"] == "balance_mismatch" and exc["provider"] == case["provider"]
                and exc["account_id"] == case["account_id"] and exc["london_date"] == day)
    if rule in ("late_file", "missing_file"):
        return exc["exception_type"] == rule and exc["provider"] == case["provider"] and exc["london_date"] == day
    return exc["exception_type"] == rule and exc["client_id"] == case["client_id"] and abs((exc["london_date"] - day).days) <= 10


def recall(cases: list[dict], found: list[dict]) -> dict[str, tuple[int, int]]:
    out = {}
    for rule in RECON_RULES:
        mine = [c for c in cases if c["rule"] == rule]
        out[rule] = (sum(any(case_found(c, e) for e in found) for c in mine), len(mine))
    return out


@pytest.mark.slow
def test_simulated_month_end_to_end(db_url, tmp_path):
    # Goal: the real path (simulator -> ingest -> reconcile -> report) finds every planted balance, load and file
    # case, raises no open exception of those kinds that the simulator did not plant, and writes a report.
    from simulator import simulate

    start = dt.date(2026, 3, 2)
    sim = simulate("Testshire", 100, start, 28, 7, tmp_path / "sim")
    for drop in sim.drops:
        summary = ingest_drop(db_url, drop)
        assert not summary.refused, [f.message for f in summary.refused]
        reconcile_day(db_url, dt.datetime.strptime(drop.name, "%Y%m%d").date())
    cases = [c for c in json.loads(sim.ground_truth.read_text())["cases"] if c["rule"] in RECON_RULES]
    with get_engine(db_url).connect() as conn:
        found = list_exceptions(conn).to_dicts()
    result = recall(cases, found)
    print("recall per type:", {k: f"{a}/{b}" for k, (a, b) in result.items()})
    assert sum(b for _, b in result.values()) >= 6, "the simulator planted too few reconciliation cases to test"
    assert all(a == b for a, b in result.values()), result

    # Open exceptions of these kinds must each be a planted case (resolved ones are history: a load that was
    # missing until it arrived late, a file missing until it arrived).
    kinds = {"balance_mismatch", "missing_load", "late_load", "duplicate_load", "wrong_amount_load", "unexpected_load",
             "late_file", "missing_file"}
    stray = [e for e in found if e["exception_type"] in kinds and e["status"] != "resolved"
             and not any(case_found(c, e) for c in cases)]
    assert stray == [], [e["explanation"] for e in stray]

    end = start + dt.timedelta(days=27)
    written = write_exception_report(db_url, end, tmp_path / "reports")
    wb = openpyxl.load_workbook(written["Testshire:xlsx"])
    assert "Summary" in wb.sheetnames and "Funding" in wb.sheetnames
    assert written["Testshire:html"].read_text(encoding="utf-8").count("<svg") >= 2
