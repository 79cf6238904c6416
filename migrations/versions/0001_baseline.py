"""Baseline schema: every table, plus the database's guards on posted history.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

The baseline creates the tables as declared in each area's ``tables`` module. From the first
release on, this file is frozen: any later change is a new revision with explicit operations.
"""

from alembic import op

from ledger.guards import guard_ddl
from migrations.registry import load_all_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    load_all_tables().create_all(bind)
    for ddl in guard_ddl(bind.dialect.name):
        op.execute(ddl)


def downgrade() -> None:
    raise NotImplementedError("the baseline is not reversible: drop the database instead")
