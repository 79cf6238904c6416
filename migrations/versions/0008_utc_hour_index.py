"""An index of items by UTC hour, kind and day, for screening's night-time card use.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

The unusual-hours rule looks at card use in the night hours over the 42 days before the night.
Without this index the read filtered every item of those days (its cost grew until the window was
full: 0.5 s of a 60-day night, PostgreSQL, 10,000 cards). With it the database reads only the night
hours' items. The hour is an expression (``records.tables.utc_hour_sql``), spelt differently by each
database, so the index is DDL (``records.tables.utc_hour_index_ddl``); the baseline creates it on a new
database, this adds it to an older one.
"""

from alembic import op

from records.tables import UTC_HOUR_INDEX, utc_hour_index_ddl

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(utc_hour_index_ddl(op.get_bind().dialect.name))


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {UTC_HOUR_INDEX}")
