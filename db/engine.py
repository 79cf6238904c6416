"""Connections to the ledger database: SQLite embedded by default, PostgreSQL in production.

Why one module: every entry point (CLI, Airflow task, test) must open the database the same way,
with SQLite's foreign keys switched on and a busy timeout, or the database's own guarantees
(deferred foreign keys, triggers) would silently differ between callers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text

from db.wal import AUTOCHECKPOINT_PRAGMA, checkpointer_for

DEFAULT_DB_URL = "sqlite:///careledger.db"
DB_URL_ENV = "CARELEDGER_DB_URL"

# One lock id for "the ledger is being written": posting takes it for the whole transaction so
# entry ids and the hash chain are assigned in one order (see docs/architecture.md, Concurrency).
LEDGER_WRITE_LOCK_ID = 0x0CA2E1ED


def resolve_url(url: str | None = None) -> str:
    """The database URL: explicit, else $CARELEDGER_DB_URL, else the embedded SQLite file."""
    url = url or os.environ.get(DB_URL_ENV) or DEFAULT_DB_URL
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # SQLAlchemy 2.1 changed the default driver; name ours so every machine uses psycopg 3.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(AUTOCHECKPOINT_PRAGMA)  # the WAL is copied by a background thread (db.wal), not by a commit
    cur.close()


@cache
def get_engine(url: str | None = None) -> Engine:
    """An engine per URL, cached so tasks in one process share a pool."""
    url = resolve_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_pragmas)
        checkpointer = checkpointer_for(path) if (path := sqlite_file(engine)) is not None else None
        if checkpointer is not None:
            # A connection back in the pool has committed or rolled back: new log pages, if any, get copied.
            event.listen(engine, "checkin", lambda *_: checkpointer.wake())

        # Take SQLite's write lock at BEGIN (not at the first write) so two writers queue instead
        # of one failing half-way with "database is locked".
        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Connection) -> None:  # pragma: no cover - trivial
            if checkpointer is not None:
                checkpointer.before_write()  # keeps the log from growing without bound (db.wal)
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        # pysqlite's own transaction handling must be off for the BEGIN above to be ours.
        @event.listens_for(engine, "connect")
        def _no_pysqlite_tx(dbapi_connection, _record) -> None:  # pragma: no cover - trivial
            dbapi_connection.isolation_level = None

        return engine
    return create_engine(url, pool_pre_ping=True)


def sqlite_file(engine: Engine) -> Path | None:
    """The database file of a SQLite engine; None for an in-memory database or another backend."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    return Path(database) if database and database != ":memory:" and not database.startswith("file:") else None


def is_postgres(conn_or_engine: Connection | Engine) -> bool:
    return conn_or_engine.dialect.name == "postgresql"


@contextmanager
def transaction(url: str | None = None) -> Iterator[Connection]:
    """One all-or-nothing unit of work."""
    with get_engine(url).begin() as conn:
        yield conn


def take_ledger_lock(conn: Connection) -> None:
    """Serialise ledger writers for the rest of this transaction.

    PostgreSQL: a transaction-scoped advisory lock (released at commit or rollback, even if the
    process dies). SQLite: BEGIN IMMEDIATE already holds the single write lock.
    """
    if is_postgres(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LEDGER_WRITE_LOCK_ID})
