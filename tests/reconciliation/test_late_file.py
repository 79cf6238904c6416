"""A provider file that has not arrived opens exceptions; when it arrives in a later drop they close themselves."""

from __future__ import annotations

from sqlalchemy import text

from db.engine import get_engine
from reconciliation.exceptions import list_exceptions
from reconciliation.run import reconcile_day
from tests.reconciliation.builders import Book, day


def _by_key(db_url: str) -> dict[str, dict]:
    with get_engine(db_url).connect() as conn:
        return {r["exception_key"]: r for r in list_exceptions(conn).iter_rows(named=True)}


def test_late_file_opens_then_closes_its_exceptions(db_url):
    # Goal: day 2's A transactions file is missing at day 2's run (missing_file + an explained balance
    # difference), arrives in day 3's drop, and day 3's run closes both and records a late_file.
    book = Book(db_url).card("C1", "A", "10000001").card("C2", "B", "ct_0002")
    book.scheduled("C1", day(1), 100_000, "L1").scheduled("C2", day(1), 50_000, "L2")
    book.save_reference()
    book.post([book.item("A", "A-L1", "10000001", "council_load", 100_000, day(1), reference="L1"),
               book.item("B", "B-L2", "ct_0002", "council_load", 50_000, day(1), reference="L2")])
    book.balances("A", day(1))
    book.balances("B", day(1))
    book.day_files(day(1))
    assert reconcile_day(db_url, day(1), expected_providers=("A", "B"))["raised"] == 0

    # Day 2: the provider spent 12.49 on C1's card, but its transactions file is not here yet.
    late_item = book.item("A", "A-P1", "10000001", "card_purchase", -1_249, day(2))
    book.balances("A", day(2), {"10000001": 100_000 - 1_249})
    book.balances("B", day(2))
    book.file("A", "balances", day(2))
    book.file("B", "transactions", day(2))
    book.file("B", "balances", day(2))
    summary = reconcile_day(db_url, day(2), expected_providers=("A", "B"))
    found = _by_key(db_url)
    missing = found["missing_file:A:2026-03-03"]
    assert missing["status"] == "open" and "transactions file" in missing["explanation"]
    bal = found["balance_mismatch:A:10000001:2026-03-03"]
    assert bal["difference_pence"] == -1_249 and bal["cause"] == "feed_gap" and bal["status"] == "explained"
    assert summary["raised"] == 2

    # Day 3: the day-2 file arrives in day 3's drop, with day 3's files.
    book.post([late_item])
    book.file("A", "transactions", day(2), drop=day(3))
    book.balances("A", day(3))
    book.balances("B", day(3))
    book.day_files(day(3))
    summary = reconcile_day(db_url, day(3), expected_providers=("A", "B"))
    assert "2026-03-03" in summary["balance_days_checked"], "the late day must be reconciled again"
    found = _by_key(db_url)
    assert found["missing_file:A:2026-03-03"]["status"] == "resolved"
    assert found["missing_file:A:2026-03-03"]["resolution"] == "auto"
    assert found["balance_mismatch:A:10000001:2026-03-03"]["status"] == "resolved"
    late = found["late_file:A:transactions:2026-03-03"]
    assert late["status"] == "resolved" and late["resolution"] == "on_arrival" and late["first_seen"] == day(3)
    assert {k for k, r in found.items() if r["status"] != "resolved"} == set()

    # Idempotent: the same run again changes nothing.
    before = _by_key(db_url)
    again = reconcile_day(db_url, day(3), expected_providers=("A", "B"))
    assert again["raised"] == 0 and again["resolved"] == 0
    after = _by_key(db_url)
    strip = ("updated_at",)
    assert {k: {c: v for c, v in r.items() if c not in strip} for k, r in before.items()} == {
        k: {c: v for c, v in r.items() if c not in strip} for k, r in after.items()
    }
    with get_engine(db_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM runs WHERE command = 'reconcile'")).scalar_one() == 3
