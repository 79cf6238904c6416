"""Goal: ingest asks the ledger "is this item already posted?" only about items it had stored before (the
only ones that can have an entry), so a night of new items costs no idempotency probes; re-sent items are
still found, and were the rule ever broken the database refuses the file rather than post an item twice."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

import feeds.ingest as ingest
from db.engine import get_engine
from feeds.ingest import ingest_drop
from ledger.journal import post_entries
from tests.ingest import drops
from tests.ingest.test_ingest import DAY1, DAY2
from tests.ledger import factories as f


@pytest.fixture
def asked(monkeypatch) -> list[str]:
    keys: list[str] = []
    real = ingest.existing_keys

    def spy(conn, wanted):
        keys.extend(wanted)
        return real(conn, wanted)

    monkeypatch.setattr(ingest, "existing_keys", spy)
    return keys


def test_new_items_are_not_looked_up_and_resent_ones_are(db_url, tmp_path, asked):
    d1 = drops.write_drop(tmp_path, "20260302", drops.A_DAY1, drops.B_DAY1, DAY1)
    summary = ingest_drop(db_url, d1)
    assert summary.total("rows_posted") > 0
    assert asked == []  # nothing was stored before: nothing can be posted

    # Day 2 re-sends A's pending item as settled (stored before, not posted) and B's authorisation;
    # an overlapping copy of day 1's settled A items under a new name must find them posted.
    d2 = drops.write_drop(tmp_path / "resent", "20260303", drops.A_DAY1[:2] + drops.A_DAY2, drops.B_DAY2, DAY2)
    again = ingest_drop(db_url, d2)
    assert set(asked) == {"A:A9000001", "A:A9000002", "A:A9000003"}  # stored before; A9000004 is new
    assert again.total("rows_already_posted") == 2 and again.total("conflicts") == 0
    with get_engine(db_url).connect() as conn:
        keys = conn.execute(text("SELECT idempotency_key FROM journal_entries WHERE idempotency_key LIKE 'A:%'")).scalars().all()
    assert sorted(keys) == ["A:A9000001", "A:A9000002", "A:A9000003", "A:A9000004"]  # each posted once


def test_an_entry_for_an_item_never_stored_makes_the_database_refuse_the_file(db_url, tmp_path):
    """The unique idempotency key is the backstop: an entry written outside ingest under an item's key
    (breaking the rule the lookup relies on) stops that file; the item is never posted twice."""
    with get_engine(db_url).begin() as conn:
        post_entries(conn, *f.batch([f.load("A:A9000001", 112_000)]), f.accounts(), source="outside ingest")
    d1 = drops.write_drop(tmp_path, "20260302", drops.A_DAY1, drops.B_DAY1, DAY1)
    # The bulk path writes through the driver: its own unique-violation error, naming the key's column.
    with pytest.raises((IntegrityError, sqlite3.IntegrityError, psycopg.errors.UniqueViolation), match="idempotency_key"):
        ingest_drop(db_url, d1)
    with get_engine(db_url).connect() as conn:
        assert conn.execute(
            text("SELECT count(*) FROM journal_entries WHERE idempotency_key = 'A:A9000001'")
        ).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM transactions WHERE provider = 'A'")).scalar_one() == 0
