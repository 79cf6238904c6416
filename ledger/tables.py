"""The ledger's own tables: the chart of accounts, journal entries, postings, batches, balance
checkpoints and take-ons, declared once with SQLAlchemy Core.

The audit team queries these tables directly: every column is documented in docs/schema.md. The
shared records the ledger posts from (transactions, feed files, balances, reference extracts) are
declared in ``records.tables``; each area declares its own in its ``tables`` module, all on the one
``db.metadata.metadata``; ``migrations.registry.load_all_tables`` imports them all.

Why Core, not ORM: the hot paths insert hundreds of thousands of rows in one statement (COPY or
executemany); an ORM object per row would be the slow path the brief forbids.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from db.metadata import TZ, metadata

# --- chart of accounts ------------------------------------------------------------------------
accounts = Table(
    "accounts",
    metadata,
    Column("code", String(200), primary_key=True, comment="e.g. card:A:10442817:council"),
    Column("name", Text, nullable=False),
    Column("account_type", String(20), nullable=False, comment="asset, equity, income, expense, suspense"),
    Column("role", String(40), nullable=False, comment="card_council, card_client, funding, ..."),
    Column("council", String(100)),
    Column("client_id", String(100)),
    Column("provider", String(1)),
    Column("provider_account_id", String(100)),
    Column("created_at", TZ, nullable=False),
)
Index("ix_accounts_client", accounts.c.client_id)

# --- journal ----------------------------------------------------------------------------------
batches = Table(
    "posting_batches",
    metadata,
    Column("batch_id", BigInteger, primary_key=True, autoincrement=False),
    Column("source", Text, nullable=False, comment="what was posted: a file name, 'take-on', 'reversal'"),
    Column("entries", Integer, nullable=False),
    Column("postings", Integer, nullable=False),
    Column("committed_at", TZ, nullable=False),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    Column("entry_id", BigInteger, primary_key=True, autoincrement=False),
    Column("idempotency_key", String(300), nullable=False, unique=True),
    Column("entry_type", String(40), nullable=False),
    Column("effective_at", TZ, nullable=False, comment="booking time (UTC)"),
    Column("london_date", Date, nullable=False, comment="the council's booking day"),
    Column("occurred_at", TZ, comment="when the card event happened (UTC)"),
    Column("description", Text, nullable=False),
    Column("council", String(100)),
    Column("client_id", String(100)),
    Column("provider", String(1)),
    Column("provider_account_id", String(100)),
    Column("provider_txn_id", String(200)),
    Column("source_file", Text),
    Column("source_line", Integer),
    Column("reverses_entry_id", BigInteger, ForeignKey("journal_entries.entry_id")),
    Column("payload_hash", String(64), nullable=False, comment="hash of the source facts: detects conflicts"),
    Column("batch_id", BigInteger, ForeignKey("posting_batches.batch_id"), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    comment=(
        "One row per journal entry; its postings (two or more, summing to zero) are in `postings`. A client's"
        " entries are read through `postings` and `accounts` (by `ix_postings_account_date`, as the statement"
        " of account does); a provider item's entry by `idempotency_key` = `provider:provider_txn_id` (unique)"
        " or by `transactions.entry_id`."
    ),
)
Index("ix_journal_entries_date", journal_entries.c.london_date)
Index("ix_journal_entries_reverses", journal_entries.c.reverses_entry_id)
# No index by client or by provider item (dropped by migration 0011): nothing reads entries that way,
# and each cost every night a write to a page per client or per item all over its tree (docs/performance.md).
# A client's entries: through postings and accounts (ix_postings_account_date), as the statement of account
# reads them. A provider item's entry: idempotency_key 'provider:provider_txn_id' (unique), or transactions.entry_id.

postings = Table(
    "postings",
    metadata,
    Column("posting_id", BigInteger, primary_key=True, autoincrement=False),
    Column("entry_id", BigInteger, nullable=False),
    Column("account_code", String(200), ForeignKey("accounts.code"), nullable=False),
    Column("amount_pence", BigInteger, nullable=False, comment="signed: debit +, credit -"),
    Column("london_date", Date, nullable=False, comment="copy of the entry's, for indexed balance queries"),
    Column("effective_at", TZ, nullable=False, comment="copy of the entry's"),
    CheckConstraint("amount_pence <> 0", name="ck_postings_nonzero"),
    # Deferred: postings are written before their entry so the entry's insert trigger can check
    # that the postings balance (docs/architecture.md, "How the database refuses an unbalanced entry").
    ForeignKeyConstraint(
        ["entry_id"],
        ["journal_entries.entry_id"],
        name="fk_postings_entry",
        deferrable=True,
        initially="DEFERRED",
    ),
)
Index("ix_postings_entry", postings.c.entry_id)

# PostgreSQL's check that every posting's entry exists by commit, set-based (ledger/guards.py, migration 0012).
posting_entry_checks = Table(
    "posting_entry_checks",
    metadata,
    Column("check_id", BigInteger, Identity(), primary_key=True),
    Column("min_entry_id", BigInteger, nullable=False, comment="lowest entry_id the statement's postings name"),
    Column("max_entry_id", BigInteger, nullable=False, comment="highest entry_id the statement's postings name"),
    comment=(
        "PostgreSQL's bookkeeping for the rule that every posting's journal entry exists by commit: each INSERT"
        " into `postings` adds one row here, and a constraint trigger deferred to commit checks that no posting"
        " with an entry_id in the row's range lacks its entry, then removes the row. Empty between transactions."
        " On SQLite the deferred foreign key `fk_postings_entry` does this and the table stays empty."
    ),
)
Index("ix_postings_account_date", postings.c.account_code, postings.c.london_date)

card_balance_checkpoints = Table(
    "card_balance_checkpoints",
    metadata,
    Column("as_of_date", Date, primary_key=True, comment="London day the balances are at the end of"),
    Column("account_code", String(200), primary_key=True, comment="a card account (card_council, card_client, suspense_card)"),
    Column(
        "through_posting_id",
        BigInteger,
        nullable=False,
        comment="sum of the account's postings with posting_id up to this (none of them dated after as_of_date)",
    ),
    Column("balance_pence", BigInteger, nullable=False, comment="that sum; accounts at zero have no row"),
    Column("created_at", TZ, nullable=False),
    comment=(
        "Derived, not history: a starting point for ledger.queries.card_balances (balance = checkpoint + postings "
        "with a higher posting_id dated up to the day). Safe to delete; pruned after 42 days."
    ),
)

card_take_ons = Table(
    "card_take_ons",
    metadata,
    Column("provider", String(1), primary_key=True),
    Column("account_id", String(100), primary_key=True),
    Column("balance_date", Date, nullable=False, comment="the card's first closing balance day"),
    Column("amount_pence", BigInteger, nullable=False, comment="money on the card before its first feed; 0 = none"),
    Column("entry_id", BigInteger, comment="the take-on journal entry (null when the amount is 0)"),
)
