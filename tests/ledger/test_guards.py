"""Goal: the database itself — not our Python — refuses an unbalanced entry and any change to posted history."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from db.engine import get_engine
from ledger.journal import post_entries
from tests.ledger import factories as f

REFUSED = (DBAPIError, IntegrityError)


def _post_one(url: str) -> None:
    with get_engine(url).begin() as conn:
        entries, postings = f.batch([f.load("L1", 10_000)])
        post_entries(conn, entries, postings, f.accounts(), source="test")


def _raw_entry_sql(entry_id: int) -> str:
    return (
        "INSERT INTO journal_entries (entry_id, idempotency_key, entry_type, effective_at, london_date, description,"
        " payload_hash, batch_id, prev_hash, entry_hash)"
        f" VALUES ({entry_id}, 'raw-{entry_id}', 'test', '2026-03-02 10:00:00', '2026-03-02', 'raw', 'x', 1, 'x', 'x')"
    )


def _raw_posting_sql(posting_id: int, entry_id: int, account: str, pence: int) -> str:
    return (
        "INSERT INTO postings (posting_id, entry_id, account_code, amount_pence, london_date, effective_at)"
        f" VALUES ({posting_id}, {entry_id}, '{account}', {pence}, '2026-03-02', '2026-03-02 10:00:00')"
    )


def test_unbalanced_entry_is_refused_by_the_database(db_url):
    _post_one(db_url)
    engine = get_engine(db_url)
    with pytest.raises(REFUSED, match="does not balance"), engine.begin() as conn:
        conn.execute(text(_raw_posting_sql(100, 50, f.CARD.code, 500)))
        conn.execute(text(_raw_posting_sql(101, 50, f.FUNDING.code, -499)))
        conn.execute(text(_raw_entry_sql(50)))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM journal_entries")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM postings")).scalar() == 2


def test_single_posting_entry_is_refused(db_url):
    _post_one(db_url)
    with pytest.raises(REFUSED, match="does not balance"), get_engine(db_url).begin() as conn:
        conn.execute(text(_raw_posting_sql(100, 50, f.CARD.code, 0 + 1)))
        conn.execute(text(_raw_entry_sql(50)))


def test_posting_without_entry_fails_at_commit(db_url):
    _post_one(db_url)
    with pytest.raises(REFUSED), get_engine(db_url).begin() as conn:
        conn.execute(text(_raw_posting_sql(100, 77, f.CARD.code, 500)))
        conn.execute(text(_raw_posting_sql(101, 77, f.FUNDING.code, -500)))


def test_posting_added_to_posted_entry_is_refused(db_url):
    _post_one(db_url)
    with pytest.raises(REFUSED, match="already posted"), get_engine(db_url).begin() as conn:
        conn.execute(text(_raw_posting_sql(100, 1, f.CARD.code, 500)))


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE postings SET amount_pence = amount_pence * 2",
        "UPDATE journal_entries SET description = 'changed'",
        "DELETE FROM postings",
        "DELETE FROM journal_entries",
    ],
)
def test_update_and_delete_of_posted_history_are_refused(db_url, sql):
    _post_one(db_url)
    with pytest.raises(REFUSED, match="immutable"), get_engine(db_url).begin() as conn:
        conn.execute(text(sql))
    with get_engine(db_url).connect() as conn:
        assert conn.execute(text("SELECT sum(abs(amount_pence)) FROM postings")).scalar() == 20_000


def test_truncate_is_refused_on_postgres(pg_url):
    # SQLite has no TRUNCATE statement; its DELETE is covered above.
    _post_one(pg_url)
    with pytest.raises(REFUSED, match="immutable"), get_engine(pg_url).begin() as conn:
        conn.execute(text("TRUNCATE postings CASCADE"))


def test_posting_to_an_account_not_in_the_chart_is_refused(db_url):
    # PostgreSQL: the postings statement trigger (set-based); SQLite: the foreign key.
    _post_one(db_url)
    with pytest.raises(REFUSED, match="not in the chart|FOREIGN KEY"), get_engine(db_url).begin() as conn:
        conn.execute(text(_raw_posting_sql(100, 50, "no:such:account", 500)))
        conn.execute(text(_raw_posting_sql(101, 50, f.FUNDING.code, -500)))
        conn.execute(text(_raw_entry_sql(50)))


def test_entry_naming_a_batch_that_does_not_exist_is_refused(db_url):
    _post_one(db_url)
    with pytest.raises(REFUSED, match="batch 99, which does not exist|FOREIGN KEY"), get_engine(db_url).begin() as conn:
        conn.execute(text(_raw_posting_sql(100, 50, f.CARD.code, 500)))
        conn.execute(text(_raw_posting_sql(101, 50, f.FUNDING.code, -500)))
        conn.execute(text(_raw_entry_sql(50).replace(", 1, 'x', 'x')", ", 99, 'x', 'x')")))


@pytest.mark.parametrize("sql", ["DELETE FROM accounts WHERE code = :c", "UPDATE accounts SET code = 'renamed' WHERE code = :c"])
def test_an_account_with_postings_cannot_be_deleted_or_renamed(db_url, sql):
    _post_one(db_url)
    with pytest.raises(REFUSED, match="has postings|FOREIGN KEY"), get_engine(db_url).begin() as conn:
        conn.execute(text(sql), {"c": f.CARD.code})
    with get_engine(db_url).begin() as conn:  # an account nobody posted to can still be tidied away
        conn.execute(text("INSERT INTO accounts (code, name, account_type, role, created_at) VALUES ('spare', 'spare', 'suspense', 'suspense', '2026-03-02')"))
        conn.execute(text(sql.replace("renamed", "spare2")), {"c": "spare"})
