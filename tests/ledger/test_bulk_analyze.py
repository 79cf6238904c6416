"""When a bulk COPY refreshes planner statistics (db.bulk.needs_analyze): on a table's first big
write and when a write adds a tenth of its rows, never for a night that adds a few per cent of a long
history (ANALYZE samples 30,000 pages however big the table: it made a 60-day night grow)."""

from __future__ import annotations

import polars as pl
from sqlalchemy import text

from db.bulk import ANALYZE_AFTER_ROWS, bulk_insert, needs_analyze
from db.engine import get_engine


def test_the_rule() -> None:
    assert not needs_analyze(ANALYZE_AFTER_ROWS - 1, -1)  # small writes never
    assert needs_analyze(ANALYZE_AFTER_ROWS, -1)  # a table never analysed
    assert needs_analyze(50_000, 0)  # an empty one
    assert needs_analyze(50_000, 500_000)  # a tenth
    assert not needs_analyze(50_000, 500_001)
    assert not needs_analyze(50_000, 2_900_000)  # one night of a 60-day history


def _reltuples(conn) -> float:
    return float(conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass('bulk_probe')")).scalar_one())


def test_postgresql_copy_analyses_only_when_the_table_grew_materially(pg_url: str) -> None:
    with get_engine(pg_url).begin() as conn:
        conn.execute(text("CREATE TABLE bulk_probe (n bigint)"))
        assert _reltuples(conn) < 0  # never analysed

        bulk_insert(conn, "bulk_probe", pl.DataFrame({"n": range(150_000)}))
        assert _reltuples(conn) == 150_000  # first big write: fresh statistics

        bulk_insert(conn, "bulk_probe", pl.DataFrame({"n": range(12_000)}))  # 8 %: left to autovacuum
        assert _reltuples(conn) == 150_000

        bulk_insert(conn, "bulk_probe", pl.DataFrame({"n": range(16_000)}))  # over a tenth of 150,000
        assert _reltuples(conn) == 178_000
