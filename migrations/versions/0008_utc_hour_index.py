"""An index of items by UTC hour, kind and day, for screening's night-time card use.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

The unusual-hours rule looks at card use in the night hours over the 42 days before the night.
Without this index the read filtered every item of those days (its cost grew until the window was
full: 0.5 s of a 60-day night, PostgreSQL, 10,000 cards). With it the database reads only the night
hours' items. The hour is an expression (``records.tables.utc_hour_sql``), spelt differently by each
database, so the index is DDL, written out here per database as this revision declared it
(``records.tables.utc_hour_index_ddl`` declares it today); the baseline has it on a new database, this
adds it to an older one.
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC_HOUR_INDEX = "ix_transactions_utc_hour"
# Frozen: the index as this revision declared it, per database (records.tables.utc_hour_index_ddl today).
UTC_HOUR_INDEX_DDL = {
    "sqlite": "CREATE INDEX IF NOT EXISTS ix_transactions_utc_hour ON transactions"
    " ((CAST(substr(occurred_at_utc, 12, 2) AS INTEGER)), kind, london_date)",
    "postgresql": "CREATE INDEX IF NOT EXISTS ix_transactions_utc_hour ON transactions"
    " ((CAST(EXTRACT(HOUR FROM occurred_at_utc AT TIME ZONE 'UTC') AS INTEGER)), kind, london_date)",
}


def upgrade() -> None:
    op.execute(UTC_HOUR_INDEX_DDL[op.get_bind().dialect.name])


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {UTC_HOUR_INDEX}")
