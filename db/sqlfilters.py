"""Optional filters as one SQL WHERE clause: the pattern every "list X between dates, for these
clients, in these states" query shares, written once.

Why text SQL and not an ORM query: these reads feed polars frames in bulk; a filter is a column, an
operator and a value, and a value of None means "no filter".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import polars as pl
from sqlalchemy import CursorResult, TextClause, bindparam, text

from db.bulk_read import query_frame

OPERATORS = frozenset({"=", ">=", "<=", ">", "<", "IN"})


def filtered_query(base_sql: str, filters: Iterable[tuple[str, str, object]], *, suffix: str = "") -> tuple[TextClause, dict]:
    """``base_sql`` + WHERE for each (column, operator, value) whose value is not None, + ``suffix``.

    ``IN`` takes a list and binds it as an expanding parameter. Returns the statement and its params.
    """
    clauses: list[str] = []
    params: dict[str, object] = {}
    expanding: list[str] = []
    for i, (column, op, value) in enumerate(filters):
        if value is None:
            continue
        assert op in OPERATORS, op
        name = f"p{i}"
        clauses.append(f"{column} {op} :{name}")
        if op == "IN":
            value = list(value)  # type: ignore[arg-type]
            expanding.append(name)
        params[name] = value
    sql = base_sql + (" WHERE " + " AND ".join(clauses) if clauses else "") + (" " + suffix if suffix else "")
    stmt = text(sql)
    if expanding:
        stmt = stmt.bindparams(*[bindparam(n, expanding=True) for n in expanding])
    return stmt, params


KEYS_PER_LOOKUP_SQLITE = 5_000  # SQLite: bound on bound parameters per statement
KEYS_PER_LOOKUP_PG = 100_000  # PostgreSQL: one array parameter; bound on the array's size


def _statements(conn, sql: str, column: str, values: list, params: dict | None) -> Iterator[tuple[TextClause, dict]]:
    """The statements (and their parameters) that test ``column`` in ``values`` for ``sql``, which holds
    ``{match}`` where the membership test goes, in as few statements as each database allows.

    Why: "which of these 100,000 keys are already here?" is the hot lookup of idempotent loading.
    On PostgreSQL one array parameter (``column = ANY(:values)``) is planned once and uses the
    index; thousands of separate IN parameters cost more to bind and plan than to look up. SQLite
    caps the bound parameters of a statement, so there the keys go in bounded IN lists.
    """
    if not values:
        return
    if conn.dialect.name == "postgresql":
        stmt = text(sql.format(match=f"{column} = ANY(:values)"))
        step = KEYS_PER_LOOKUP_PG
    else:
        stmt = text(sql.format(match=f"{column} IN :values")).bindparams(bindparam("values", expanding=True))
        step = KEYS_PER_LOOKUP_SQLITE
    values = list(values)
    for start in range(0, len(values), step):
        yield stmt, {**(params or {}), "values": values[start : start + step]}


def _where_in(conn, sql: str, column: str, values: list, params: dict | None) -> Iterator[CursorResult]:
    for stmt, bound in _statements(conn, sql, column, values, params):
        yield conn.execute(stmt, bound)


def frame_where_in(conn, sql: str, column: str, values: list, schema: dict, params: dict | None = None) -> pl.DataFrame:
    """The rows of a SELECT ``sql`` for ``column`` in ``values`` as a frame of ``schema``, read in bulk
    (``db.bulk_read.query_frame``: COPY on PostgreSQL)."""
    frames = [query_frame(conn, stmt, bound, schema) for stmt, bound in _statements(conn, sql, column, values, params)]
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def rows_where_in(conn, sql: str, column: str, values: list, params: dict | None = None) -> list:
    """Rows of a SELECT ``sql`` for ``column`` in ``values`` (see ``_where_in``)."""
    return [row for result in _where_in(conn, sql, column, values, params) for row in result.all()]


def execute_where_in(conn, sql: str, column: str, values: list, params: dict | None = None) -> int:
    """Run an UPDATE or DELETE ``sql`` for ``column`` in ``values``; returns the rows it touched."""
    return sum(result.rowcount for result in _where_in(conn, sql, column, values, params))
