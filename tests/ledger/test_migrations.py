"""Later migrations bring an older database up to the declared schema, and are no-ops on a new one.

The baseline (0001) creates tables from the current declarations, so "older database" is made here
by removing, after 0001, the columns later revisions introduced; ``upgrade`` to head must put them
back, with the data kept, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from db.engine import get_engine
from ledger.journal import post_entries
from migrations.migrate import current_revision, upgrade
from tests.ledger import factories as f

LATER_COLUMNS = {
    "transactions": ("held_amount_pence", "hold_closed_on"),
    "suppressions": ("withdrawn_by", "withdrawn_at", "withdrawn_reason"),
    "safeguarding_cases": ("assigned_to",),
}


def test_upgrade_adds_later_columns_to_an_older_database(db_url):
    engine = get_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS card_balance_checkpoints"))
        conn.execute(text("DELETE FROM alembic_version"))
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0001')"))
        for table, columns in LATER_COLUMNS.items():
            for column in columns:
                conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    with engine.connect() as conn:
        assert current_revision(conn) == "0001"
        assert not {"held_amount_pence"} & {c["name"] for c in inspect(conn).get_columns("transactions")}
    with engine.begin() as conn:
        upgrade(conn)
    with engine.connect() as conn:
        insp = inspect(conn)
        for table, columns in LATER_COLUMNS.items():
            assert set(columns) <= {c["name"] for c in insp.get_columns(table)}, table
        assert insp.has_table("card_balance_checkpoints")
        head = current_revision(conn)
    with engine.begin() as conn:  # and again: nothing left to do
        upgrade(conn)
        assert current_revision(conn) == head


def _entry_indexes(conn) -> set[str]:
    if conn.dialect.name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'journal_entries'"
    else:
        sql = "SELECT indexname FROM pg_indexes WHERE tablename = 'journal_entries' AND schemaname = current_schema()"
    return {r[0] for r in conn.execute(text(sql))}


DROPPED_BY_0011 = {"ix_journal_entries_client_date", "ix_journal_entries_provider_txn"}


def test_upgrade_drops_the_entry_indexes_nothing_reads_and_downgrade_restores_them(db_url):
    """Migration 0011: a database made before it (downgraded to 0010, which re-creates the two) loses
    ix_journal_entries_client_date and ix_journal_entries_provider_txn on upgrade (nothing reads
    entries that way; docs/performance.md); the indexes that are read stay."""
    from alembic import command

    from migrations.migrate import alembic_config

    engine = get_engine(db_url)
    with engine.connect() as conn:
        kept = _entry_indexes(conn)
        head = current_revision(conn)
    assert not kept & DROPPED_BY_0011, "a new database must not have them"
    assert {"ix_journal_entries_date", "ix_journal_entries_reverses"} <= kept
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0010")
    with engine.connect() as conn:
        assert current_revision(conn) == "0010"
        assert _entry_indexes(conn) == kept | DROPPED_BY_0011
    with engine.begin() as conn:
        upgrade(conn)
    with engine.connect() as conn:
        assert current_revision(conn) == head
        assert _entry_indexes(conn) == kept


def _entry_reference(conn) -> tuple[bool, bool]:
    """(postings has the deferred foreign key to its entry, the set-based commit check is installed)."""
    fk = "fk_postings_entry" in {f["name"] for f in inspect(conn).get_foreign_keys("postings")}
    if conn.dialect.name != "postgresql":
        return fk, False
    trigger = conn.execute(  # in this schema only: other schemas of the database may hold a ledger too
        text(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE t.tgname = 'posting_entries_exist' AND NOT t.tgisinternal"
            " AND c.relnamespace = current_schema()::regnamespace"
        )
    ).scalar_one()
    return fk, bool(trigger)


def _post_without_entry(engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO postings (posting_id, entry_id, account_code, amount_pence, london_date, effective_at)"
                " VALUES (100, 77, :code, 5, '2026-03-02', '2026-03-02 10:00:00')"
            ),
            {"code": f.CARD.code},
        )


def test_0012_replaces_the_entry_foreign_key_on_postgres_and_downgrade_restores_it(db_url):
    """Migration 0012: on PostgreSQL the per-row deferred foreign key from postings to entries gives way
    to the set-based check at commit (ledger/guards.py); SQLite keeps the foreign key. Either way, before
    and after, a posting whose entry never arrives is refused at commit."""
    from alembic import command

    from migrations.migrate import alembic_config

    engine = get_engine(db_url)
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        head = current_revision(conn)
        assert _entry_reference(conn) == ((False, True) if pg else (True, False))
        assert inspect(conn).has_table("posting_entry_checks")
        post_entries(conn, *f.batch([f.load("L1", 10_000)]), f.accounts(), source="test")
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0011")
    with engine.connect() as conn:
        assert _entry_reference(conn) == (True, False)
        assert not inspect(conn).has_table("posting_entry_checks")
    with pytest.raises(DBAPIError):  # the restored foreign key refuses it
        _post_without_entry(engine)
    with engine.begin() as conn:
        upgrade(conn)
    with engine.connect() as conn:
        assert current_revision(conn) == head
        assert _entry_reference(conn) == ((False, True) if pg else (True, False))
    with pytest.raises(DBAPIError, match="does not exist" if pg else "FOREIGN KEY"):
        _post_without_entry(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM postings")).scalar_one() == 2
        assert conn.execute(text("SELECT count(*) FROM posting_entry_checks")).scalar_one() == 0


def test_0014_fills_the_take_on_queue_of_an_older_database(db_url):
    """Migration 0014: a database made before it (downgraded to 0013: no take_on_pending) gets the queue,
    filled with the balances that could still need a take-on: a card with none yet, or a day before its
    take-on. A day at or after a card's take-on is not queued."""
    from alembic import command

    from migrations.migrate import alembic_config

    engine = get_engine(db_url)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0013")
    with engine.begin() as conn:
        assert not inspect(conn).has_table("take_on_pending")
        for provider, account, day in (("A", "1", "2026-03-02"), ("A", "1", "2026-03-05"), ("A", "2", "2026-03-04"),
                                       ("B", "9", "2026-03-01"), ("B", "9", "2026-03-03")):
            conn.execute(
                text(
                    "INSERT INTO provider_balances (provider, account_id, balance_date, closing_balance_pence, source_file,"
                    " loaded_at) VALUES (:p, :a, :d, 100, 'balances.csv', '2026-03-06 06:00:00+00:00')"
                ),
                {"p": provider, "a": account, "d": day},
            )
        conn.execute(text(
            "INSERT INTO card_take_ons (provider, account_id, balance_date, amount_pence) VALUES"
            " ('A', '1', '2026-03-02', 100), ('B', '9', '2026-03-03', 100)"
        ))
    with engine.begin() as conn:
        upgrade(conn)
    with engine.connect() as conn:
        queued = conn.execute(text("SELECT provider, account_id, balance_date FROM take_on_pending ORDER BY 1, 2, 3")).all()
    assert [(p, a, str(d)[:10]) for p, a, d in queued] == [("A", "2", "2026-03-04"), ("B", "9", "2026-03-01")]
