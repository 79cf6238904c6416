"""A partial index of contributions by card, for recognising a payer who paid before.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

Ingest asks, for each card with money coming in, which payer accounts have paid a contribution onto
it before (``records.transactions.known_contributors``). By ``ix_transactions_account`` that read visited every
item the card ever had to keep the few contributions: on a 60-day SQLite history of 10,000 cards,
0.3-0.6 s of the night, growing with every day of history. This index holds only contributions (a
few a month per client), so the read visits only them and the nightly write barely notices it.
"""

import sqlalchemy as sa
from alembic import op

from migrations import create_index_if_missing

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

NAME = "ix_transactions_contribution_payers"
# Frozen: contributions as this revision defined them (schemas.canonical.CONTRIBUTION_SQL today).
CONTRIBUTION_SQL = "kind = 'contribution'"


def upgrade() -> None:
    create_index_if_missing(op, NAME, "transactions", ["provider", "account_id"], sqlite_where=sa.text(CONTRIBUTION_SQL),
                            postgresql_where=sa.text(CONTRIBUTION_SQL))


def downgrade() -> None:
    op.drop_index(NAME, "transactions")
