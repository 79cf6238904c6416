"""Small builders for ledger tests: simple balanced entries on a tiny chart."""

from __future__ import annotations

import datetime as dt

import polars as pl

from ledger import accounts as chart
from ledger.accounts import accounts_frame
from ledger.journal import entries_frame, payload_hash, postings_frame

COUNCIL = "Testshire"
CARD = chart.card("A", "10442817", "council", COUNCIL, "C001")
CARD_CLIENT = chart.card("A", "10442817", "client", COUNCIL, "C001")
FUNDING = chart.funding(COUNCIL)
SPEND = chart.spending(COUNCIL, "groceries")
CONTRIB = chart.contributions(COUNCIL, "C001")
ALL = [CARD, CARD_CLIENT, FUNDING, SPEND, CONTRIB]


def accounts() -> pl.DataFrame:
    return accounts_frame(ALL)


def entry(key: str, lines: list[tuple[str, int]], day: dt.date = dt.date(2026, 3, 2), etype: str = "test"):
    """One entry dict plus its posting tuples."""
    at = dt.datetime.combine(day, dt.time(10, 0), dt.UTC)
    e = {
        "idempotency_key": key,
        "entry_type": etype,
        "effective_at": at,
        "london_date": day,
        "occurred_at": at,
        "description": f"test entry {key}",
        "council": COUNCIL,
        "client_id": "C001",
        "provider": "A",
        "provider_account_id": "10442817",
        "provider_txn_id": key,
        "payload_hash": payload_hash(key, tuple(lines)),
    }
    return e, [(key, code, amount) for code, amount in lines]


def batch(items: list[tuple[dict, list]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    return entries_frame([e for e, _ in items]), postings_frame([p for _, ps in items for p in ps])


def load(key: str, pence: int, day: dt.date = dt.date(2026, 3, 2)):
    return entry(key, [(CARD.code, pence), (FUNDING.code, -pence)], day, "council_load")


def spend(key: str, pence: int, day: dt.date = dt.date(2026, 3, 3)):
    return entry(key, [(SPEND.code, pence), (CARD.code, -pence)], day, "card_purchase")
