"""Holds are read back as they stood at the end of any day, whatever has loaded since.

A re-run of an older day (clawback's "money still held", reconciliation's pending explanations)
must see that day's holds: an authorisation settled, released or reversed on a later day still
held its amount on the day itself. Built through ``store_and_post``, the path the readers use,
on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

from db.engine import get_engine
from records.reference import load_reference
from records.transactions import open_holds
from tests.clawback import builders as b

MON = dt.date(2026, 3, 2)
TUE, WED, THU = (MON + dt.timedelta(days=n) for n in (1, 2, 3))


def _held(url: str, day: dt.date) -> dict[str, int]:
    with get_engine(url).connect() as conn:
        return {r["provider_txn_id"]: r["amount_pence"] for r in open_holds(conn, day).iter_rows(named=True)}


def test_holds_are_point_in_time_and_later_days_do_not_change_an_earlier_one(db_url):
    with get_engine(db_url).begin() as conn:
        ref = b.save_ref(conn, holders=[b.holder("C1", "A", "10000001"), b.holder("C2", "B", "ct_1")])
        # Monday: a load, two authorisations on provider A, one on provider B.
        b.post(conn, ref, [
            b.txn("A", "10000001", "C1", "load", 20_000, MON),
            b.txn("A", "10000001", "C1", "card_purchase", -2_500, MON, status="pending", txn_id="A-settles"),
            b.txn("A", "10000001", "C1", "card_purchase", -700, MON, status="pending", txn_id="A-reversed"),
            b.txn("B", "ct_1", "C2", "card_purchase", -1_000, MON, status="pending", txn_id="B-auth"),
        ])
    monday = _held(db_url, MON)
    assert monday == {"A-settles": -2_500, "A-reversed": -700, "B-auth": -1_000}

    with get_engine(db_url).begin() as conn:
        ref = load_reference(conn)
        # Wednesday's file: A settles its item for a different amount (posted Wednesday) and B
        # releases its authorisation with an event of its own.
        settle = b.txn("A", "10000001", "C1", "card_purchase", -2_310, MON, txn_id="A-settles")
        settle["posted_date"] = WED
        release = b.txn("B", "ct_1", "C2", "card_purchase", 1_000, WED, status="released", txn_id="B-release")
        release["related_txn_id"] = "B-auth"
        b.post_file(conn, ref, [settle, release], feed_date=WED)
        # Thursday's file: A reverses the other authorisation (no posted date: closes on the feed day).
        reversed_ = b.txn("A", "10000001", "C1", "card_purchase", -700, MON, status="declined", txn_id="A-reversed")
        reversed_["posted_date"] = None
        b.post_file(conn, ref, [reversed_], feed_date=THU)

    assert _held(db_url, MON) == monday, "Monday's holds read back the same after later days loaded"
    assert _held(db_url, TUE) == monday, "nothing closed on Tuesday"
    assert _held(db_url, WED) == {"A-reversed": -700}, "settled and released on Wednesday"
    assert _held(db_url, THU) == {}, "reversed on Thursday"

    # Reloading Monday's file after the later ones changes nothing.
    with get_engine(db_url).begin() as conn:
        ref = load_reference(conn)
        b.post_file(conn, ref, [
            b.txn("A", "10000001", "C1", "card_purchase", -2_500, MON, status="pending", txn_id="A-settles"),
            b.txn("A", "10000001", "C1", "card_purchase", -700, MON, status="pending", txn_id="A-reversed"),
            b.txn("B", "ct_1", "C2", "card_purchase", -1_000, MON, status="pending", txn_id="B-auth"),
        ], feed_date=MON)
    assert [_held(db_url, d) for d in (MON, WED, THU)] == [monday, {"A-reversed": -700}, {}]


def test_holds_lapse_after_the_expiry_window(db_url):
    with get_engine(db_url).begin() as conn:
        ref = b.save_ref(conn, holders=[b.holder("C1", "C", "acc-1")])
        b.post(conn, ref, [b.txn("C", "acc-1", "C1", "card_purchase", -900, MON, status="pending", txn_id="C-never")])
    assert _held(db_url, MON + dt.timedelta(days=7)) == {"C-never": -900}
    assert _held(db_url, MON + dt.timedelta(days=8)) == {}, "an authorisation neither settled nor released lapses"
