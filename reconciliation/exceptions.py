"""The exceptions register: what finance and audit must look at, with its history.

Why one register for every area: the exception report shows what is new, what is carried forward
and what closed, whatever raised it (a balance difference, a missing file, missed contributions, an
unmatched unload). Each area *finds* exceptions with pure functions and hands them to
``sync_exceptions``; this module alone decides first-seen, age, auto-resolution and notes.

An exception is identified by its ``key`` (type + what it is about), so finding it again on a later
run updates ``last_seen`` instead of raising a second one; a check that runs again over a scope
(e.g. balances of 2026-03-04) and no longer finds an open exception resolves it automatically
(``resolution = 'auto'``) — a late file that arrives closes its own "missing file" exception.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, bindparam, case, text

from db.bulk_read import rows_frame
from db.sqlfilters import filtered_query, rows_where_in
from reconciliation.tables import exceptions

OPEN_STATUSES: tuple[str, ...] = ("open", "explained")
STATUSES: tuple[str, ...] = ("open", "explained", "resolved")


@dataclass(frozen=True)
class ExceptionItem:
    key: str  # natural key, e.g. "balance_mismatch:A:10442817:2026-03-04"
    exception_type: str
    explanation: str
    raised_for: str = "finance"  # finance or audit
    council: str | None = None
    client_id: str | None = None
    provider: str | None = None
    account_id: str | None = None
    london_date: dt.date | None = None
    amount_pence: int | None = None
    difference_pence: int | None = None
    explained: bool = False  # found with a likely cause named (status 'explained', still to act on)
    cause: str | None = None  # machine-readable likely cause (e.g. "missing_transaction"); None = unexplained
    evidence: tuple[str, ...] = ()  # provider items that would close it ("A:A9000123")
    closed_on_arrival: bool = False  # raised already resolved, kept for the record (e.g. a late file)


@dataclass
class SyncResult:
    raised: int = 0  # new this run
    carried: int = 0  # already known, still there
    resolved: int = 0  # closed automatically because the check no longer finds them


def _stored_states(conn: Connection, keys: list[str]) -> tuple[dict[str, str], set[str], set[str]]:
    """For the exceptions with these keys already in the register: key -> status; the keys a person closed
    (resolved by hand); the keys a person has written a note on (their "explained" stands)."""
    existing: dict[str, str] = {}
    manual: set[str] = set()
    noted: set[str] = set()
    sql = "SELECT exception_key, status, resolution, note FROM exceptions WHERE {match}"
    for key, status, resolution, note in rows_where_in(conn, sql, "exception_key", keys):
        existing[key] = status
        if status == "resolved" and resolution == "manual":
            manual.add(key)
        if note:
            noted.add(key)
    return existing, manual, noted


def _new_row(f: ExceptionItem, run_day: dt.date, now: dt.datetime) -> dict:
    return {
        "exception_key": f.key, "exception_type": f.exception_type, "council": f.council,
        "client_id": f.client_id, "provider": f.provider, "account_id": f.account_id,
        "london_date": f.london_date, "amount_pence": f.amount_pence,
        "difference_pence": f.difference_pence, "explanation": f.explanation,
        "cause": f.cause, "evidence": " ".join(f.evidence) or None,
        "raised_for": f.raised_for, "first_seen": run_day, "last_seen": run_day,
        "status": "resolved" if f.closed_on_arrival else ("explained" if f.explained else "open"),
        "resolution": "on_arrival" if f.closed_on_arrival else None,
        "resolved_on": run_day if f.closed_on_arrival else None,
        "updated_at": now,
    }


def _found_again(conn: Connection, f: ExceptionItem, status: str, *, decided: bool, noted: bool,
                 run_day: dt.date, now: dt.datetime) -> None:
    """Refresh an exception found again. ``decided``: a person closed it, or it was raised already closed:
    that stands, and only what was seen is refreshed. Otherwise it is still there: one closed automatically
    that reappears is reopened, and its status follows what the check says now (open or explained), unless
    a person marked it explained with a note (``noted``)."""
    evidence = " ".join(f.evidence) or None
    # A re-run of an older day never moves "last seen" back: it is the latest day the check found it.
    seen_through = case((exceptions.c.last_seen < run_day, run_day), else_=exceptions.c.last_seen)
    where = exceptions.update().where(exceptions.c.exception_key == f.key)
    if decided:
        conn.execute(where.values(last_seen=seen_through, explanation=f.explanation, cause=f.cause, evidence=evidence,
                                  updated_at=now))
        return
    reopened = status == "resolved"
    conn.execute(
        where.values(
            last_seen=seen_through,
            explanation=f.explanation,
            amount_pence=f.amount_pence,
            difference_pence=f.difference_pence,
            cause=f.cause,
            evidence=evidence,
            status=("explained" if f.explained else "open")
            if reopened
            else ("explained" if f.explained or (status == "explained" and noted) else "open"),
            resolution=None if reopened else exceptions.c.resolution,
            resolved_on=None if reopened else exceptions.c.resolved_on,
            updated_at=now,
        )
    )


def _resolve_unseen(conn: Connection, found_keys: set[str], scope: list[tuple], run_day: dt.date, now: dt.datetime) -> int:
    """Auto-resolve the exceptions open in ``scope`` (filtered_query filters) that the check did not find."""
    stale_stmt, params = filtered_query("SELECT exception_key FROM exceptions", [("status", "IN", OPEN_STATUSES), *scope])
    stale = [k for (k,) in conn.execute(stale_stmt, params).all() if k not in found_keys]
    for k in stale:
        conn.execute(
            exceptions.update()
            .where(exceptions.c.exception_key == k)
            .values(status="resolved", resolution="auto", resolved_on=run_day, updated_at=now)
        )
    return len(stale)


def sync_exceptions(
    conn: Connection,
    found: list[ExceptionItem],
    *,
    run_day: dt.date,
    scope_types: tuple[str, ...],
    scope_date_from: dt.date | None = None,
    scope_date_to: dt.date | None = None,
    scope_council: str | None = None,
) -> SyncResult:
    """Record what a check found, and resolve what it no longer finds within the scope it covered.

    The scope (types, date range of ``london_date``, council) must be exactly what the check looked
    at, so that an exception outside it is never closed by a check that did not look.
    """
    result = SyncResult()
    now = dt.datetime.now(dt.UTC)
    keys = [f.key for f in found]
    assert len(keys) == len(set(keys)), "a check must not report the same exception twice"
    assert all(f.exception_type in scope_types for f in found), "found exceptions must be inside the check's scope"
    existing, manual, noted = _stored_states(conn, keys)
    new_rows = []
    for f in found:
        status = existing.get(f.key)
        if status is None:
            new_rows.append(_new_row(f, run_day, now))
            result.raised += 1
        else:
            _found_again(conn, f, status, decided=f.closed_on_arrival or f.key in manual, noted=f.key in noted,
                         run_day=run_day, now=now)
            result.carried += 1
    if new_rows:
        conn.execute(exceptions.insert(), new_rows)
    scope = [
        ("exception_type", "IN", scope_types),
        ("london_date", ">=", scope_date_from),
        ("london_date", "<=", scope_date_to),
        ("council", "=", scope_council),
    ]
    result.resolved = _resolve_unseen(conn, set(keys), scope, run_day, now)
    return result


def resolve_exception(conn: Connection, exception_id: int, *, note: str, by: str, on: dt.date, status: str = "resolved") -> None:
    """A person's decision: mark an exception explained or resolved, with a note saying why."""
    if status not in ("explained", "resolved"):
        raise ValueError(f"status must be explained or resolved, not {status!r}")
    if not note.strip():
        raise ValueError("a note saying why is required")
    done = conn.execute(
        exceptions.update()
        .where(exceptions.c.exception_id == exception_id)
        .values(
            status=status, note=note, updated_by=by, updated_at=dt.datetime.now(dt.UTC),
            resolution="manual" if status == "resolved" else None, resolved_on=on if status == "resolved" else None,
        )
    )
    if done.rowcount != 1:
        raise LookupError(f"no exception with id {exception_id}")


EXCEPTION_SCHEMA: dict[str, pl.DataType] = {
    "exception_id": pl.Int64, "exception_key": pl.Utf8, "exception_type": pl.Utf8, "council": pl.Utf8,
    "client_id": pl.Utf8, "provider": pl.Utf8, "account_id": pl.Utf8, "london_date": pl.Date,
    "amount_pence": pl.Int64, "difference_pence": pl.Int64, "explanation": pl.Utf8, "cause": pl.Utf8,
    "evidence": pl.Utf8, "raised_for": pl.Utf8,
    "first_seen": pl.Date, "last_seen": pl.Date, "status": pl.Utf8, "resolution": pl.Utf8,
    "resolved_on": pl.Date, "note": pl.Utf8,
}


def list_exceptions(conn: Connection, *, status: tuple[str, ...] | None = None, council: str | None = None) -> pl.DataFrame:
    """Exceptions as a frame (for reports, the CLI and tests), oldest first."""
    stmt, params = filtered_query(
        f"SELECT {', '.join(EXCEPTION_SCHEMA)} FROM exceptions",
        [("status", "IN", status or None), ("council", "=", council or None)],
        suffix="ORDER BY first_seen, exception_id",
    )
    return rows_frame(conn.execute(stmt, params).all(), EXCEPTION_SCHEMA)


def open_exception_days(conn: Connection, types: tuple[str, ...], date_from: dt.date, date_to: dt.date) -> set[dt.date]:
    """The days in [date_from, date_to] with an open (or explained) exception of one of ``types``."""
    stmt = text(
        "SELECT DISTINCT london_date FROM exceptions WHERE status IN ('open', 'explained') AND exception_type IN :t"
        " AND london_date >= :f AND london_date <= :to"
    ).bindparams(bindparam("t", expanding=True))
    rows = conn.execute(stmt, {"t": list(types), "f": date_from, "to": date_to}).all()
    return set(rows_frame(rows, {"london_date": pl.Date})["london_date"].to_list())


def open_exception_cards(conn: Connection, exception_type: str) -> pl.DataFrame:
    """(provider, account_id) of every open (or explained) exception of ``exception_type``, any day."""
    rows = conn.execute(
        text("SELECT provider, account_id FROM exceptions WHERE exception_type = :t AND status IN ('open', 'explained')"),
        {"t": exception_type},
    ).all()
    return pl.DataFrame(rows, schema={"provider": pl.Utf8, "account_id": pl.Utf8}, orient="row")


def open_counts_by_type(conn: Connection) -> dict[str, int]:
    """How many exceptions are open (or explained), by type."""
    rows = conn.execute(
        text("SELECT exception_type, count(*) FROM exceptions WHERE status IN ('open', 'explained') GROUP BY exception_type")
    ).all()
    return {k: int(v) for k, v in sorted(rows)}


def exception_councils(conn: Connection) -> list[str]:
    """The councils named by any exception, in order."""
    return sorted(r[0] for r in conn.execute(text("SELECT DISTINCT council FROM exceptions WHERE council IS NOT NULL")).all())
