"""PostgreSQL: each posting's entry is checked at commit by one set-based query, not a per-row foreign key.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

Why: the deferred foreign key ``fk_postings_entry`` checked, at commit, the entry of every posting one
by one, each with an index lookup and a share lock on the entry's row (which writes the entry's page
again). A night of 1,000,000 items has 2.2 million postings: 9.8 s of its commit (docs/performance.md).
Now each INSERT into ``postings`` records the range of entry ids it names in ``posting_entry_checks``
(the statement trigger ``postings_entry_not_posted`` does it), and a constraint trigger on that row,
deferred to commit, refuses the transaction if any posting in the range has no entry: one merge
anti-join of two index ranges (ledger/guards.py). What is refused is unchanged; the message names the
entry.

SQLite keeps its deferred foreign key (in-process lookups); it gets the (unused) table so both
databases have the declared schema. Downgrade restores the foreign key and the previous trigger function.
"""

import sqlalchemy as sa
from alembic import op

from ledger.guards import (
    POSTGRES_DDL,
    POSTGRES_ENTRY_CHECK_TRIGGERS,
    POSTGRES_SET_BASED_ENTRY_REFERENCE,
    check_new_postings_ddl,
)
from migrations import create_table_if_missing

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLE = "posting_entry_checks"


def upgrade() -> None:
    create_table_if_missing(
        op,
        TABLE,
        sa.Column("check_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("min_entry_id", sa.BigInteger, nullable=False),
        sa.Column("max_entry_id", sa.BigInteger, nullable=False),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    for ddl in POSTGRES_DDL:  # the functions, with the new check (CREATE OR REPLACE)
        if ddl.lstrip().startswith("CREATE OR REPLACE FUNCTION"):
            op.execute(ddl)
    for ddl in POSTGRES_ENTRY_CHECK_TRIGGERS:
        op.execute(ddl)
    table, constraint = POSTGRES_SET_BASED_ENTRY_REFERENCE
    op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {constraint}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS posting_entries_exist ON {TABLE}")
        op.execute(check_new_postings_ddl(entry_checks=False))  # as it was before this revision
        op.execute("DROP FUNCTION IF EXISTS careledger_check_posting_entries()")
        table, constraint = POSTGRES_SET_BASED_ENTRY_REFERENCE
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {constraint} FOREIGN KEY (entry_id)"
            " REFERENCES journal_entries (entry_id) DEFERRABLE INITIALLY DEFERRED"
        )
    op.drop_table(TABLE)
