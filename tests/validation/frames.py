"""Hand-made canonical batches and reference frames for the validation tests."""

from __future__ import annotations

import datetime as dt

import polars as pl

from schemas.canonical import conform
from schemas.reference import REFERENCE_BY_NAME

FEED_DATE = dt.date(2026, 3, 3)
KNOWN = {("A", "10442817"), ("B", "ct_19a0")}


def txn(line: int, **overrides) -> dict:
    """One clean settled A card purchase on the feed date; ``overrides`` make it bad."""
    row = {
        "provider": "A",
        "provider_txn_id": f"A90000{line:02d}",
        "account_id": "10442817",
        "kind": "card_purchase",
        "status": "settled",
        "amount_pence": -1249,
        "currency": "GBP",
        "occurred_at_utc": dt.datetime(2026, 3, 3, 8, 2, 11, tzinfo=dt.UTC),
        "london_date": FEED_DATE,
        "posted_date": FEED_DATE,
        "merchant_name": "BOOTS 1123",
        "mcc": "5912",
        "source_file": "A_transactions_20260303.csv",
        "source_line": line + 1,
    }
    row.update(overrides)
    return row


def batch(*rows: dict) -> pl.DataFrame:
    return conform(pl.DataFrame(list(rows), infer_schema_length=None))


def clean_batch(n: int = 6) -> pl.DataFrame:
    """A clean day: a load, a contribution, purchases, a pending auth and its settlement, a decline."""
    rows = [
        txn(1, kind="council_load", amount_pence=112_000, merchant_name=None, mcc=None),
        txn(2, kind="contribution", amount_pence=3_533, merchant_name=None, mcc=None),
        txn(3, status="pending", posted_date=None),
        txn(3, status="settled", amount_pence=-1230, source_line=5),  # same id, now settled for less
        txn(5, status="declined", amount_pence=0),
        txn(6, provider="B", provider_txn_id="b-7f3a", account_id="ct_19a0", status="pending", amount_pence=-2350,
            london_date=FEED_DATE - dt.timedelta(days=4), source_file="B_events_20260303.jsonl"),
    ]
    for i in range(7, 7 + max(0, n - 6)):
        rows.append(txn(i))
    return batch(*rows)


def reference_frame(file_name: str, rows: list[dict]) -> pl.DataFrame:
    schema = REFERENCE_BY_NAME[file_name].schema
    return pl.DataFrame([{**r, "source_line": r.get("source_line", i + 2)} for i, r in enumerate(rows)], schema=schema)


def cardholder(client_id: str, **overrides) -> dict:
    row = {
        "client_id": client_id,
        "council": "Testshire",
        "provider": "A",
        "account_id": "10442817",
        "opened": dt.date(2025, 4, 1),
        "closed": None,
        "weekly_budget_pence": 28_000,
        "contingency_weeks": None,
        "cash_allowed": False,
        "cash_weekly_limit_pence": None,
        "contribution_model": "net",
        "team": "North",
        "safeguarding_email": None,
    }
    row.update(overrides)
    return row
