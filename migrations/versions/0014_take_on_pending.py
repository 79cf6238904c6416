"""take_on_pending: the balance rows that could still create or move a card's take-on.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

Each night the take-on pass asked which cards need a take-on by grouping every row of
provider_balances by card: 0.34-0.41 s of a 10,000-card night after 59 days, on either database,
growing by a row per card per day. Ingest now queues the few rows that could matter, with the
balances, and the pass reads those (``records.take_on_queue``). The baseline creates the table on a new
database; an older one gets it here, filled from its balances.
"""

from alembic import op

from records.tables import take_on_pending

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from records.take_on_queue import rebuild

    bind = op.get_bind()
    take_on_pending.create(bind, checkfirst=True)
    rebuild(bind)


def downgrade() -> None:
    op.drop_table("take_on_pending")
