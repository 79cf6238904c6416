"""transactions.stored_at: when each version of a row was written; an index by kind and day.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Screening re-screens the last few days each night for late files, but only for the clients whose
items on those days were written since the previous screening run (``screening.run.late_clients``);
this column says which. Rows written before this change have no time and count as new.
``ix_transactions_kind_date`` serves the nightly reads of one kind over a window (loads seen, other
money in, screening's cash/payment/load history), which otherwise scan every item of the window. The
frozen baseline (0001, the schema as of 0014) has both, so the upgrade adds only what is missing.
"""

import sqlalchemy as sa
from alembic import op

from migrations import add_columns_if_missing, create_index_if_missing

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

NEW_COLUMNS = (
    sa.Column("stored_at", sa.DateTime(timezone=True),
              comment="when this version of the row was written (UTC); null if written before migration 0006"),
)


def upgrade() -> None:
    add_columns_if_missing(op, "transactions", NEW_COLUMNS)
    create_index_if_missing(op, "ix_transactions_kind_date", "transactions", ["kind", "london_date"])


def downgrade() -> None:
    op.drop_index("ix_transactions_kind_date", "transactions")
    op.drop_column("transactions", "stored_at")
