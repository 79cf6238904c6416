"""Goal: a bulk read (``db.bulk_read.query_frame``: COPY on PostgreSQL) gives back exactly the frame that was
written, for the values that trip CSV up: NULL against empty text, quotes, commas, line breaks, non-ASCII text,
microseconds, dates, booleans, the extremes of a 64-bit integer, and whatever DateStyle and TimeZone the session has."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    Table,
    Text,
    bindparam,
    text,
)

from db.bulk import bulk_insert
from db.bulk_read import query_frame, rows_frame
from db.engine import get_engine
from db.sqlfilters import frame_where_in

SCHEMA = {
    "row_id": pl.Int64, "label": pl.Utf8, "pence": pl.Int64, "day": pl.Date,
    "at_utc": pl.Datetime("us", "UTC"), "flag": pl.Boolean,
}
metadata = MetaData()
probe = Table(
    "bulk_read_probe", metadata,
    Column("row_id", Integer, primary_key=True), Column("label", Text), Column("pence", BigInteger),
    Column("day", Date), Column("at_utc", DateTime(timezone=True)), Column("flag", Boolean),
)
SELECT = "SELECT row_id, label, pence, day, at_utc, flag FROM bulk_read_probe"

texts = st.one_of(
    st.none(),
    st.sampled_from(["", '"', '""', ",", "\n", "\r\n", "a,b", 'say "hi"', "\\N", "NULL", " ", "£5 café", "\\"]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
)
rows = st.lists(
    st.tuples(
        texts,
        st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
        st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2200, 12, 31))),
        st.one_of(st.none(), st.datetimes(dt.datetime(1970, 1, 1), dt.datetime(2200, 1, 1))),
        st.one_of(st.none(), st.booleans()),
    ),
    max_size=12,
)


def _frame(values: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        [(i, *v[:3], v[3].replace(tzinfo=dt.UTC) if v[3] else None, v[4]) for i, v in enumerate(values)],
        schema=SCHEMA, orient="row",
    )


@pytest.fixture
def probe_url(db_url):
    engine = get_engine(db_url)
    metadata.create_all(engine)
    yield db_url
    metadata.drop_all(engine)


def _round_trip(url: str, written: pl.DataFrame, session_sql: tuple[str, ...] = ()) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(probe.delete())
        bulk_insert(conn, "bulk_read_probe", written)
        by_driver = rows_frame(conn.execute(text(SELECT + " ORDER BY row_id")).all(), SCHEMA)
        for sql in session_sql:  # (psycopg's own row reader refuses a non-ISO DateStyle, hence read before)
            conn.execute(text(sql))
        read = query_frame(conn, SELECT + " ORDER BY row_id", None, SCHEMA)
        if session_sql:
            assert conn.execute(text("SHOW DateStyle")).scalar_one().startswith("SQL"), "the session's DateStyle is restored"
    assert_frame_equal(read, written)
    assert_frame_equal(by_driver, written)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=rows)
def test_a_bulk_read_returns_the_frame_that_was_written(probe_url, values):
    _round_trip(probe_url, _frame(values))


def test_the_session_datestyle_and_timezone_do_not_change_what_is_read(pg_url):
    """PostgreSQL writes dates in the session's DateStyle and times in its TimeZone (SQLite has neither)."""
    metadata.create_all(get_engine(pg_url))
    values = [(" x ", 1, dt.date(2026, 3, 4), dt.datetime(2026, 3, 29, 0, 59, 59, 999_999), True),
              ("", -5, dt.date(1999, 12, 31), dt.datetime(2026, 10, 25, 1, 30), False)]
    _round_trip(pg_url, _frame(values), ("SET LOCAL DateStyle = 'SQL, DMY'", "SET LOCAL TimeZone = 'America/St_Johns'"))


def test_filters_and_in_lists_reach_the_bulk_read(probe_url):
    values = [(f"c{i}", i, dt.date(2026, 3, 1 + i), None, None) for i in range(6)]
    with get_engine(probe_url).begin() as conn:
        bulk_insert(conn, "bulk_read_probe", _frame(values))
        got = query_frame(conn, text(SELECT + " WHERE day >= :a AND pence IN :ns ORDER BY row_id").bindparams(
            bindparam("ns", expanding=True)), {"a": dt.date(2026, 3, 3), "ns": [1, 2, 4, 5]}, SCHEMA)
        assert got["label"].to_list() == ["c2", "c4", "c5"]
        by_key = frame_where_in(conn, SELECT + " WHERE {match}", "label", ["c0", "c3", "nobody"], SCHEMA)
        assert sorted(by_key["pence"].to_list()) == [0, 3]
        assert query_frame(conn, SELECT + " WHERE pence > 99", None, SCHEMA).schema == pl.Schema(SCHEMA)


def test_sqlite_builds_each_column_as_stored_and_falls_back_for_a_value_of_another_kind(sqlite_url):
    """SQLite's read builds each column as the type SQLite stores for it (no inference over every row).
    SQLite types values one by one: text that is no number stays text in an INTEGER column, so that
    column cannot be built as integers; the read falls back to ``rows_frame`` and fails as it did."""
    from db.bulk_read import sqlite_rows_frame

    engine = get_engine(sqlite_url)
    metadata.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO bulk_read_probe (row_id, label, pence, day, at_utc, flag) VALUES"
                              " (1, 'a', 5, '2026-03-04', '2026-03-04 10:00:00.000000', 1),"
                              " (2, NULL, NULL, '2026-03-05', NULL, 0)"))
            read = query_frame(conn, SELECT + " ORDER BY row_id", None, SCHEMA)
            assert read["pence"].to_list() == [5, None]
            assert read["day"].to_list() == [dt.date(2026, 3, 4), dt.date(2026, 3, 5)]
            assert read["at_utc"].to_list() == [dt.datetime(2026, 3, 4, 10, tzinfo=dt.UTC), None]
            assert read["flag"].to_list() == [True, False]
            raw = conn.connection.driver_connection.execute(SELECT + " ORDER BY row_id").fetchall()
            assert_frame_equal(read, rows_frame(raw, SCHEMA))
            conn.execute(text("INSERT INTO bulk_read_probe (row_id, label, pence) VALUES (3, 'c', 'seven')"))
            raw = conn.connection.driver_connection.execute(SELECT + " ORDER BY row_id").fetchall()
            assert raw[2][2] == "seven"
            with pytest.raises(pl.exceptions.InvalidOperationError):
                rows_frame(raw, SCHEMA)
            with pytest.raises(pl.exceptions.InvalidOperationError):
                query_frame(conn, SELECT + " ORDER BY row_id", None, SCHEMA)
        assert_frame_equal(sqlite_rows_frame([], SCHEMA), pl.DataFrame(schema=SCHEMA))
    finally:
        metadata.drop_all(engine)
