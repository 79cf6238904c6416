"""take_on_pending: the balance rows that could still create or move a card's take-on.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

Each night the take-on pass asked which cards need a take-on by grouping every row of
provider_balances by card: 0.34-0.41 s of a 10,000-card night after 59 days, on either database,
growing by a row per card per day. Ingest now queues the few rows that could matter, with the
balances, and the pass reads those (``records.take_on_queue``). The baseline has the table on a new
database; an older one gets it here, filled from its balances. Frozen: the table and the statement that
fills it are written out here as this revision declared them (``records.tables.take_on_pending`` and
``records.take_on_queue.rebuild`` hold today's).
"""

import sqlalchemy as sa
from alembic import op

from migrations import create_table_if_missing

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Every balance row that could still create or move its card's take-on: the card has no take-on yet, or
# the row is dated before it.
FILL_SQL = (
    "INSERT INTO take_on_pending (provider, account_id, balance_date)"
    " SELECT pb.provider, pb.account_id, pb.balance_date FROM provider_balances pb"
    " LEFT JOIN card_take_ons t ON t.provider = pb.provider AND t.account_id = pb.account_id"
    " WHERE 1 = 1 AND (t.balance_date IS NULL OR t.balance_date > pb.balance_date)"
    " ON CONFLICT (provider, account_id, balance_date) DO NOTHING"
)


def upgrade() -> None:
    create_table_if_missing(
        op,
        "take_on_pending",
        sa.Column("provider", sa.String(1), primary_key=True),
        sa.Column("account_id", sa.String(100), primary_key=True),
        sa.Column("balance_date", sa.Date, primary_key=True, comment="a provider_balances row's day"),
        comment=(
            "Derived, not history: the provider_balances rows that could still create or move a card's take-on"
            " (dated before the card's take-on, or of a card with none yet). Ingest writes them with the balances"
            " and the take-on pass removes the rows a take-on covers, so a night reads these few rows instead of"
            " every balance ever loaded (records/take_on_queue.py). Rebuilt from provider_balances by migration 0014."
        ),
    )
    op.execute("DELETE FROM take_on_pending")
    op.execute(FILL_SQL)


def downgrade() -> None:
    op.drop_table("take_on_pending")
