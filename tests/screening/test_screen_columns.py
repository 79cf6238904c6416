"""Screening reads fewer columns of an item than the ledger stores (records.transactions.SCREEN_SCHEMA): every
column the rules use must be among them, or the night's screening fails on its first item."""

from __future__ import annotations

import datetime as dt

import polars as pl

from records.transactions import SCREEN_SCHEMA, TXN_SCHEMA
from screening.rules import prepare_items


def test_screen_columns_are_canonical_columns_less_what_screening_never_reads():
    assert set(SCREEN_SCHEMA) < set(TXN_SCHEMA)
    assert all(TXN_SCHEMA[c] == t for c, t in SCREEN_SCHEMA.items())
    assert not {"source_file", "source_line", "reference", "currency"} & set(SCREEN_SCHEMA)


def test_items_are_prepared_from_the_screen_columns_alone():
    at = dt.datetime(2026, 3, 4, 23, 30, tzinfo=dt.UTC)
    row = {c: None for c in SCREEN_SCHEMA} | {
        "provider": "A", "provider_txn_id": "t1", "account_id": "20000001", "client_id": "BC1", "council": "Bristol",
        "kind": "card_purchase", "status": "settled", "amount_pence": -1250, "occurred_at_utc": at,
        "london_date": dt.date(2026, 3, 4), "posted_date": dt.date(2026, 3, 5), "mcc": "5411",
    }
    items = prepare_items(pl.DataFrame([row], schema=SCREEN_SCHEMA))
    assert items.height == 1
    assert items.row(0, named=True)["out_pence"] == 1250
    assert items.row(0, named=True)["txn"] == "A:t1"
