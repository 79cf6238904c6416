"""An index of items by when they were written, for screening's late arrivals.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

Each night screening re-screens the clients whose items on the late-arrival days were written since
the last screening run began (``screening.run.late_clients``). Without an index on ``stored_at`` the
read filtered every item of those days (0.3 s of a 60-day PostgreSQL night at 10,000 cards, growing
with the window); with it the database reads only the items written since then.
"""

from alembic import op

from migrations import create_index_if_missing

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

NAME = "ix_transactions_stored_at"


def upgrade() -> None:
    create_index_if_missing(op, NAME, "transactions", ["stored_at"])


def downgrade() -> None:
    op.drop_index(NAME, "transactions")
