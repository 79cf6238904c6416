"""Holds keep their history: what a pending item held and the day its hold ended.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Before this, a hold was only "open now" (``hold_open``), so a re-run of an older day after later
days had loaded saw today's holds, not that day's. With ``held_amount_pence`` and
``hold_closed_on`` the holds open at the end of any day can be read back exactly
(``records.transactions.open_holds``).

The frozen baseline (0001, the schema as of 0014) has these columns, so on a database created
after this change they already exist; the upgrade adds only what is missing. Rows stored
before the upgrade keep ``hold_closed_on`` null: their holds read as they did before.
"""

import sqlalchemy as sa
from alembic import op

from migrations import add_columns_if_missing

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NEW_COLUMNS = (
    sa.Column("held_amount_pence", sa.BigInteger, comment="what the item held while pending (null if it never was)"),
    sa.Column("hold_closed_on", sa.Date, comment="London day its hold ended (settled, released, reversed); null while open"),
)


def upgrade() -> None:
    add_columns_if_missing(op, "transactions", NEW_COLUMNS)
    # Pending items stored before the upgrade held their own amount.
    op.execute("UPDATE transactions SET held_amount_pence = amount_pence WHERE status = 'pending' AND held_amount_pence IS NULL")


def downgrade() -> None:
    for column in reversed(NEW_COLUMNS):
        op.drop_column("transactions", column.name)
