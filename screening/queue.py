"""Reading cases for people who work them: a team's queue with filters and pages, counts, one case in scope.

Why a scope on every read: a safeguarding lead sees only the cases of their teams' clients, in their
councils (the workspace's rule of least data). The scope is a subquery of client ids
(``records.reference.team_clients``) and a set of councils; a case outside it is simply not found, so
a page cannot tell "someone else's case" from "no such case".

Why severity then age: the most severe and longest-waiting case is the one to open first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, case, func, select

from screening.cases import OPEN_STATUSES, STATUSES
from screening.findings import SEVERITIES
from screening.tables import safeguarding_cases as cases
from screening.tables import suppressions

PAGE_SIZE_MAX = 200  # rows one queue page may hold
EARLIER_CASES_MAX = 50  # a client's earlier cases shown on a case page
STATUS_FILTERS: tuple[str, ...] = ("open", "new", "acknowledged", "referred", "closed", "all")
_SEVERITY_RANK = case({s: i for i, s in enumerate(SEVERITIES)}, value=cases.c.severity, else_=-1)


@dataclass(frozen=True)
class Scope:
    """What one person may see: cases in these councils whose client is in ``clients`` (a subquery)."""

    councils: frozenset[str]
    clients: Select


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters; None means "any". ``status``: "open" = still open (open, acknowledged or referred),
    "new" = open and not yet acknowledged, a status name = that status, "all" = any."""

    status: str = "open"
    rule: str | None = None
    severity: str | None = None
    older_than_days: int | None = None
    assigned_to: str | None = None
    client_search: str | None = None

    def __post_init__(self) -> None:
        assert self.status in STATUS_FILTERS, f"unknown status filter {self.status!r}"
        assert self.severity is None or self.severity in SEVERITIES, f"unknown severity {self.severity!r}"
        assert self.older_than_days is None or self.older_than_days >= 0


def _in_scope(scope: Scope) -> list:
    return [cases.c.council.in_(sorted(scope.councils)), cases.c.client_id.in_(scope.clients)]


def _filtered(scope: Scope, f: QueueFilters, today: dt.date) -> list:
    clauses = _in_scope(scope)
    if f.status == "open":
        clauses.append(cases.c.status.in_(OPEN_STATUSES))
    elif f.status == "new":
        clauses.append(cases.c.status == "open")
    elif f.status != "all":
        clauses.append(cases.c.status == f.status)
    if f.rule:
        clauses.append(cases.c.rule == f.rule)
    if f.severity:
        clauses.append(cases.c.severity == f.severity)
    if f.older_than_days is not None:
        clauses.append(cases.c.opened_on <= today - dt.timedelta(days=f.older_than_days))
    if f.assigned_to:
        clauses.append(cases.c.assigned_to == f.assigned_to)
    if f.client_search:
        clauses.append(cases.c.client_id.like(f.client_search.strip().replace("%", "").replace("_", r"\_") + "%", escape="\\"))
    return clauses


def case_queue(conn: Connection, scope: Scope, filters: QueueFilters, today: dt.date, *, limit: int = 50,
               offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """One page of the cases the filters select, most severe then oldest first, and how many there are."""
    assert 0 < limit <= PAGE_SIZE_MAX and offset >= 0
    clauses = _filtered(scope, filters, today)
    total = int(conn.execute(select(func.count()).select_from(cases).where(*clauses)).scalar_one())
    cols = [cases.c[n] for n in ("case_id", "council", "client_id", "rule", "status", "severity", "opened_on",
                                 "last_finding_on", "findings", "amount_pence", "assigned_to", "updated_at", "updated_by")]
    rows = conn.execute(
        select(*cols).where(*clauses).order_by(_SEVERITY_RANK.desc(), cases.c.opened_on, cases.c.case_id).limit(limit).offset(offset)
    ).mappings()
    return [dict(r) for r in rows], total


def status_counts(conn: Connection, scope: Scope) -> dict[str, int]:
    """How many of the scope's cases are in each status (every status present, 0 where none)."""
    rows = conn.execute(select(cases.c.status, func.count()).where(*_in_scope(scope)).group_by(cases.c.status)).all()
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({str(s): int(n) for s, n in rows})
    return counts


def case_in_scope(conn: Connection, scope: Scope, case_id: int) -> dict[str, Any] | None:
    """The case, if it is within the scope; None both when it does not exist and when it is someone else's."""
    row = conn.execute(select(cases).where(cases.c.case_id == case_id, *_in_scope(scope))).mappings().first()
    return dict(row) if row else None


def earlier_cases(conn: Connection, client_id: str, *, except_case: int) -> list[dict[str, Any]]:
    """The client's other cases (any rule, any status), newest first: what was found before and how it ended."""
    rows = conn.execute(
        select(cases.c.case_id, cases.c.rule, cases.c.status, cases.c.severity, cases.c.opened_on, cases.c.closed_on,
               cases.c.outcome)
        .where(cases.c.client_id == client_id, cases.c.case_id != except_case)
        .order_by(cases.c.opened_on.desc(), cases.c.case_id.desc()).limit(EARLIER_CASES_MAX)
    ).mappings()
    return [dict(r) for r in rows]


def active_suppressions(conn: Connection, client_id: str, rule: str, on: dt.date) -> list[dict[str, Any]]:
    """Suppressions of this rule for this client still in force on ``on``."""
    rows = conn.execute(
        select(suppressions).where(suppressions.c.client_id == client_id, suppressions.c.rule == rule,
                                   suppressions.c.active, suppressions.c.until_date >= on)
        .order_by(suppressions.c.until_date.desc())
    ).mappings()
    return [dict(r) for r in rows]
