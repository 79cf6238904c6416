"""A month reconciled day by day: a clean month raises nothing; every planted discrepancy is found and classified."""

from __future__ import annotations

from db.engine import get_engine
from reconciliation.exceptions import list_exceptions
from reconciliation.run import reconcile_day
from tests.reconciliation.builders import day
from tests.reconciliation.scenario import PROVIDERS, build_month


def _exceptions(db_url: str) -> dict[str, dict]:
    with get_engine(db_url).connect() as conn:
        return {r["exception_key"]: r for r in list_exceptions(conn).iter_rows(named=True)}


def test_clean_month_has_zero_exceptions(db_url):
    # Goal: 28 days of loads on schedule, daily spending, files on time, balances that tie -> nothing raised.
    build_month(db_url, 28, planted=False)
    assert _exceptions(db_url) == {}


def test_planted_discrepancies_are_found_and_classified(db_url):
    # Goal: each planted case (scenario.build_month docstring) is found, with the right type, cause and evidence,
    # and nothing else is raised.
    build_month(db_url, 28, planted=True)
    found = _exceptions(db_url)
    by_type: dict[str, list[dict]] = {}
    for r in found.values():
        by_type.setdefault(r["exception_type"], []).append(r)

    # Balances: C1's quarantined purchase, from the day it happened (day 5) to the end of the month.
    c1 = sorted((r for r in by_type["balance_mismatch"] if r["account_id"] == "10000001"), key=lambda r: r["london_date"])
    assert [r["london_date"] for r in c1] == [day(n) for n in range(5, 29)]
    assert {(r["cause"], r["evidence"], r["difference_pence"], r["status"]) for r in c1} == {
        ("missing_transaction", "A:AQ1", -1_249, "explained")
    }, "after the late file arrived, day 18's difference is the quarantined item again, not a feed gap"
    # C2: the pending purchase the provider booked on day 7 -> explained, then closed when it settled.
    c2 = [r for r in by_type["balance_mismatch"] if r["account_id"] == "10000002"]
    assert {(r["london_date"], r["cause"], r["difference_pence"], r["status"]) for r in c2} == {
        (day(7), "pending_booked_late", -500, "resolved"),
        (day(18), "feed_gap", -(100 + 7 * 18 + 1), "resolved"),  # its own day-18 purchase, not yet loaded
    }
    # C3: the conflicting resend (£21.00 against £20.00), every day from day 5 except day 12 (no B balances).
    c3 = [r for r in by_type["balance_mismatch"] if r["account_id"] == "ct_0003"]
    assert sorted(r["london_date"] for r in c3) == [day(n) for n in range(5, 29) if n != 12]
    assert {(r["cause"], r["evidence"], r["difference_pence"]) for r in c3} == {("amount_mismatch", "B:B-X3", -100)}
    # C4: the unexplained +£7.77 on day 9 only; open, no cause.
    c4 = [r for r in by_type["balance_mismatch"] if r["account_id"] == "ct_0004"]
    assert [(r["london_date"], r["cause"], r["difference_pence"], r["status"]) for r in c4] == [(day(9), None, 777, "open")]
    # C5: only the feed gap of day 18, closed when the file came.
    c5 = [r for r in by_type["balance_mismatch"] if r["account_id"] == "10000005"]
    assert [(r["london_date"], r["cause"], r["status"]) for r in c5] == [(day(18), "feed_gap", "resolved")]
    assert {r["account_id"] for r in by_type["balance_mismatch"]} == {"10000001", "10000002", "ct_0003", "ct_0004", "10000005"}
    # The unknown card: one unknown_account, and no balance difference (its money is in suspense).
    assert [(r["exception_key"], r["status"], r["cause"]) for r in by_type["unknown_account"]] == [
        ("unknown_account:A:99999999", "explained", "unknown_account")
    ]

    # Loads.
    loads = {k: r for k, r in found.items() if k.split(":")[0].endswith("_load")}
    assert {k: r["status"] for k, r in loads.items()} == {
        "late_load:L2": "open",
        "missing_load:L2": "resolved",  # raised while overdue, closed when the late load arrived
        "wrong_amount_load:L3": "open",
        "missing_load:L4": "open",
        "duplicate_load:B:B-L5b": "open",
        "unexpected_load:A:A-UX": "open",
        "unexpected_load:A:A-U1": "open",  # the unknown card's load
    }
    assert loads["wrong_amount_load:L3"]["difference_pence"] == -10_000
    assert loads["late_load:L2"]["evidence"] == "A:A-L2"
    assert loads["missing_load:L4"]["london_date"] == day(15)

    # Files: B's balances of day 12 never came (open); A's transactions of day 18 came a day late.
    files = {k: (r["status"], r["resolution"]) for k, r in found.items() if k.split(":")[0] in ("missing_file", "late_file")}
    assert files == {
        f"missing_file:B:{day(12)}": ("open", None),
        f"missing_file:A:{day(18)}": ("resolved", "auto"),
        f"late_file:A:transactions:{day(18)}": ("resolved", "on_arrival"),
    }
    assert "balances file" in found[f"missing_file:B:{day(12)}"]["explanation"]

    # Quarantine, conflict, other money in.
    assert [r["evidence"] for r in by_type["quarantined_row"]] == ["A:AQ1"]
    assert by_type["quarantined_row"][0]["client_id"] == "C1", "the quarantined row's card is read from its raw text"
    assert [r["evidence"] for r in by_type["conflict"]] == ["B:B-X3"]
    assert [(r["evidence"], r["raised_for"], r["amount_pence"]) for r in by_type["other_money_in"]] == [("A:A-O5", "audit", 2_500)]

    assert set(by_type) == {
        "balance_mismatch", "unknown_account", "late_load", "missing_load", "wrong_amount_load", "duplicate_load",
        "unexpected_load", "missing_file", "late_file", "quarantined_row", "conflict", "other_money_in",
    }
    # No exception shows a whole account number in its text (reports carry the last 4 only).
    for r in found.values():
        assert "10000001" not in r["explanation"] and "99999999" not in r["explanation"]

    # Re-running the last day changes nothing.
    again = reconcile_day(db_url, day(28), expected_providers=PROVIDERS)
    assert again["raised"] == 0 and again["resolved"] == 0
    assert {k: r["status"] for k, r in _exceptions(db_url).items()} == {k: r["status"] for k, r in found.items()}
