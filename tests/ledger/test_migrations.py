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
