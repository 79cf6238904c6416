"""Bulk writes of a polars frame into a table: COPY on PostgreSQL, executemany on SQLite.

Why: the nightly run writes up to a million rows per table. COPY streams them in one statement
(and fires statement-level triggers once); SQLite's executemany in one transaction is its fastest
path. Both run inside the caller's transaction, so a failure leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

import polars as pl
from sqlalchemy import Connection

# Rows handed to the driver per call. Bounds memory for the Python-side row tuples on SQLite.
SQLITE_ROWS_PER_CALL = 50_000
ANALYZE_AFTER_ROWS = 10_000  # a bulk write this big may refresh the table's planner statistics ...
ANALYZE_GROWTH_FRACTION = 0.1  # ... when it adds this share of the table's rows (autovacuum's analyze scale factor)
COPY_BYTES_PER_WRITE = 8 * 1024 * 1024
# SQLite page cache for a connection that bulk-writes, in KiB (SQLite's default is 2 MiB). With the
# default, a night's inserts into indexed tables spill dirty pages to the WAL and read them back
# mid-transaction: measured 89 s against 17 s for 200,000 entries / 400,000 postings. The cache
# grows only as pages are used; the setting stays with the (pooled) connection.
SQLITE_CACHE_KIB = 256 * 1024


SQLITE_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite text form of a (naive UTC) datetime


def sql_datetime(dialect: str, value: dt.datetime) -> dt.datetime | str:
    """A UTC instant as a bound parameter comparing correctly with stored times: on SQLite the text
    form ``bulk_insert`` writes (a raw ``text()`` bind would add an offset and compare as other text)."""
    utc = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    return utc.replace(tzinfo=None).strftime(SQLITE_DATETIME_FORMAT) if dialect == "sqlite" else utc


def _sqlite_ready(df: pl.DataFrame) -> pl.DataFrame:
    """Render datetimes as SQLAlchemy's SQLite text form (naive UTC) and dates as ISO text."""
    exprs = []
    for name, dtype in df.schema.items():
        if isinstance(dtype, pl.Datetime):
            col = pl.col(name)
            if dtype.time_zone is not None:
                col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            exprs.append(col.dt.strftime(SQLITE_DATETIME_FORMAT.replace("%f", "%6f")).alias(name))
        elif dtype == pl.Date:
            exprs.append(pl.col(name).dt.strftime("%Y-%m-%d").alias(name))
    return df.with_columns(exprs) if exprs else df


def _chunks(df: pl.DataFrame, rows: int) -> Iterator[pl.DataFrame]:
    for offset in range(0, df.height, rows):
        yield df.slice(offset, rows)


def needs_analyze(rows_written: int, table_rows_estimate: float) -> bool:
    """Whether a COPY of ``rows_written`` rows should refresh the table's planner statistics now.

    Why now, not when autovacuum gets round to it: while a table's size is unknown or far off, the
    planner seq-scans it for the next file's 5,000-key idempotency lookups (measured: 9 s per lookup
    at 150,000 entries, against milliseconds by index). Why not always: ANALYZE samples 30,000 pages
    however large the table, so on a long history it cost a night 2.7 s of 13 s (60 days, 50,000 items
    a night, PostgreSQL), and a night that adds a few per cent of a table's rows leaves its statistics
    as good as they were (the planner scales row counts by the table's current size). So: when the
    table was never analysed (``reltuples`` is -1) or the write adds a tenth of its rows, as
    autovacuum's own analyse threshold does.
    """
    if rows_written < ANALYZE_AFTER_ROWS:
        return False
    return table_rows_estimate < 0 or rows_written >= ANALYZE_GROWTH_FRACTION * table_rows_estimate


def bulk_insert(conn: Connection, table: str, df: pl.DataFrame, *, analyze: bool = True) -> int:
    """Insert every row of ``df`` into ``table`` (columns by name). Returns the row count.

    ``analyze``: on PostgreSQL, refresh the table's planner statistics when the write calls for it
    (``needs_analyze``); the benchmark's ledger-write floor turns it off to time the write alone."""
    if df.height == 0:
        return 0
    cols = df.columns
    col_list = ", ".join(cols)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection  # psycopg 3 connection, same transaction
        buf = io.BytesIO()
        df.write_csv(buf, include_header=False, null_value="", datetime_format="%Y-%m-%dT%H:%M:%S.%6f%z")
        data = buf.getvalue()
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({col_list}) FROM STDIN WITH (FORMAT csv)") as copy:
            for start in range(0, len(data), COPY_BYTES_PER_WRITE):
                copy.write(data[start : start + COPY_BYTES_PER_WRITE])
        if analyze and df.height >= ANALYZE_AFTER_ROWS:
            with raw.cursor() as cur:
                cur.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", (table,))
                row = cur.fetchone()
                if needs_analyze(df.height, float(row[0]) if row else -1.0):
                    cur.execute(f"ANALYZE {table}")
        return df.height
    placeholders = ", ".join("?" for _ in cols)
    sql = f"INSERT INTO {table} ({col_list}) VALUES ({placeholders})"
    raw = conn.connection.driver_connection
    cur = raw.cursor()
    try:
        (cache,) = cur.execute("PRAGMA cache_size").fetchone()  # pages if positive, -KiB if negative
        (page_size,) = cur.execute("PRAGMA page_size").fetchone()
        if (cache * page_size // 1024 if cache >= 0 else -cache) < SQLITE_CACHE_KIB:  # raise it, never lower it
            cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        for part in _chunks(_sqlite_ready(df), SQLITE_ROWS_PER_CALL):
            cur.executemany(sql, part.iter_rows())
    finally:
        cur.close()
    return df.height


def to_date(value: object) -> dt.date | None:
    """A date from what either database returns (SQLite gives text)."""
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value  # type: ignore[return-value]
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def to_utc(value: object) -> dt.datetime | None:
    """An aware UTC moment from what either database returns for a ``TZ`` column (SQLite gives text,
    with or without an offset; a moment stored without one is UTC, as everything here is)."""
    if value is None:
        return None
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
