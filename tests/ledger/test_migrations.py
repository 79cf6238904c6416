"""Later migrations bring an older database up to the declared schema, and are no-ops on a new one.

The baseline (0001) creates tables from the current declarations, so "older database" is made here
by removing, after 0001, the columns later revisions introduced; ``upgrade`` to head must put them
back, with the data kept, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import inspect, text

from ledger.db import get_engine
from ledger.migrate import current_revision, upgrade

LATER_COLUMNS = {
    "transactions": ("held_amount_pence", "hold_closed_on"),
    "suppressions": ("withdrawn_by", "withdrawn_at", "withdrawn_reason"),
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

    from ledger.migrate import alembic_config

    engine = get_engine(db_url)
    with engine.connect() as conn:
        kept = _entry_indexes(conn)
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
        assert current_revision(conn) == "0011"
        assert _entry_indexes(conn) == kept
