"""PostgreSQL: postings' accounts and entries' batches are checked set-based, not by per-row foreign keys.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

A foreign key checks each inserted row with its own lookup (and row lock) in the referenced table: for a
night of 400,000 postings and 200,000 entries that was 600,000 lookups, more time than the COPY of the rows
(measured 13.8 s -> 9.6 s for 200,000 entries; docs/performance.md). The statement-level triggers that
already check each batch (``ledger/guards.py``) now also refuse a posting to an account not in the chart
and an entry naming a batch that does not exist, with one anti-join per statement, and a trigger on
``accounts`` refuses deleting or renaming an account that has postings. The deferred foreign key from
postings to their entry stays: it is what makes a posting without its entry fail at commit.

SQLite is unchanged (its foreign keys are cheap in-process lookups, and its guards are per-row anyway).
"""

from alembic import op

from ledger.guards import POSTGRES_DDL, POSTGRES_REFERENCE_TRIGGERS, POSTGRES_SET_BASED_REFERENCES

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for ddl in POSTGRES_DDL:  # the functions, re-created with the new checks (CREATE OR REPLACE)
        if ddl.lstrip().startswith("CREATE OR REPLACE FUNCTION"):
            op.execute(ddl)
    for ddl in POSTGRES_REFERENCE_TRIGGERS:
        op.execute(ddl)
    for table, constraint in POSTGRES_SET_BASED_REFERENCES:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {constraint}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS accounts_keep_used ON accounts")
    op.create_foreign_key("postings_account_code_fkey", "postings", "accounts", ["account_code"], ["code"])
    op.create_foreign_key("journal_entries_batch_id_fkey", "journal_entries", "posting_batches", ["batch_id"], ["batch_id"])
