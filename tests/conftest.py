"""Shared fixtures: a fresh, migrated ledger database on SQLite always, and on PostgreSQL when reachable.

Under CI (CI=true) an unreachable PostgreSQL is a failure, not a skip: the brief requires the
PostgreSQL tests to run in CI.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import cache

import pytest
from sqlalchemy import create_engine, text

from db.engine import get_engine
from migrations.migrate import upgrade

PG_URL = os.environ.get("CARELEDGER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@cache
def pg_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {exc}"


def require_pg() -> None:
    reason = pg_reachable()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL must be reachable under CI ({PG_URL}): {reason}")
    pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {reason}")


def _pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def make_pg_database() -> tuple[str, str]:
    """A fresh schema in the test database; returns (url, schema)."""
    require_pg()
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    return _pg_schema_url(schema), schema


def drop_pg_database(url: str, schema: str) -> None:
    get_engine(url).dispose()
    get_engine.cache_clear()
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def migrate(url: str) -> None:
    with get_engine(url).begin() as conn:
        upgrade(conn)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> Iterator[str]:
    """A migrated, empty careledger database URL: each test runs once per database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db.engine'}"
        migrate(url)
        yield url
        get_engine(url).dispose()
        return
    url, schema = make_pg_database()
    try:
        migrate(url)
        yield url
    finally:
        drop_pg_database(url, schema)


@pytest.fixture
def sqlite_url(tmp_path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'db.engine'}"
    migrate(url)
    yield url
    get_engine(url).dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A migrated, empty database on PostgreSQL only (for PostgreSQL-specific behaviour)."""
    url, schema = make_pg_database()
    try:
        migrate(url)
        yield url
    finally:
        drop_pg_database(url, schema)
