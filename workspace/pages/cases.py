"""Safeguarding leads' pages: My cases (the queue), a case, and the actions on it.

Every read is scoped to the lead's teams and councils (``Principal.case_scope``): a case outside them is
404 "not found", like one that does not exist. Every page that shows a client's data, and every action,
appends to the access log in the same transaction as the read or change. Actions go through the same
functions as ``careledger cases ...`` (``screening.cases``), so the history is the same whichever was used.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection

from ledger.queries import client_card_balance
from records.reference import cardholder, client_life_events
from records.transactions import client_daily_flows, client_recent_items, evidence_items
from screening import cases as workflow
from screening.cases import OPEN_STATUSES, OUTCOMES, STATUSES, CaseError
from screening.findings import SEVERITIES
from screening.queue import (
    STATUS_FILTERS,
    QueueFilters,
    active_suppressions,
    case_in_scope,
    case_queue,
    earlier_cases,
    status_counts,
)
from screening.rule_titles import RULE_TITLES, chart_for, rule_title
from workspace import access_log
from workspace.charts import daily_bars
from workspace.formatting import OUTCOME_WORDS, london_today
from workspace.users import team_colleagues
from workspace.web import NotFound, Principal, engine_of, form_of, render, role

router = APIRouter()
PAGE_SIZE = 50
AGES = (7, 14, 28)  # the queue's "older than" choices, in days
LOADS_DAYS = 120  # loads shown: from this far before the case's latest finding up to today
SUPPRESS_DAYS_MAX = 366  # a suppression may run at most this far ahead


def _path(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def _filters(status: str, rule: str, severity: str, age: str, mine: str, client: str, principal: Principal) -> QueueFilters:
    """The queue's query string as filters; anything not on offer is ignored rather than refused."""
    return QueueFilters(
        status=status if status in STATUS_FILTERS else "open",
        rule=rule if rule in RULE_TITLES else None,
        severity=severity if severity in SEVERITIES else None,
        older_than_days=int(age) if age.isdigit() and int(age) in AGES else None,
        assigned_to=principal.user.username if mine == "1" else None,
        client_search=client.strip()[:100] or None,
    )


@router.get("/cases")
def queue(request: Request, status: str = "open", rule: str = "", severity: str = "", age: str = "", mine: str = "",
          client: str = "", page: int = 1, principal: Principal = Depends(role("safeguarding"))) -> Response:
    filters = _filters(status, rule, severity, age, mine, client, principal)
    scope, today = principal.case_scope(), london_today()
    page = max(page, 1)
    with engine_of(request).begin() as conn:
        rows, total = case_queue(conn, scope, filters, today, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        counts = status_counts(conn, scope)
        access_log.record(conn, principal.viewer, "case queue", _path(request), [(r["council"], r["client_id"]) for r in rows])
    for r in rows:
        r["age_days"] = (today - r["opened_on"]).days if isinstance(r["opened_on"], dt.date) else None
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    return render(request, "queue.html", principal=principal, rows=rows, total=total, counts=counts, page=page, pages=pages,
                  filters=filters, rule_titles=RULE_TITLES, severities=SEVERITIES, ages=AGES, statuses=STATUSES,
                  open_total=sum(counts[s] for s in OPEN_STATUSES), query=request.url.query,
                  raw={"status": filters.status, "rule": filters.rule or "", "severity": filters.severity or "",
                       "age": str(filters.older_than_days or ""), "mine": mine == "1", "client": filters.client_search or ""})


STAYS = {"hospital_admission": ("hospital_discharge", "In hospital"), "respite_start": ("respite_end", "In respite"),
         "deceased": (None, "After death"), "suspended": ("resumed", "Suspended")}


def life_event_bands(events: list[dict], last_day: dt.date) -> list[tuple[dt.date, dt.date, str]]:
    """The periods the council's life events mark (a stay from admission to discharge, or to ``last_day``
    when no discharge is recorded; everything after a death), for shading on the chart."""
    out = []
    for i, e in enumerate(events):
        if e["event"] not in STAYS:
            continue
        closing, label = STAYS[e["event"]]
        end = next((later["date"] for later in events[i + 1:] if closing and later["event"] == closing), last_day)
        out.append((e["date"], end, label))
    return out


def _chart(conn: Connection, case: dict[str, Any], evidence: list[dict], life_events: list[dict]) -> dict[str, Any]:
    """The case's window as a bar chart: what the rule is about (cash, spending, money in and out) by day,
    ending on the latest evidence day (or finding), with the client's stays shaded."""
    what, days = chart_for(case["rule"])
    end = max([case["last_finding_on"], *(e["london_date"] for e in evidence if not e["missing"])])
    start = end - dt.timedelta(days=days - 1)
    by_day = {f["london_date"]: f for f in client_daily_flows(conn, case["client_id"], start, end)}
    axis = [start + dt.timedelta(days=i) for i in range(days)]
    pick = {"cash": [("Cash", "cash_pence")], "spend": [("Spent", "spend_pence")],
            "in_out": [("Spent", "spend_pence"), ("Money in", "in_pence")]}[what]
    series = {label: [by_day.get(d, {}).get(key, 0) for d in axis] for label, key in pick}
    highlight = frozenset(e["london_date"] for e in evidence if not e["missing"])
    title = {"cash": "Cash taken per day", "spend": "Money spent per day", "in_out": "Money spent and paid in per day"}[what]
    title += f", {days} days to {end.day} {end:%b %Y}"
    bands = life_event_bands(life_events, end)
    return {"svg": daily_bars(axis, series, title=title, highlight=highlight, bands=bands), "title": title,
            "bands": bool([b for b in bands if b[1] >= start and b[0] <= end]),
            "empty": not any(any(v) for v in series.values()),
            "rows": [(d, *[series[label][i] for label, _ in pick]) for i, d in enumerate(axis) if any(series[lbl][i] for lbl, _ in pick)],
            "labels": [label for label, _ in pick]}


def case_context(conn: Connection, case: dict[str, Any], today: dt.date) -> dict[str, Any]:
    """Everything the case page shows, each part read by its owner's function over a bounded window."""
    shown = workflow.show_case(conn, case["case_id"])
    evidence = sorted(evidence_items(conn, case["evidence"].split()),
                      key=lambda e: (e["missing"], e.get("occurred_at_utc") or dt.datetime.min.replace(tzinfo=dt.UTC)))
    holder = cardholder(conn, case["client_id"])
    life_events = client_life_events(conn, case["client_id"])
    team = holder["team"] if holder else None
    return {
        "case": case, "findings": shown["findings"], "events": shown["events"], "evidence": evidence,
        "evidence_total": len(case["evidence"].split()), "holder": holder,
        "card_last4": (holder["account_id"] or "")[-4:] if holder else (case["account_id"] or "")[-4:],
        "life_events": life_events,
        "earlier": earlier_cases(conn, case["client_id"], except_case=case["case_id"]),
        "balance": client_card_balance(conn, case["client_id"]),
        "loads": client_recent_items(conn, case["client_id"], case["last_finding_on"] - dt.timedelta(days=LOADS_DAYS),
                                     max(today, case["last_finding_on"]), ["council_load"], limit=6),
        "chart": _chart(conn, case, evidence, life_events),
        "suppressions": active_suppressions(conn, case["client_id"], case["rule"], today),
        "colleagues": team_colleagues(conn, case["council"], team) if team else [],
    }


def _case_page(request: Request, principal: Principal, case_id: int, *, status: int = 200, error: str | None = None,
               done: str | None = None) -> Response:
    today = london_today()
    with engine_of(request).begin() as conn:
        case = case_in_scope(conn, principal.case_scope(), case_id)
        if case is None:
            raise NotFound()
        context = case_context(conn, case, today)
        access_log.record(conn, principal.viewer, f"case {case_id} page", _path(request), [(case["council"], case["client_id"])])
    return render(request, "case.html", status=status, principal=principal, error=error, done=done, today=today,
                  is_open=case["status"] in OPEN_STATUSES, outcomes=[(o, OUTCOME_WORDS[o]) for o in OUTCOMES],
                  title=rule_title(case["rule"]), suppress_max=today + dt.timedelta(days=SUPPRESS_DAYS_MAX), **context)


DONE = {"acknowledged": "Case acknowledged.", "assigned": "Assignment saved.", "noted": "Note added.",
        "referred": "Referral recorded.", "closed": "Case closed.", "suppressed": "Rule silenced for this client."}


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: int, done: str = "", principal: Principal = Depends(role("safeguarding"))) -> Response:
    return _case_page(request, principal, case_id, done=DONE.get(done))


def _act(request: Request, principal: Principal, case_id: int, action: str, change) -> Response:
    """Run one action on a case in scope, recorded in its history and the access log, then show the case again
    (Post/Redirect/Get); a refused change shows the case with the reason and changes nothing."""
    try:
        with engine_of(request).begin() as conn:
            case = case_in_scope(conn, principal.case_scope(), case_id)
            if case is None:
                raise NotFound()
            change(conn, case)
            access_log.record(conn, principal.viewer, f"case {case_id}: {action}", request.url.path,
                              [(case["council"], case["client_id"])])
    except CaseError as exc:
        return _case_page(request, principal, case_id, status=400, error=str(exc))
    return RedirectResponse(f"/cases/{case_id}?done={action}#history", status_code=303)


Text = Annotated[str, Form(max_length=4000)]


@router.post("/cases/{case_id}/acknowledge")
def acknowledge(request: Request, case_id: int, note: Text = "", principal: Principal = Depends(form_of("safeguarding"))) -> Response:
    who = principal.user.username
    return _act(request, principal, case_id, "acknowledged",
                lambda conn, _: workflow.change_case(conn, case_id, "acknowledged", actor=who, note=note.strip() or None))


@router.post("/cases/{case_id}/assign")
def assign(request: Request, case_id: int, assignee: Text = "", principal: Principal = Depends(form_of("safeguarding"))) -> Response:
    who = principal.user.username

    def change(conn: Connection, case: dict) -> None:
        holder = cardholder(conn, case["client_id"])
        allowed = {u.username for u in team_colleagues(conn, case["council"], holder["team"])} if holder and holder["team"] else set()
        target = who if assignee == "me" else assignee.strip()
        if target and target not in allowed:
            raise CaseError("a case can be assigned only to a safeguarding lead of the client's team")
        workflow.assign_case(conn, case_id, target or None, actor=who)

    return _act(request, principal, case_id, "assigned", change)


@router.post("/cases/{case_id}/note")
def note(request: Request, case_id: int, note: Text = "", principal: Principal = Depends(form_of("safeguarding"))) -> Response:
    who = principal.user.username
    return _act(request, principal, case_id, "noted", lambda conn, _: workflow.add_note(conn, case_id, note, actor=who))


@router.post("/cases/{case_id}/refer")
def refer(request: Request, case_id: int, to_whom: Text = "", note: Text = "",
          principal: Principal = Depends(form_of("safeguarding"))) -> Response:
    who = principal.user.username
    return _act(request, principal, case_id, "referred", lambda conn, _: workflow.refer_case(conn, case_id, to_whom, note, actor=who))


@router.post("/cases/{case_id}/close")
def close(request: Request, case_id: int, outcome: Text = "", reason: Text = "",
          principal: Principal = Depends(form_of("safeguarding"))) -> Response:
    who = principal.user.username
    if outcome not in OUTCOMES:
        return _case_page(request, principal, case_id, status=400, error="Choose an outcome to close the case.")
    return _act(request, principal, case_id, "closed",
                lambda conn, _: workflow.change_case(conn, case_id, "closed", actor=who, outcome=outcome, note=reason.strip() or None,
                                                     on=london_today()))


@router.post("/cases/{case_id}/suppress")
def suppress(request: Request, case_id: int, until: Text = "", reason: Text = "",
             principal: Principal = Depends(form_of("safeguarding"))) -> Response:
    who, today = principal.user.username, london_today()
    try:
        until_day = dt.date.fromisoformat(until.strip())
    except ValueError:
        return _case_page(request, principal, case_id, status=400, error="Give the last day the rule stays silent, as a date.")
    if not today <= until_day <= today + dt.timedelta(days=SUPPRESS_DAYS_MAX):
        return _case_page(request, principal, case_id, status=400,
                          error=f"The last day must be between today and {SUPPRESS_DAYS_MAX} days from now.")
    return _act(request, principal, case_id, "suppressed",
                lambda conn, _: workflow.suppress_for_case(conn, case_id, until_day, reason.strip(), actor=who))
