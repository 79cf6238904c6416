"""Tables of the reconciliation area, on the shared ledger metadata (documented in docs/schema.md)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Index, Integer, String, Table, Text

from db.metadata import TZ, metadata

# One row per exception finance or audit must look at, whatever raised it (reconciliation, feeds,
# contributions, clawback). Exceptions are working records, not posted history: their status and
# note change; the ledger's tables are the ones that never change.
exceptions = Table(
    "exceptions",
    metadata,
    Column("exception_id", Integer, primary_key=True, autoincrement=True),
    Column("exception_key", String(300), nullable=False, unique=True, comment="natural key: type + what it is about; raising it again updates last_seen"),
    Column("exception_type", String(40), nullable=False, comment="balance_mismatch, missing_load, late_load, duplicate_load, wrong_amount_load, unexpected_load, missing_file, late_file, conflict, quarantined_row, contribution_arrears, unmatched_unload, other_money_in, ..."),
    Column("council", String(100), comment="the council it concerns; null = every council (e.g. a provider's missing file)"),
    Column("client_id", String(100), comment="client id from the cardholder register, when it is about one client"),
    Column("provider", String(10), comment="A, B or C, when it is about a provider or one of its cards"),
    Column("account_id", String(100), comment="the provider's card account (reports show its last 4 characters only)"),
    Column("london_date", Date, comment="the day the exception is about"),
    Column("amount_pence", BigInteger, comment="the money concerned (signed where a direction matters)"),
    Column("difference_pence", BigInteger, comment="provider minus ledger, or seen minus expected"),
    Column("explanation", Text, nullable=False, comment="what was found and what would close it, in plain English"),
    Column("cause", String(40), comment="machine-readable likely cause where one was found (e.g. missing_transaction, amount_mismatch, pending_booked_late, unknown_account); null = unexplained"),
    Column("evidence", Text, comment="provider items that would close it, as 'provider:provider_txn_id' separated by spaces"),
    Column("raised_for", String(20), nullable=False, comment="finance or audit"),
    Column("first_seen", Date, nullable=False, comment="run day it was first raised"),
    Column("last_seen", Date, nullable=False, comment="run day it was last found"),
    Column("status", String(20), nullable=False, comment="open, explained, resolved"),
    Column("resolution", String(20), comment="auto (no longer found), manual, or on_arrival (raised already closed, e.g. a late file)"),
    Column("resolved_on", Date, comment="run day (or day of the person's decision) it was resolved"),
    Column("note", Text, comment="a person's note: what was found, what was done"),
    Column("updated_by", String(100), comment="who last changed its status by hand"),
    Column("updated_at", TZ, comment="when it last changed (UTC)"),
)
Index("ix_exceptions_type_status", exceptions.c.exception_type, exceptions.c.status)
Index("ix_exceptions_council_day", exceptions.c.council, exceptions.c.london_date)
