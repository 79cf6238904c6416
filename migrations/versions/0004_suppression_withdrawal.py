"""Suppressions can be withdrawn, and the withdrawal is on record: who, when and why.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

The frozen baseline (0001, the schema as of 0014) has these columns, so on a database created after
this change they already exist; the upgrade adds only what is missing.
"""

import sqlalchemy as sa
from alembic import op

from migrations import add_columns_if_missing

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NEW_COLUMNS = (
    sa.Column("withdrawn_by", sa.String(100), comment="who withdrew it (null while active)"),
    sa.Column("withdrawn_at", sa.DateTime(timezone=True), comment="when it was withdrawn (UTC)"),
    sa.Column("withdrawn_reason", sa.Text, comment="why it was withdrawn"),
)


def upgrade() -> None:
    add_columns_if_missing(op, "suppressions", NEW_COLUMNS)


def downgrade() -> None:
    for column in reversed(NEW_COLUMNS):
        op.drop_column("suppressions", column.name)
