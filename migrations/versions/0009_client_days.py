"""client_days: one row per client per day with live items, for screening's per-client activity.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

Screening needs, per client over its 42-day window, the first day seen and the last spending day
(dormant card, new clients). Aggregating every item of the window each night grew with the window
(3.2 s of a 60-day SQLite night at 10,000 cards). Ingest now keeps this derived table in step with
the items, in the same transaction (``records.client_days.refresh_client_days``), and screening aggregates
it instead. The baseline has the table on a new database; an older one gets it here, filled from its
items. Frozen: the table and the statement that fills it are written out here as this revision declared
them (``records.tables.client_days`` and ``records.client_days`` hold today's), so the migration means the
same whatever those modules become.
"""

import sqlalchemy as sa
from alembic import op

from migrations import create_table_if_missing

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# One row per client per day with live items: how many, and the last day money was spent by them (a
# settled spend's posting day, or an open authorisation's day). Spending kinds: card_purchase, cash,
# payment_to_payee.
FILL_SQL = (
    "INSERT INTO client_days (london_date, client_id, live_items, last_spend_day)"
    " SELECT london_date, client_id, count(*),"
    " max(CASE WHEN kind IN ('card_purchase', 'cash', 'payment_to_payee') AND amount_pence < 0 AND status = 'settled'"
    " THEN coalesce(posted_date, london_date)"
    " WHEN kind IN ('card_purchase', 'cash', 'payment_to_payee') AND amount_pence < 0 AND status = 'pending' AND hold_open"
    " THEN london_date END)"
    " FROM transactions WHERE client_id IS NOT NULL AND status IN ('settled', 'pending') AND 1 = 1"
    " GROUP BY london_date, client_id"
)


def upgrade() -> None:
    create_table_if_missing(
        op,
        "client_days",
        sa.Column("london_date", sa.Date, primary_key=True),
        sa.Column("client_id", sa.String(100), primary_key=True),
        sa.Column("live_items", sa.Integer, nullable=False, comment="the client's settled or pending items of the day"),
        sa.Column(
            "last_spend_day",
            sa.Date,
            comment="latest day money was spent by the day's items: a settled spend's posting day (else its day), or the "
            "day of an open authorisation; null if none spent",
        ),
        comment=(
            "Derived, not history: one row per client per day with live items, kept by feeds.ingest.store_and_post in the "
            "same transaction as the items (records.store.refresh_client_days). Screening reads a client's first day seen and "
            "last spending day over its 42-day window from here (records.store.client_activity) instead of every item."
        ),
    )
    op.execute("DELETE FROM client_days WHERE 1 = 1")
    op.execute(FILL_SQL)


def downgrade() -> None:
    op.drop_table("client_days")
