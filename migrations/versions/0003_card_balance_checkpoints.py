"""Card balance checkpoints: the nightly card-balance read stops growing with history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

``ledger.queries.card_balances`` used to sum every posting of every card up to the day, so a night's
reconciliation cost grew with the length of the ledger. ``card_balance_checkpoints`` keeps, per card
account and day, the sum of its postings up to a posting id; a balance is that checkpoint plus the
postings made since (exactly the plain sum: postings are immutable and ids rise in commit order).

The frozen baseline (0001, the schema as of 0014) has the table, so on a database created after this
change it already exists; the upgrade creates it only when missing. The table is derived data:
it starts empty and fills on the next read.
"""

import sqlalchemy as sa
from alembic import op

from migrations import create_table_if_missing

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLE = "card_balance_checkpoints"


def upgrade() -> None:
    create_table_if_missing(
        op,
        TABLE,
        sa.Column("as_of_date", sa.Date, primary_key=True, comment="London day the balances are at the end of"),
        sa.Column("account_code", sa.String(200), primary_key=True,
                  comment="a card account (card_council, card_client, suspense_card)"),
        sa.Column("through_posting_id", sa.BigInteger, nullable=False,
                  comment="sum of the account's postings with posting_id up to this (none of them dated after as_of_date)"),
        sa.Column("balance_pence", sa.BigInteger, nullable=False, comment="that sum; accounts at zero have no row"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        comment=(
            "Derived, not history: a starting point for ledger.queries.card_balances (balance = checkpoint + postings "
            "with a higher posting_id dated up to the day). Safe to delete; pruned after 42 days."
        ),
    )


def downgrade() -> None:
    op.drop_table(TABLE)
