"""Reading the feed register: the files loaded or refused (``feed_files``) and the rows quarantined from them.

Why here: reconciliation checks which files arrived, the DAGs ask whether a file or a provider's day
is in, and both read the same register; they get it through these functions, so neither writes SQL
of its own against the records' tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, text

from db.bulk_read import rows_frame

# The register as reconciliation's feed checks read it (reconciliation.feed_arrival): one row per file
# with a feed date (a council extract has none).
FEED_FILES_SCHEMA: dict[str, pl.DataType] = {
    "file_name": pl.Utf8,
    "provider": pl.Utf8,
    "file_kind": pl.Utf8,
    "feed_date": pl.Date,
    "drop_dir": pl.Utf8,
    "status": pl.Utf8,
    "message": pl.Utf8,
}

# A quarantined row with the feed date and drop folder of the file it came from (null for a row of a
# council extract, whose files have no feed date).
QUARANTINE_ROWS_SCHEMA: dict[str, pl.DataType] = {
    "quarantine_id": pl.Int64,
    "provider": pl.Utf8,
    "provider_txn_id": pl.Utf8,
    "source_file": pl.Utf8,
    "source_line": pl.Int64,
    "reason": pl.Utf8,
    "raw_text": pl.Utf8,
    "created_at": pl.Datetime("us", "UTC"),
    "feed_date": pl.Date,
    "drop_dir": pl.Utf8,
}


def load_feed_files(conn: Connection) -> pl.DataFrame:
    """Every registered file that has a feed date, as ``FEED_FILES_SCHEMA``."""
    rows = conn.execute(
        text("SELECT file_name, provider, file_kind, feed_date, drop_dir, status, message FROM feed_files WHERE feed_date IS NOT NULL")
    ).all()
    return rows_frame(rows, FEED_FILES_SCHEMA)


def load_quarantine(conn: Connection, date_from: dt.date, date_to: dt.date) -> pl.DataFrame:
    """Quarantined rows whose file's feed date is in [date_from, date_to], and rows of files with no feed
    date quarantined since ``date_from`` began (UTC), in the order they were quarantined
    (``QUARANTINE_ROWS_SCHEMA``). Which run a row of the second kind belongs to is the caller's to say
    (reconciliation reads the day from its drop folder's name)."""
    start = dt.datetime.combine(date_from, dt.time(0, 0), dt.UTC)
    rows = conn.execute(
        text(
            "SELECT q.quarantine_id, q.provider, q.provider_txn_id, q.source_file, q.source_line, q.reason, q.raw_text,"
            " q.created_at, f.feed_date, f.drop_dir FROM quarantine q LEFT JOIN feed_files f ON f.sha256 = q.file_sha256"
            " WHERE (f.feed_date >= :f AND f.feed_date <= :t) OR (f.feed_date IS NULL AND q.created_at >= :start)"
            " ORDER BY q.quarantine_id"
        ),
        {"f": date_from, "t": date_to, "start": start},
    ).all()
    return rows_frame(rows, QUARANTINE_ROWS_SCHEMA)


@dataclass(frozen=True)
class RegisteredFile:
    """A file as the register holds it, found by its content's SHA-256."""

    file_name: str
    status: str  # loaded or refused
    message: str | None


def registered_file(conn: Connection, sha256: str) -> RegisteredFile | None:
    """The register's row for the file with this content, or None when it was never loaded or refused."""
    row = conn.execute(
        text("SELECT file_name, status, message FROM feed_files WHERE sha256 = :s"), {"s": sha256}
    ).one_or_none()
    return None if row is None else RegisteredFile(row[0], row[1], row[2])


@dataclass(frozen=True)
class ProviderFeedDay:
    """Which kinds of a provider's files for a day are in (loaded) and which were refused with no
    loaded copy."""

    provider: str
    day: dt.date
    loaded: frozenset[str]
    refused: frozenset[str]

    @property
    def complete(self) -> bool:
        """Its transactions are in and nothing of it stands refused: the day can be reconciled for it."""
        return "transactions" in self.loaded and not self.refused


def provider_feed_day(conn: Connection, provider: str, day: dt.date) -> ProviderFeedDay:
    """What the register holds of ``provider``'s files for ``day``. A kind counts as in when some copy of
    it loaded; a refused copy counts against the day only when no copy of its kind loaded."""
    rows = conn.execute(
        text("SELECT file_kind, status FROM feed_files WHERE provider = :p AND feed_date = :d"),
        {"p": provider, "d": day},
    ).all()
    loaded = frozenset(k for k, s in rows if s in ("loaded", "skipped"))
    refused = frozenset(k for k, s in rows if s == "refused") - loaded
    return ProviderFeedDay(provider, day, loaded, refused)
