"""The shared records: what the feeds bring in and every area reads, declared once with SQLAlchemy Core.

The canonical transactions, the feed register (files, quarantine, security incidents), the providers'
closing balances, the council's reference extracts, the runs register, and the derived tables kept
beside them (``client_days``, ``take_on_pending``). These are not the ledger: the ledger posts from
them (``ledger.tables`` holds its own). Feeds write them; screening, reconciliation, clawback and
reports read them through the functions of this package, never by SQL of their own.

The audit team queries these tables directly: every column is documented in docs/schema.md.
"""

from __future__ import annotations

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    event,
    text,
)

from db.metadata import TZ, metadata
from schemas.canonical import CONTRIBUTION_SQL
from schemas.mcc import CASH_LIKE_PURCHASE_SQL
from schemas.reference import REFERENCE_FILES, ReferenceFile

# --- feeds ------------------------------------------------------------------------------------
runs = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("command", String(40), nullable=False),
    Column("feed_date", Date),
    Column("started_at", TZ, nullable=False),
    Column("finished_at", TZ),
    Column("status", String(20), nullable=False),
    Column("summary_json", Text),
)

feed_files = Table(
    "feed_files",
    metadata,
    Column("file_id", Integer, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("file_name", Text, nullable=False),
    Column("provider", String(10), nullable=False, comment="A, B, C or 'council'"),
    Column("file_kind", String(20), nullable=False, comment="transactions, balances, reference"),
    Column("feed_date", Date),
    Column("drop_dir", Text),
    Column("run_id", String(64)),
    Column("status", String(20), nullable=False, comment="loaded or refused"),
    Column("message", Text),
    Column("rows_read", Integer, nullable=False, default=0),
    Column("rows_posted", Integer, nullable=False, default=0),
    Column("rows_already_posted", Integer, nullable=False, default=0),
    Column("rows_pending", Integer, nullable=False, default=0),
    Column("rows_quarantined", Integer, nullable=False, default=0),
    Column("incidents", Integer, nullable=False, default=0),
    Column("batch_id", BigInteger),
    Column("loaded_at", TZ, nullable=False),
)
Index("ix_feed_files_provider_date", feed_files.c.provider, feed_files.c.feed_date)

transactions = Table(
    "transactions",
    metadata,
    Column("provider", String(1), primary_key=True),
    Column("provider_txn_id", String(200), primary_key=True),
    Column("account_id", String(100), nullable=False),
    Column("client_id", String(100)),
    Column("council", String(100)),
    Column("kind", String(30), nullable=False),
    Column("status", String(20), nullable=False),
    Column("hold_open", Boolean, nullable=False, comment="pending and not yet settled or released"),
    Column("held_amount_pence", BigInteger, comment="what the item held while pending (null if it never was)"),
    Column("hold_closed_on", Date, comment="London day its hold ended (settled, released, reversed); null while open"),
    Column("amount_pence", BigInteger, nullable=False, comment="signed: + onto the card, - off it"),
    Column("currency", String(3), nullable=False),
    Column("occurred_at_utc", TZ, nullable=False),
    Column("london_date", Date, nullable=False),
    Column("posted_date", Date),
    Column("merchant_name", Text),
    Column("mcc", String(4)),
    Column("merchant_country", String(3)),
    Column("payee_name", Text),
    Column("payee_sort_code", String(6)),
    Column("payee_account_number", String(8)),
    Column("reference", Text),
    Column("related_txn_id", String(200)),
    Column("balance_after_pence", BigInteger),
    Column("source_file", Text, nullable=False),
    Column("source_line", Integer, nullable=False),
    Column("payload_hash", String(64), nullable=False),
    Column("entry_id", BigInteger, comment="the journal entry that posted it, once settled"),
    Column("stored_at", TZ, comment="when this version of the row was written (UTC); null if written before migration 0006"),
)
Index("ix_transactions_client_date", transactions.c.client_id, transactions.c.london_date)
Index("ix_transactions_date", transactions.c.london_date)
# Nightly reads by kind over a window (loads seen, other money in, screening's history of cash,
# payments and loads) without scanning every item of the window.
Index("ix_transactions_kind_date", transactions.c.kind, transactions.c.london_date)
# Cash-like purchases by day, for screening's cash history (a few in a thousand items: a small index).
Index(
    "ix_transactions_cash_like_date", transactions.c.london_date,
    sqlite_where=text(CASH_LIKE_PURCHASE_SQL), postgresql_where=text(CASH_LIKE_PURCHASE_SQL),
)
Index("ix_transactions_account", transactions.c.provider, transactions.c.account_id)
# Contributions by card (a few a month per client): which payers paid onto a card before, without
# visiting every item the card ever had (records.store.known_contributors; migration 0013).
Index(
    "ix_transactions_contribution_payers", transactions.c.provider, transactions.c.account_id,
    sqlite_where=text(CONTRIBUTION_SQL), postgresql_where=text(CONTRIBUTION_SQL),
)
Index("ix_transactions_related", transactions.c.provider, transactions.c.related_txn_id)
# Items written since a moment (screening.run.late_clients: what arrived since the last screening run
# began), without filtering every item of the late-arrival window (migration 0010).
Index("ix_transactions_stored_at", transactions.c.stored_at)


client_days = Table(
    "client_days",
    metadata,
    Column("london_date", Date, primary_key=True),
    Column("client_id", String(100), primary_key=True),
    Column("live_items", Integer, nullable=False, comment="the client's settled or pending items of the day"),
    Column(
        "last_spend_day",
        Date,
        comment="latest day money was spent by the day's items: a settled spend's posting day (else its day), or the "
        "day of an open authorisation; null if none spent",
    ),
    comment=(
        "Derived, not history: one row per client per day with live items, kept by feeds.ingest.store_and_post in the "
        "same transaction as the items (records.store.refresh_client_days). Screening reads a client's first day seen and "
        "last spending day over its 42-day window from here (records.store.client_activity) instead of every item."
    ),
)

def utc_hour_sql(dialect: str) -> str:
    """The UTC hour of ``transactions.occurred_at_utc`` as an integer (SQLite keeps it as ISO text).
    Queries must write it exactly so for the database to use ``ix_transactions_utc_hour``."""
    if dialect == "sqlite":
        return "CAST(substr(occurred_at_utc, 12, 2) AS INTEGER)"
    return "CAST(EXTRACT(HOUR FROM occurred_at_utc AT TIME ZONE 'UTC') AS INTEGER)"


UTC_HOUR_INDEX = "ix_transactions_utc_hour"
DDL_INDEXES: dict[str, tuple[str, ...]] = {"transactions": (UTC_HOUR_INDEX,)}  # indexes declared as DDL (docs/schema.md lists them)


def utc_hour_index_ddl(dialect: str) -> str:
    """Items by UTC hour, kind and day: screening's night-time card use over its 42-day window reads
    only the night's hours instead of filtering every item of the window (the read grew with the
    window: 0.5 s of a 60-day night on PostgreSQL). An expression index, so declared as DDL: SQLite
    and PostgreSQL spell the hour differently (``utc_hour_sql``)."""
    return f"CREATE INDEX IF NOT EXISTS {UTC_HOUR_INDEX} ON transactions (({utc_hour_sql(dialect)}), kind, london_date)"


for _dialect in ("sqlite", "postgresql"):
    event.listen(transactions, "after_create", DDL(utc_hour_index_ddl(_dialect)).execute_if(dialect=_dialect))

quarantine = Table(
    "quarantine",
    metadata,
    Column("quarantine_id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64)),
    Column("source_file", Text, nullable=False),
    Column("file_sha256", String(64)),
    Column("source_line", Integer),
    Column("provider", String(10)),
    Column("provider_txn_id", String(200)),
    Column("reason", Text, nullable=False),
    Column("raw_text", Text),
    Column("created_at", TZ, nullable=False),
)
Index("ix_quarantine_file", quarantine.c.source_file)

security_incidents = Table(
    "security_incidents",
    metadata,
    Column("incident_id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64)),
    Column("source_file", Text, nullable=False),
    Column("file_sha256", String(64)),
    Column("source_line", Integer),
    Column("field", String(100)),
    Column("description", Text, nullable=False, comment="never the card number itself"),
    Column("detected_at", TZ, nullable=False),
)

provider_balances = Table(
    "provider_balances",
    metadata,
    Column("provider", String(1), primary_key=True),
    Column("account_id", String(100), primary_key=True),
    Column("balance_date", Date, primary_key=True),
    Column("closing_balance_pence", BigInteger, nullable=False),
    Column("available_balance_pence", BigInteger),
    Column("source_file", Text, nullable=False),
    Column("loaded_at", TZ, nullable=False),
)
Index("ix_provider_balances_date", provider_balances.c.balance_date)


take_on_pending = Table(
    "take_on_pending",
    metadata,
    Column("provider", String(1), primary_key=True),
    Column("account_id", String(100), primary_key=True),
    Column("balance_date", Date, primary_key=True, comment="a provider_balances row's day"),
    comment=(
        "Derived, not history: the provider_balances rows that could still create or move a card's take-on"
        " (dated before the card's take-on, or of a card with none yet). Ingest writes them with the balances"
        " and the take-on pass removes the rows a take-on covers, so a night reads these few rows instead of"
        " every balance ever loaded (records/take_on_queue.py). Rebuilt from provider_balances by migration 0014."
    ),
)


# --- the council's reference files (full current state; replaced by each extract) -------------
def _reference_table(ref: ReferenceFile) -> Table:
    types = {"text": Text, "choice": String(40), "date": Date, "money": BigInteger, "int": Integer, "flag": Boolean}
    cols = [Column(c.stored_name, types[c.kind], nullable=not c.required) for c in ref.columns]
    return Table(
        "ref_" + ref.file_name.removesuffix(".csv"),
        metadata,
        Column("row_id", Integer, primary_key=True, autoincrement=True),
        *cols,
        Column("source_line", Integer),
        Column("extract_file", Text, comment="the drop folder file this row came from"),
    )


REFERENCE_TABLES: dict[str, Table] = {ref.file_name: _reference_table(ref) for ref in REFERENCE_FILES}
# A client's row and a team's clients (the workspace scopes safeguarding leads to teams), and a client's
# life events, without reading the whole extract (migration 0015).
_holders, _events = REFERENCE_TABLES["cardholders.csv"], REFERENCE_TABLES["client_events.csv"]
Index("ix_ref_cardholders_client", _holders.c.client_id)
Index("ix_ref_cardholders_team", _holders.c.council, _holders.c.team, _holders.c.client_id)
Index("ix_ref_client_events_client", _events.c.client_id, _events.c.date)

ref_councils = Table(
    "ref_councils",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("policy_yaml", Text, nullable=False, comment="the council's entry from councils.yaml"),
    Column("extract_file", Text),
)
