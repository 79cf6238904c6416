"""Bulk reads of a SELECT into a typed polars frame: COPY ... TO STDOUT on PostgreSQL, the driver's rows on SQLite.

Why COPY: the nightly reads are large (screening reads the night's items in full: a million rows of 25
columns on the issue's benchmark). Through the driver every value becomes a Python object (a datetime, a
date, a str) and every row a tuple, only for polars to take them apart again: measured at about
10 µs a row on PostgreSQL, most of screening's time at a million items. COPY sends the same rows as
CSV text, which polars parses in Rust. It runs in the caller's transaction, so it sees exactly what a
SELECT would. SQLite is in-process: its rows are already cheap, and it has no COPY.

The frame is the same either way (``tests/ledger/test_bulk_read.py`` compares them on awkward values:
NULL against empty text, quotes, commas and line breaks in text, microseconds, dates, booleans).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import polars as pl
from sqlalchemy import Connection, Executable, TextClause, text

# PostgreSQL writes dates and times in CSV in the session's DateStyle; the parser below reads ISO.
_ISO_DATESTYLE = "ISO, YMD"
_PG_TIMESTAMP = "%Y-%m-%d %H:%M:%S%.f"


def rows_frame(rows: Iterable, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Driver rows from either database into a typed frame (SQLite returns dates and times as text)."""
    cols = list(schema)
    data = [tuple(r) for r in rows]
    if not data:
        return pl.DataFrame(schema=dict(schema))
    return _typed(pl.DataFrame(data, schema=cols, orient="row", infer_schema_length=None), schema)


def _sqlite_storage(t: pl.DataType) -> pl.DataType:
    """The type of the values SQLite's driver hands over for a column read as ``t``: text for dates and
    times, integers for booleans."""
    if t.is_integer() or t == pl.Boolean:
        return pl.Int64
    if t.is_float():
        return pl.Float64
    return pl.Utf8


def sqlite_rows_frame(rows: list[tuple], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """SQLite driver tuples into a typed frame, each column built as the type SQLite stores for it.

    Why not ``rows_frame``: it infers each column's type from every row first, which on a night's 50,000
    items of 25 columns took as long as building the frame. SQLite types values one by one, so a column
    may hold a value of another kind (text in an integer column); polars refuses that row, and the frame
    is then built by ``rows_frame``, as before."""
    if not rows:
        return pl.DataFrame(schema=dict(schema))
    try:
        raw = pl.DataFrame(rows, schema={c: _sqlite_storage(t) for c, t in schema.items()}, orient="row")
    except (pl.exceptions.PolarsError, TypeError, ValueError, OverflowError):
        return rows_frame(rows, schema)
    return _typed(raw, schema)


def _typed(raw: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """``raw``'s columns as ``schema``'s types: text dates and times parsed, naive times taken as UTC."""
    out = []
    for c, t in schema.items():
        col = raw[c]
        if isinstance(t, pl.Datetime):
            if col.dtype == pl.Utf8:
                col = col.str.slice(0, 26).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="us")
            if isinstance(col.dtype, pl.Datetime) and col.dtype.time_zone is None:
                col = col.dt.replace_time_zone("UTC")
            col = col.cast(t)
        elif t == pl.Date and col.dtype == pl.Utf8:
            col = col.str.slice(0, 10).str.to_date("%Y-%m-%d")
        elif t == pl.Date and isinstance(col.dtype, pl.Datetime):
            col = col.dt.date()
        else:
            col = col.cast(t)
        out.append(col.alias(c))
    return pl.DataFrame(out)


def _csv_column(name: str, col: pl.Series, t: pl.DataType) -> pl.Series:
    """One column of PostgreSQL's CSV (text) as type ``t``, strictly: a value that does not parse fails."""
    if t == pl.Utf8:
        return col
    if t == pl.Boolean:
        bad = col.drop_nulls().filter(~col.drop_nulls().is_in(["t", "f"]))
        if bad.len():
            raise ValueError(f"column {name}: {bad[0]!r} is not a PostgreSQL boolean")
        return (col == "t").alias(name)
    if t == pl.Date:
        return col.str.to_date("%Y-%m-%d")
    if isinstance(t, pl.Datetime):
        sample = col.drop_nulls().head(1)
        with_offset = bool(sample.len()) and bool(sample.str.contains(r"[+-]\d\d(:?\d\d)?$")[0])
        if with_offset:  # timestamptz: an instant with the session's offset
            parsed = col.str.to_datetime(_PG_TIMESTAMP + "%#z", time_unit="us").dt.convert_time_zone("UTC")
        else:  # timestamp without time zone: stored as UTC (db.metadata.TZ)
            parsed = col.str.to_datetime(_PG_TIMESTAMP, time_unit="us").dt.replace_time_zone("UTC")
        if t.time_zone is None:
            parsed = parsed.dt.replace_time_zone(None)
        return parsed.cast(t)
    return col.cast(t)  # integers and floats: strict


def _compiled(conn: Connection, stmt: Executable | str, params: Mapping[str, Any] | None) -> tuple[str, dict]:
    """The statement as psycopg's SQL and parameters (expanding IN lists written out). Parameters
    are bound into text statements; a Core ``select()`` carries its own."""
    stmt = text(stmt) if isinstance(stmt, str) else stmt
    if params and not isinstance(stmt, TextClause):
        raise TypeError("parameters are bound into text() statements; a select() carries its own")
    bound = stmt.bindparams(**params) if params else stmt
    compiled = bound.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    return compiled.string, dict(compiled.params)


def copy_out_csv(conn: Connection, stmt: Executable | str, params: Mapping[str, Any] | None = None) -> bytes:
    """PostgreSQL: the rows of a SELECT as CSV (no header; NULL is an empty field, empty text ``""``), in
    the caller's transaction, with dates in ISO form whatever the session's DateStyle (restored after)."""
    sql, values = _compiled(conn, stmt, params)
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute("SELECT current_setting('DateStyle')")
        datestyle = cur.fetchone()[0]
        iso = datestyle.replace(" ", "").upper().startswith("ISO,")
        if not iso:
            cur.execute("SELECT set_config('DateStyle', %s, true)", (_ISO_DATESTYLE,))
        try:
            with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", values or None) as copy:
                data = b"".join(copy)
        finally:
            if not iso:
                cur.execute("SELECT set_config('DateStyle', %s, true)", (datestyle,))
    return data


def query_frame(conn: Connection, stmt: Executable | str, params: Mapping[str, Any] | None,
                schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """The rows of a SELECT (its columns in ``schema``'s order) as a frame of ``schema``.

    PostgreSQL: by COPY, parsed by polars (module docstring); SQLite: the driver's rows (``sqlite_rows_frame``).
    """
    if conn.dialect.name != "postgresql":
        result = conn.execute(text(stmt) if isinstance(stmt, str) else stmt, dict(params or {}))
        try:  # the driver's own tuples: no SQLAlchemy row object per row (a third of the read's time)
            rows = result.cursor.fetchall() if result.cursor is not None else []
        finally:
            result.close()
        return sqlite_rows_frame(rows, schema)
    data = copy_out_csv(conn, stmt, params)
    if not data:
        return pl.DataFrame(schema=dict(schema))
    raw = pl.read_csv(data, has_header=False, schema={c: pl.Utf8 for c in schema}, quote_char='"')
    return pl.DataFrame([_csv_column(c, raw[c], t).alias(c) for c, t in schema.items()])
