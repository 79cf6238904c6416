"""Goal: the database's balance guard checks every entry of a many-entry statement (a COPY or a
multi-row INSERT), wherever in the batch the bad entry sits and whatever ids surround it."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from db.engine import get_engine
from ledger.journal import post_entries
from tests.ledger import factories as f

REFUSED = (DBAPIError, IntegrityError)


def _entry(entry_id: int) -> str:
    return (
        f"({entry_id}, 'raw-{entry_id}', 'test', '2026-03-02 10:00:00', '2026-03-02', 'raw', 'x', 1, 'x', 'x')"
    )


def _insert_batch(conn, postings: list[tuple[int, int, str, int]], entry_ids: list[int]) -> None:
    conn.execute(
        text(
            "INSERT INTO postings (posting_id, entry_id, account_code, amount_pence, london_date, effective_at) VALUES "
            + ", ".join(f"({pid}, {eid}, '{code}', {pence}, '2026-03-02', '2026-03-02 10:00:00')" for pid, eid, code, pence in postings)
        )
    )
    conn.execute(
        text(
            "INSERT INTO journal_entries (entry_id, idempotency_key, entry_type, effective_at, london_date, description,"
            " payload_hash, batch_id, prev_hash, entry_hash) VALUES " + ", ".join(_entry(e) for e in entry_ids)
        )
    )


def _balanced(posting_id: int, entry_id: int, pence: int = 500) -> list[tuple[int, int, str, int]]:
    return [(posting_id, entry_id, f.CARD.code, pence), (posting_id + 1, entry_id, f.FUNDING.code, -pence)]


@pytest.mark.parametrize("bad_at", ["first", "middle", "last", "no_postings"])
def test_one_bad_entry_in_a_batch_refuses_the_batch(db_url, bad_at):
    with get_engine(db_url).begin() as conn:  # entry 1 and batch 1, as every raw insert below names them
        entries, postings = f.batch([f.load("L1", 10_000)])
        post_entries(conn, entries, postings, f.accounts(), source="test")
    ids = [100, 101, 105, 200]
    bad = {"first": 100, "middle": 105, "last": 200, "no_postings": 101}[bad_at]
    rows = []
    for i, eid in enumerate(ids):
        if eid != bad:
            rows += _balanced(1_000 + 10 * i, eid)
        elif bad_at != "no_postings":
            rows += [(1_000 + 10 * i, eid, f.CARD.code, 500), (1_001 + 10 * i, eid, f.FUNDING.code, -501)]
    # Postings of an entry outside the batch's ids must not rescue or spoil it (posted before).
    with pytest.raises(REFUSED, match="does not balance"), get_engine(db_url).begin() as conn:
        _insert_batch(conn, rows, ids)
    with get_engine(db_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM journal_entries")).scalar() == 1


def test_balanced_batch_is_accepted(db_url):
    with get_engine(db_url).begin() as conn:
        entries, postings = f.batch([f.load("L1", 10_000)])
        post_entries(conn, entries, postings, f.accounts(), source="test")
    with get_engine(db_url).begin() as conn:
        _insert_batch(conn, _balanced(1_000, 100) + _balanced(1_010, 150, 7) + _balanced(1_020, 151, 9), [100, 150, 151])
    with get_engine(db_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM journal_entries")).scalar() == 4


@pytest.mark.parametrize("missing_at", ["first", "middle", "last"])
def test_a_posting_whose_entry_never_arrives_refuses_the_batch_at_commit(db_url, missing_at):
    """The set-based check at commit (PostgreSQL) covers every posting of a many-row statement, wherever in
    the statement's range of entry ids the missing entry sits; SQLite's deferred foreign key does the same."""
    with get_engine(db_url).begin() as conn:
        entries, postings = f.batch([f.load("L1", 10_000)])
        post_entries(conn, entries, postings, f.accounts(), source="test")
    ids = [100, 101, 105, 200]
    missing = {"first": 100, "middle": 105, "last": 200}[missing_at]
    rows = [p for i, eid in enumerate(ids) for p in _balanced(1_000 + 10 * i, eid)]
    pg = get_engine(db_url).dialect.name == "postgresql"
    refusal = f"journal entry {missing}, which does not exist" if pg else "FOREIGN KEY"
    with pytest.raises(REFUSED, match=refusal), get_engine(db_url).begin() as conn:
        _insert_batch(conn, rows, [e for e in ids if e != missing])
    with get_engine(db_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM journal_entries")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM postings")).scalar() == 2


def test_postings_in_several_statements_commit_once_every_entry_arrives(db_url):
    """Each INSERT into postings is checked at commit against the entries written by then, not when it
    runs: postings in two statements, then their entries, commit; the bookkeeping rows are gone after."""
    with get_engine(db_url).begin() as conn:
        entries, postings = f.batch([f.load("L1", 10_000)])
        post_entries(conn, entries, postings, f.accounts(), source="test")
    with get_engine(db_url).begin() as conn:
        for rows in (_balanced(1_000, 100), _balanced(1_010, 300)):
            conn.execute(
                text(
                    "INSERT INTO postings (posting_id, entry_id, account_code, amount_pence, london_date, effective_at)"
                    " VALUES " + ", ".join(f"({p}, {e}, '{c}', {a}, '2026-03-02', '2026-03-02 10:00:00')" for p, e, c, a in rows)
                )
            )
        conn.execute(
            text(
                "INSERT INTO journal_entries (entry_id, idempotency_key, entry_type, effective_at, london_date, description,"
                " payload_hash, batch_id, prev_hash, entry_hash) VALUES " + ", ".join(_entry(e) for e in (100, 300))
            )
        )
    with get_engine(db_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM journal_entries")).scalar() == 3
        assert conn.execute(text("SELECT count(*) FROM posting_entry_checks")).scalar() == 0
