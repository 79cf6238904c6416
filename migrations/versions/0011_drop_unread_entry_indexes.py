"""Drop the two indexes of journal entries that nothing reads: by client and day, by provider item.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

Why: no query of careledger reads ``journal_entries`` by client or by provider item (a client's
entries come through ``postings`` and ``accounts``, as the statement of account reads them; an item's
entry by its unique ``idempotency_key``, ``provider:provider_txn_id``, or ``transactions.entry_id``).
Yet every night each new entry wrote into both trees at a page of its own, one per client or item,
all over the tree: on SQLite after 60 days of 50,000 items a night that was about a fifth of the
night's pages written, and the night got slower as the trees grew (docs/performance.md, stop 18).
Downgrade re-creates them.
"""

from alembic import op

from migrations import create_index_if_missing, index_names

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

DROPPED = {
    "ix_journal_entries_client_date": ["client_id", "london_date"],
    "ix_journal_entries_provider_txn": ["provider", "provider_txn_id"],
}


def upgrade() -> None:
    present = index_names(op, "journal_entries")
    for name in DROPPED:
        if name in present:
            op.drop_index(name, "journal_entries")


def downgrade() -> None:
    for name, columns in DROPPED.items():
        create_index_if_missing(op, name, "journal_entries", columns)
