"""The access log: who saw which client's data, when, and on what page; append-only.

Why one row per client shown: the question the log answers is "who has looked at this person's data?"
(a subject access request, an investigation). A queue page listing 40 clients' cases writes 40 rows, in
one statement. Rows are never changed: the database refuses UPDATE and DELETE (migration 0015).
Admin and audit read it, for the councils they belong to, and export it as CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select

from db.bulk import to_utc
from workspace.tables import access_log, workspace_user_councils

EXPORT_ROWS_MAX = 100_000  # rows one CSV export holds (narrow the dates for more)
EXPORT_COLUMNS = ("access_id", "at_utc", "username", "role", "council", "client_id", "what", "path")


@dataclass(frozen=True)
class Viewer:
    """Who is looking, for the log: a user and the role the page was opened under."""

    user_id: int
    username: str
    role: str


def record(conn: Connection, viewer: Viewer, what: str, path: str, clients: Iterable[tuple[str, str]] = (),
           *, now: dt.datetime | None = None) -> int:
    """Append one row per (council, client) shown, or one row about no client when none is given."""
    now = now or dt.datetime.now(dt.UTC)
    base = {"at": now, "user_id": viewer.user_id, "username": viewer.username, "role": viewer.role, "what": what[:500],
            "path": path[:2000]}
    shown = list(dict.fromkeys(clients))
    rows = [{**base, "council": c, "client_id": cl} for c, cl in shown] or [{**base, "council": None, "client_id": None}]
    conn.execute(insert(access_log), rows)
    return len(rows)


@dataclass(frozen=True)
class LogFilters:
    client_id: str | None = None
    username: str | None = None
    date_from: dt.date | None = None  # UTC days, inclusive
    date_to: dt.date | None = None


def _where(councils: Iterable[str], f: LogFilters) -> list:
    councils = sorted(set(councils))
    # Rows about a client of my councils, and rows about no client made by users of my councils.
    colleagues = select(workspace_user_councils.c.user_id).where(workspace_user_councils.c.council.in_(councils))
    clauses: list = [or_(access_log.c.council.in_(councils), access_log.c.council.is_(None) & access_log.c.user_id.in_(colleagues))]
    if f.client_id:
        clauses.append(access_log.c.client_id == f.client_id.strip())
    if f.username:
        clauses.append(access_log.c.username == f.username.strip().lower())
    if f.date_from:
        clauses.append(access_log.c.at >= dt.datetime.combine(f.date_from, dt.time(), dt.UTC))
    if f.date_to:
        clauses.append(access_log.c.at < dt.datetime.combine(f.date_to + dt.timedelta(days=1), dt.time(), dt.UTC))
    return clauses


def read(conn: Connection, councils: Iterable[str], filters: LogFilters, *, limit: int = 100, offset: int = 0
         ) -> tuple[list[dict[str, Any]], int]:
    """One page of the log, newest first, and how many rows match."""
    assert 0 < limit <= 1000 and offset >= 0
    clauses = _where(councils, filters)
    total = int(conn.execute(select(func.count()).select_from(access_log).where(*clauses)).scalar_one())
    rows = conn.execute(select(access_log).where(*clauses).order_by(access_log.c.access_id.desc()).limit(limit).offset(offset)).mappings()
    return [{**dict(r), "at": to_utc(r["at"])} for r in rows], total


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(conn: Connection, councils: Iterable[str], filters: LogFilters) -> str:
    """The matching rows as CSV text, oldest first, at most EXPORT_ROWS_MAX (a last line says if cut short)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    stmt = select(access_log).where(*_where(councils, filters)).order_by(access_log.c.access_id).limit(EXPORT_ROWS_MAX + 1)
    for n, r in enumerate(conn.execute(stmt).mappings(), start=1):
        if n > EXPORT_ROWS_MAX:
            writer.writerow([f"# cut short at {EXPORT_ROWS_MAX} rows: export a shorter period"])
            break
        at = to_utc(r["at"])
        writer.writerow([_cell(v) for v in (r["access_id"], at.isoformat() if at else "", r["username"], r["role"],
                                              r["council"], r["client_id"], r["what"], r["path"])])
    return out.getvalue()
