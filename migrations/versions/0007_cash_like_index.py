"""A partial index of cash-like purchases by day, for screening's cash history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Screening's spike baseline reads 14 weeks of cash, bank payments, loads and cash-like purchases
(quasi-cash, money transfer). Cash, payments and loads come by ``ix_transactions_kind_date``; without
this index the cash-like purchases made the read scan every card purchase of those weeks (the read
kept growing until history was 14 weeks long). The index holds only the cash-like purchases, so it
costs the nightly write almost nothing.
"""

import sqlalchemy as sa
from alembic import op

from migrations import create_index_if_missing

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NAME = "ix_transactions_cash_like_date"
# Frozen: the cash-like purchases as this revision defined them (schemas.mcc.CASH_LIKE_PURCHASE_SQL today).
CASH_LIKE_PURCHASE_SQL = "kind = 'card_purchase' AND mcc IN ('4829', '6051', '6540')"


def upgrade() -> None:
    create_index_if_missing(op, NAME, "transactions", ["london_date"], sqlite_where=sa.text(CASH_LIKE_PURCHASE_SQL),
                            postgresql_where=sa.text(CASH_LIKE_PURCHASE_SQL))


def downgrade() -> None:
    op.drop_index(NAME, "transactions")
