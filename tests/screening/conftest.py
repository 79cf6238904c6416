"""A simulated council's two months, simulated once and ingested once per database for the screening
tests that only read them (history selection, pinned findings)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from db.engine import get_engine
from feeds.ingest import ingest_drop
from simulator import simulate
from tests.conftest import drop_pg_database, make_pg_database, migrate

START = dt.date(2026, 3, 2)
DAYS = 63


@pytest.fixture(scope="package")
def simulated_drops(tmp_path_factory) -> list[Path]:
    """60 clients of Testshire for 63 days from 2 March 2026, seed 11: one drop folder a day."""
    return simulate("Testshire", 60, START, DAYS, 11, tmp_path_factory.mktemp("sim")).drops


@pytest.fixture(scope="package", params=["sqlite", "postgresql"])
def two_months(request, tmp_path_factory, simulated_drops) -> Iterator[str]:
    """The simulated two months ingested into a migrated database (each kind once); tests only read it."""
    if request.param == "sqlite":
        url, schema = f"sqlite:///{tmp_path_factory.mktemp('two_months') / 'db.engine'}", None
    else:
        url, schema = make_pg_database()
    try:
        migrate(url)
        for drop in simulated_drops:
            summary = ingest_drop(url, drop)
            assert not summary.refused, [f.message for f in summary.refused]
        yield url
    finally:
        if schema is None:
            get_engine(url).dispose()
        else:
            drop_pg_database(url, schema)
