"""Corrections are reversals: a new entry that exactly negates a posted one, linked to it.

Why never an UPDATE: the audit trail must show what was posted, when it was found wrong, and by
whom it was corrected. The database refuses changes to posted history (ledger.guards), so this is
the only way to correct it.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import Connection, text

from ledger.journal import LedgerError, PostResult, entries_frame, payload_hash, post_entries, postings_frame


def reverse_entry(conn: Connection, entry_id: int, *, reason: str, on_date: dt.date, by: str = "careledger") -> PostResult:
    """Post a correction that negates entry ``entry_id``. Reversing twice is a no-op ("already posted")."""
    entry = conn.execute(
        text(
            "SELECT idempotency_key, entry_type, council, client_id, provider, provider_account_id, provider_txn_id"
            " FROM journal_entries WHERE entry_id = :e"
        ),
        {"e": entry_id},
    ).one_or_none()
    if entry is None:
        raise LedgerError(f"entry {entry_id} does not exist; nothing to reverse")
    lines = conn.execute(
        text("SELECT account_code, amount_pence FROM postings WHERE entry_id = :e ORDER BY posting_id"), {"e": entry_id}
    ).all()
    key = f"correction:{entry_id}"
    effective_at = dt.datetime.combine(on_date, dt.time(12, 0), dt.UTC)
    entries = entries_frame(
        [
            {
                "idempotency_key": key,
                "entry_type": "correction",
                "effective_at": effective_at,
                "london_date": on_date,
                "occurred_at": effective_at,
                "description": f"Correction of entry {entry_id} by {by}: {reason}",
                "council": entry.council,
                "client_id": entry.client_id,
                "provider": entry.provider,
                "provider_account_id": entry.provider_account_id,
                "provider_txn_id": entry.provider_txn_id,
                "reverses_key": entry.idempotency_key,
                "payload_hash": payload_hash("correction", entry_id),
            }
        ]
    )
    postings = postings_frame([(key, code, -int(amount)) for code, amount in lines])
    return post_entries(conn, entries, postings, pl.DataFrame(), source=f"correction of entry {entry_id}")
