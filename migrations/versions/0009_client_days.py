"""client_days: one row per client per day with live items, for screening's per-client activity.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

Screening needs, per client over its 42-day window, the first day seen and the last spending day
(dormant card, new clients). Aggregating every item of the window each night grew with the window
(3.2 s of a 60-day SQLite night at 10,000 cards). Ingest now keeps this derived table in step with
the items, in the same transaction (``records.client_days.refresh_client_days``), and screening aggregates
it instead. The baseline creates the table on a new database; an older one gets it here, filled
from its items.
"""

from alembic import op

from records.tables import client_days

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from records.client_days import rebuild_client_days

    bind = op.get_bind()
    client_days.create(bind, checkfirst=True)
    rebuild_client_days(bind)


def downgrade() -> None:
    op.drop_table("client_days")
