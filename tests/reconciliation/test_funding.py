"""Funding totals from real postings: loads out of the council's funding account, unloads back."""

from __future__ import annotations

from db.engine import get_engine
from reconciliation.funding import funding_totals
from tests.reconciliation.builders import Book, day


def test_funding_totals_tie_to_loads_and_unloads(db_url):
    # Goal: two loads and an unload on day 1 -> loaded £1,500, unloaded £100, net £1,400; day 2 all zero.
    book = Book(db_url).card("C1", "A", "10000001").card("C2", "B", "ct_2")
    book.save_reference()
    book.post([
        book.item("A", "L1", "10000001", "council_load", 100_000, day(1)),
        book.item("B", "L2", "ct_2", "council_load", 50_000, day(1)),
        book.item("A", "U1", "10000001", "unload", -10_000, day(1), hour=15),
        book.item("A", "P1", "10000001", "card_purchase", -2_000, day(1), hour=16),
    ])
    with get_engine(db_url).connect() as conn:
        rows = funding_totals(conn, day(1), day(2), ["Testshire"]).to_dicts()
    assert [(r["london_date"], r["loads"], r["loaded_pence"], r["unloads"], r["unloaded_pence"], r["returned_pence"],
             r["net_from_council_pence"]) for r in rows] == [
        (day(1), 2, 150_000, 1, 10_000, 0, 140_000),
        (day(2), 0, 0, 0, 0, 0, 0),
    ]
