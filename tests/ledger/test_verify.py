"""Goal: `verify` proves a sound ledger sound and names the first broken link of a tampered one."""

from __future__ import annotations

from sqlalchemy import text

from db.engine import get_engine
from ledger.journal import post_entries
from ledger.verify import verify_ledger
from tests.ledger import factories as f


def test_tampered_posting_is_named_as_first_broken_link(sqlite_url):
    with get_engine(sqlite_url).begin() as conn:
        post_entries(conn, *f.batch([f.load(f"L{i}", 1_000 + i) for i in range(5)]), f.accounts(), source="t")
    with get_engine(sqlite_url).connect() as conn:
        assert verify_ledger(conn).ok
    # Someone with file access drops the guard and edits history behind the ledger's back.
    with get_engine(sqlite_url).begin() as conn:
        conn.execute(text("DROP TRIGGER postings_no_update"))
        conn.execute(text("UPDATE postings SET amount_pence = amount_pence + 1 WHERE entry_id = 3 AND amount_pence > 0"))
        conn.execute(text("UPDATE postings SET amount_pence = amount_pence - 1 WHERE entry_id = 3 AND amount_pence < 0"))
    with get_engine(sqlite_url).connect() as conn:
        report = verify_ledger(conn)
    assert not report.ok
    chain = [p for p in report.problems if p.check == "hash chain unbroken"]
    assert len(chain) == 1 and "entry 3 (L2)" in chain[0].detail
    # The entries still balance: only the hash chain catches this edit.
    assert not [p for p in report.problems if p.check == "entries balance"]


def test_unbalanced_history_is_reported(sqlite_url):
    with get_engine(sqlite_url).begin() as conn:
        post_entries(conn, *f.batch([f.load("L1", 1_000)]), f.accounts(), source="t")
    with get_engine(sqlite_url).begin() as conn:
        conn.execute(text("DROP TRIGGER postings_no_update"))
        conn.execute(text("UPDATE postings SET amount_pence = 7 WHERE posting_id = 1"))
    with get_engine(sqlite_url).connect() as conn:
        report = verify_ledger(conn)
    checks = {p.check for p in report.problems}
    assert {"entries balance", "trial balance is zero", "hash chain unbroken"} <= checks
