"""Findings into cases and alerts; the case workflow a safeguarding lead works through.

Why cases, not one alert per finding: a pattern often shows on several nights (a drain seen on the day
of the load and again the next day). One open case per client and rule collects them: a finding within
``case_cooldown_days`` of the case's latest finding adds its evidence to the case and raises no new
alert; a later one (the same thing again, weeks on) is merged too but raises a fresh alert.

Every change to a case is appended to ``case_events`` with who and when; rows there are never updated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, select, text

from db.bulk import to_date
from records.tables import REFERENCE_TABLES, ref_councils
from schemas.council_policy import THRESHOLD_DEFAULTS, parse_councils
from screening.findings import SEVERITIES, Finding, finding_key
from screening.tables import alerts, case_events, safeguarding_cases, screening_findings, suppressions

OPEN_STATUSES: tuple[str, ...] = ("open", "acknowledged", "referred")
STATUSES: tuple[str, ...] = (*OPEN_STATUSES, "closed")
OUTCOMES: tuple[str, ...] = ("confirmed", "false_positive", "no_action_needed")
SYSTEM_ACTOR = "screening"
# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "acknowledged": (("open",), "acknowledged"),
    "referred": (("open", "acknowledged"), "referred"),
    "closed": (("open", "acknowledged", "referred"), "closed"),
}
KEY_CHUNK = 500  # ids per IN (...) query: bounds statement size


class CaseError(ValueError):
    """A case change that the workflow does not allow; the message says why and what is allowed."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def key_hash(f: Finding) -> str:
    return hashlib.sha256(finding_key(f).encode("utf-8")).hexdigest()


def _chunks(values: list, size: int = KEY_CHUNK) -> Iterable[list]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _recipients(conn: Connection, clients: list[str]) -> tuple[dict[str, str], dict[str, str], dict[str, int]]:
    """(client -> safeguarding lead e-mail, council -> safeguarding mailbox, council -> cooldown days)."""
    ch = REFERENCE_TABLES["cardholders.csv"]
    leads: dict[str, str] = {}
    for part in _chunks(clients):
        for client, email in conn.execute(select(ch.c.client_id, ch.c.safeguarding_email).where(ch.c.client_id.in_(part))):
            if email:
                leads[client] = email.strip()
    mailboxes, cooldowns = {}, {}
    for (policy_yaml,) in conn.execute(select(ref_councils.c.policy_yaml)):
        for name, policy in parse_councils(policy_yaml).items():
            mailboxes[name] = policy.safeguarding_mailbox
            cooldowns[name] = int(policy.threshold("case_cooldown_days"))
    return leads, mailboxes, cooldowns


def _max_severity(a: str, b: str) -> str:
    return a if SEVERITIES.index(a) >= SEVERITIES.index(b) else b


def append_case_event(conn: Connection, case_id: int, action: str, *, actor: str = SYSTEM_ACTOR,
                      from_status: str | None = None, to_status: str | None = None, outcome: str | None = None,
                      note: str | None = None, finding_id: int | None = None, at: dt.datetime | None = None) -> None:
    """Append a row to a case's history (``case_events`` is append-only: the audit trail of who did what)."""
    conn.execute(
        case_events.insert().values(
            case_id=case_id, at=at or _now(), actor=actor, action=action, from_status=from_status, to_status=to_status,
            outcome=outcome, note=note, finding_id=finding_id,
        )
    )


@dataclass
class _Context:
    """What recording a batch of findings needs to know of their clients, read once per batch."""

    leads: dict[str, str]  # client -> safeguarding lead e-mail
    mailboxes: dict[str, str]  # council -> safeguarding mailbox
    cooldowns: dict[str, int]  # council -> case_cooldown_days
    suppressions: dict[tuple[str, str], list[tuple[int, dt.date]]]  # (client, rule) -> [(id, until)]
    open_cases: dict[tuple[str, str], dict]  # (client, rule) -> the open case's row

    def suppression(self, f: Finding) -> int | None:
        """The active suppression covering this finding's day, if any."""
        return next((s for s, until in self.suppressions.get((f.client_id, f.rule), []) if f.london_date <= until), None)


def _context(conn: Connection, clients: list[str]) -> _Context:
    leads, mailboxes, cooldowns = _recipients(conn, clients)
    supp: dict[tuple[str, str], list[tuple[int, dt.date]]] = {}
    open_cases: dict[tuple[str, str], dict] = {}
    for part in _chunks(clients):
        for sid, client, rule, until in conn.execute(
            select(suppressions.c.suppression_id, suppressions.c.client_id, suppressions.c.rule, suppressions.c.until_date).where(
                suppressions.c.client_id.in_(part), suppressions.c.active
            )
        ):
            supp.setdefault((client, rule), []).append((sid, to_date(until)))
        for row in conn.execute(
            select(safeguarding_cases).where(safeguarding_cases.c.client_id.in_(part), safeguarding_cases.c.status.in_(OPEN_STATUSES))
        ).mappings():
            open_cases[(row["client_id"], row["rule"])] = dict(row)
    return _Context(leads, mailboxes, cooldowns, supp, open_cases)


def _new_findings(conn: Connection, findings: list[Finding]) -> list[tuple[str, Finding]]:
    """(key hash, finding) of the findings not recorded yet, each once, in day, client, rule order."""
    by_key: dict[str, Finding] = {}
    for f in findings:
        by_key.setdefault(key_hash(f), f)
    keys = list(by_key)
    existing: set[str] = set()
    for part in _chunks(keys):
        existing.update(r[0] for r in conn.execute(select(screening_findings.c.finding_key).where(screening_findings.c.finding_key.in_(part))))
    return sorted(((k, f) for k, f in by_key.items() if k not in existing), key=lambda kf: (kf[1].london_date, kf[1].client_id, kf[1].rule, kf[0]))


def _finding_values(key: str, f: Finding, run_day: dt.date, now: dt.datetime) -> dict[str, Any]:
    return dict(
        finding_key=key, rule=f.rule, council=f.council, client_id=f.client_id, london_date=f.london_date,
        detected_on=dt.date.fromisoformat(f.details["detected_on"]) if f.details.get("detected_on") else None,
        run_day=run_day, severity=f.severity, explanation=f.explanation, evidence=" ".join(f.evidence_txn_ids),
        amount_pence=f.amount_pence, provider=f.provider, account_id=f.account_id, policy=f.policy, override=f.override,
        details_json=json.dumps(f.details, default=str, sort_keys=True), created_at=now,
    )


def _open_case(conn: Connection, f: Finding, values: dict[str, Any], now: dt.datetime) -> tuple[dict, int]:
    """A new case for the finding's client and rule, the finding recorded in it: (case, finding id)."""
    case_id = conn.execute(
        safeguarding_cases.insert().values(
            council=f.council, client_id=f.client_id, rule=f.rule, status="open", severity=f.severity,
            opened_on=f.london_date, last_finding_on=f.london_date, findings=1,
            evidence=" ".join(f.evidence_txn_ids), explanation=f.explanation, amount_pence=f.amount_pence,
            provider=f.provider, account_id=f.account_id, created_at=now, updated_at=now, updated_by=SYSTEM_ACTOR,
        )
    ).inserted_primary_key[0]
    finding_id = conn.execute(screening_findings.insert().values(**values, case_id=case_id)).inserted_primary_key[0]
    append_case_event(conn, case_id, "opened", to_status="open", note=f.explanation, finding_id=finding_id, at=now)
    case = {"case_id": case_id, "status": "open", "severity": f.severity, "last_finding_on": f.london_date,
            "findings": 1, "evidence": " ".join(f.evidence_txn_ids), "amount_pence": f.amount_pence}
    return case, finding_id


def _merge_into_case(conn: Connection, case: dict, f: Finding, values: dict[str, Any], now: dt.datetime) -> int:
    """The finding added to the open case (evidence, count, amount, severity, latest day); its id."""
    case_id = case["case_id"]
    last = to_date(case["last_finding_on"])
    evidence = case["evidence"].split() if case["evidence"] else []
    evidence += [e for e in f.evidence_txn_ids if e not in set(evidence)]
    amount = None if case["amount_pence"] is None and f.amount_pence is None else (case["amount_pence"] or 0) + (f.amount_pence or 0)
    update = dict(
        severity=_max_severity(case["severity"], f.severity), last_finding_on=max(last, f.london_date),
        findings=case["findings"] + 1, evidence=" ".join(evidence), explanation=f.explanation, amount_pence=amount,
        updated_at=now, updated_by=SYSTEM_ACTOR,
    )
    conn.execute(safeguarding_cases.update().where(safeguarding_cases.c.case_id == case_id).values(**update))
    case.update(update)
    finding_id = conn.execute(screening_findings.insert().values(**values, case_id=case_id)).inserted_primary_key[0]
    append_case_event(conn, case_id, "finding_added", note=f.explanation, finding_id=finding_id, at=now)
    return finding_id


def _raise_alert(conn: Connection, ctx: _Context, case_id: int, finding_id: int, f: Finding, run_day: dt.date,
                 now: dt.datetime) -> None:
    """A pending alert to the client's safeguarding lead, else the council's mailbox."""
    recipient = ctx.leads.get(f.client_id) or ctx.mailboxes.get(f.council) or ""
    conn.execute(
        alerts.insert().values(
            case_id=case_id, finding_id=finding_id, council=f.council, client_id=f.client_id, rule=f.rule,
            severity=f.severity, recipient=recipient, status="pending", raised_on=run_day, created_at=now,
        )
    )
    append_case_event(conn, case_id, "alert_raised", note=f"alert to {recipient or '(no recipient configured)'}", finding_id=finding_id, at=now)


def record_findings(conn: Connection, findings: list[Finding], run_day: dt.date) -> dict[str, Any]:
    """Record findings (idempotently) and turn them into cases and alerts, inside the caller's transaction.

    Same finding twice (rule + client + date + evidence) -> nothing new. A finding for a client and rule
    under an active suppression is kept, marked suppressed, and raises nothing. A finding for a client
    and rule with an open case is merged into it, and alerts again only after ``case_cooldown_days``.
    """
    summary = {"findings": len(findings), "new_findings": 0, "already_recorded": 0, "suppressed": 0,
               "cases_opened": 0, "merged_into_open_case": 0, "alerts_raised": 0}
    new = _new_findings(conn, findings)
    summary["already_recorded"] = len(findings) - len(new)
    if not new:
        return summary
    ctx = _context(conn, sorted({f.client_id for _, f in new}))
    now = _now()
    for key, f in new:
        values = _finding_values(key, f, run_day, now)
        summary["new_findings"] += 1
        sid = ctx.suppression(f)
        if sid is not None:
            conn.execute(screening_findings.insert().values(**values, suppressed_by=sid))
            summary["suppressed"] += 1
            continue
        case = ctx.open_cases.get((f.client_id, f.rule))
        if case is None:
            case, finding_id = _open_case(conn, f, values, now)
            ctx.open_cases[(f.client_id, f.rule)] = case
            summary["cases_opened"] += 1
            raise_alert = True
        else:
            cooldown = ctx.cooldowns.get(f.council, THRESHOLD_DEFAULTS["case_cooldown_days"])
            raise_alert = (f.london_date - to_date(case["last_finding_on"])).days > cooldown
            finding_id = _merge_into_case(conn, case, f, values, now)
            summary["merged_into_open_case"] += 1
        if raise_alert:
            _raise_alert(conn, ctx, case["case_id"], finding_id, f, run_day, now)
            summary["alerts_raised"] += 1
    return summary


# --- workflow ------------------------------------------------------------------------------------
def change_case(conn: Connection, case_id: int, action: str, *, actor: str, note: str | None = None,
                outcome: str | None = None, on: dt.date | None = None) -> dict[str, Any]:
    """Move a case along open -> acknowledged -> referred / closed, recording who, when and why."""
    if action not in TRANSITIONS:
        raise CaseError(f"unknown action {action!r}; allowed: {', '.join(TRANSITIONS)}")
    if not actor:
        raise CaseError("say who is making the change (--by)")
    row = conn.execute(select(safeguarding_cases).where(safeguarding_cases.c.case_id == case_id)).mappings().first()
    if row is None:
        raise CaseError(f"no case {case_id}")
    allowed_from, to_status = TRANSITIONS[action]
    if row["status"] not in allowed_from:
        raise CaseError(f"case {case_id} is {row['status']}; it can be {action} only from {' or '.join(allowed_from)}")
    if action == "closed":
        if outcome not in OUTCOMES:
            raise CaseError(f"closing a case needs an outcome: one of {', '.join(OUTCOMES)}")
        if not note:
            raise CaseError("closing a case needs a note saying what was found")
    elif outcome is not None:
        raise CaseError("an outcome is given only when closing")
    now = _now()
    values: dict[str, Any] = {"status": to_status, "updated_at": now, "updated_by": actor}
    if note:
        values["note"] = note
    if action == "closed":
        values.update(outcome=outcome, closed_on=on or now.date())
    conn.execute(safeguarding_cases.update().where(safeguarding_cases.c.case_id == case_id).values(**values))
    append_case_event(conn, case_id, action, actor=actor, from_status=row["status"], to_status=to_status, outcome=outcome, note=note, at=now)
    return {"case_id": case_id, "from": row["status"], "to": to_status, "outcome": outcome}


def suppress(conn: Connection, client_id: str, rule: str, until: dt.date, reason: str, *, actor: str) -> int:
    """Record that findings for this client and rule, up to ``until``, raise no alert (they are still kept)."""
    if not reason:
        raise CaseError("a suppression needs a reason")
    if not actor:
        raise CaseError("say who is recording the suppression (--by)")
    return int(
        conn.execute(
            suppressions.insert().values(client_id=client_id, rule=rule, until_date=until, reason=reason,
                                         created_by=actor, created_at=_now(), active=True)
        ).inserted_primary_key[0]
    )


def withdraw_suppression(conn: Connection, suppression_id: int, reason: str, *, actor: str) -> dict[str, Any]:
    """End a suppression early: from now on the rule alerts for this client again.

    Why a withdrawal and not a delete: the audit trail must show that alerts were silenced, by
    whom and why, and when someone decided they should not be any more. Findings recorded while it
    was active stay marked as suppressed.
    """
    if not reason:
        raise CaseError("say why the suppression is withdrawn (--reason)")
    if not actor:
        raise CaseError("say who is withdrawing the suppression (--by)")
    row = conn.execute(select(suppressions).where(suppressions.c.suppression_id == suppression_id)).mappings().first()
    if row is None:
        raise CaseError(f"no suppression {suppression_id}")
    if not row["active"]:
        raise CaseError(f"suppression {suppression_id} was already withdrawn by {row['withdrawn_by']}")
    conn.execute(
        suppressions.update().where(suppressions.c.suppression_id == suppression_id).values(
            active=False, withdrawn_by=actor, withdrawn_at=_now(), withdrawn_reason=reason
        )
    )
    return {"suppression_id": suppression_id, "client_id": row["client_id"], "rule": row["rule"]}


def list_suppressions(conn: Connection, *, client_id: str | None = None, active_only: bool = True) -> list[dict[str, Any]]:
    """Suppressions, newest first: active ones only unless asked for all."""
    stmt = select(suppressions).order_by(suppressions.c.suppression_id.desc())
    if client_id:
        stmt = stmt.where(suppressions.c.client_id == client_id)
    if active_only:
        stmt = stmt.where(suppressions.c.active)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def list_cases(conn: Connection, *, status: str | None = None, client_id: str | None = None, rule: str | None = None,
               council: str | None = None, open_only: bool = False) -> list[dict[str, Any]]:
    clauses = []
    if status:
        clauses.append(safeguarding_cases.c.status == status)
    if open_only:
        clauses.append(safeguarding_cases.c.status.in_(OPEN_STATUSES))
    if client_id:
        clauses.append(safeguarding_cases.c.client_id == client_id)
    if rule:
        clauses.append(safeguarding_cases.c.rule == rule)
    if council:
        clauses.append(safeguarding_cases.c.council == council)
    q = select(safeguarding_cases)
    if clauses:
        q = q.where(and_(*clauses))
    return [dict(r) for r in conn.execute(q.order_by(safeguarding_cases.c.case_id)).mappings()]


def show_case(conn: Connection, case_id: int) -> dict[str, Any]:
    row = conn.execute(select(safeguarding_cases).where(safeguarding_cases.c.case_id == case_id)).mappings().first()
    if row is None:
        raise CaseError(f"no case {case_id}")
    return {
        "case": dict(row),
        "events": [dict(r) for r in conn.execute(select(case_events).where(case_events.c.case_id == case_id).order_by(case_events.c.event_id)).mappings()],
        "findings": [
            dict(r)
            for r in conn.execute(
                select(screening_findings).where(screening_findings.c.case_id == case_id).order_by(screening_findings.c.finding_id)
            ).mappings()
        ],
        "alerts": [dict(r) for r in conn.execute(select(alerts).where(alerts.c.case_id == case_id).order_by(alerts.c.alert_id)).mappings()],
    }


@dataclass(frozen=True)
class OpenCase:
    client_id: str
    case_id: int
    rule: str
    opened_on: dt.date


def open_cases_on(conn: Connection, council: str, as_of: dt.date) -> list[OpenCase]:
    """The council's cases open on ``as_of``, by client then case number (clawback leaves their cards alone).

    Point in time, so a re-run of an older week sees the same cases as the first run did: a case counts
    from the day it was known (the screening run that recorded its first finding ran on or before it; a
    case with no recorded finding counts from its ``opened_on``) and until it was closed."""
    rows = conn.execute(
        text(
            "SELECT c.client_id, c.case_id, c.rule, c.opened_on FROM safeguarding_cases c"
            " WHERE c.council = :c"
            " AND coalesce((SELECT min(f.run_day) FROM screening_findings f WHERE f.case_id = c.case_id), c.opened_on) <= :d"
            " AND (c.closed_on IS NULL OR c.closed_on > :d)"
            " ORDER BY c.client_id, c.case_id"
        ),
        {"c": council, "d": as_of},
    ).all()
    return [OpenCase(client_id, int(case_id), rule, to_date(opened_on)) for client_id, case_id, rule, opened_on in rows]


# --- more of the workflow: assigning, notes, referrals, suppression from a case ---------------------
def _open_case_row(conn: Connection, case_id: int, *, open_only: bool) -> dict[str, Any]:
    row = conn.execute(select(safeguarding_cases).where(safeguarding_cases.c.case_id == case_id)).mappings().first()
    if row is None:
        raise CaseError(f"no case {case_id}")
    if open_only and row["status"] not in OPEN_STATUSES:
        raise CaseError(f"case {case_id} is {row['status']}; only an open case can be changed so")
    return dict(row)


def assign_case(conn: Connection, case_id: int, assignee: str | None, *, actor: str) -> dict[str, Any]:
    """Give an open case to one person (``assignee``, a workspace username), or back to the team (None).

    Who may be given it (a colleague in the client's team) is the caller's check: the workspace offers only
    them; this records the decision and who made it."""
    if not actor:
        raise CaseError("say who is making the change (--by)")
    row = _open_case_row(conn, case_id, open_only=True)
    now = _now()
    conn.execute(
        safeguarding_cases.update().where(safeguarding_cases.c.case_id == case_id).values(
            assigned_to=assignee or None, updated_at=now, updated_by=actor
        )
    )
    note = f"assigned to {assignee}" if assignee else "returned to the team (assigned to nobody)"
    append_case_event(conn, case_id, "assigned", actor=actor, from_status=row["status"], to_status=row["status"], note=note, at=now)
    return {"case_id": case_id, "assigned_to": assignee or None, "was": row["assigned_to"]}


def add_note(conn: Connection, case_id: int, note: str, *, actor: str) -> dict[str, Any]:
    """Add a note to a case's history (any status: a closed case can still be written about)."""
    if not actor:
        raise CaseError("say who is writing the note (--by)")
    if not (note or "").strip():
        raise CaseError("a note needs some text")
    row = _open_case_row(conn, case_id, open_only=False)
    now = _now()
    conn.execute(safeguarding_cases.update().where(safeguarding_cases.c.case_id == case_id).values(note=note, updated_at=now, updated_by=actor))
    append_case_event(conn, case_id, "noted", actor=actor, from_status=row["status"], to_status=row["status"], note=note, at=now)
    return {"case_id": case_id, "noted": True}


def refer_case(conn: Connection, case_id: int, to_whom: str, note: str | None, *, actor: str) -> dict[str, Any]:
    """Refer a case on (e.g. to the safeguarding adults team, the police): whom it went to is required."""
    if not (to_whom or "").strip():
        raise CaseError("say whom the case is referred to (--to)")
    text_ = f"referred to {to_whom.strip()}" + (f": {note.strip()}" if note and note.strip() else "")
    return change_case(conn, case_id, "referred", actor=actor, note=text_)


def suppress_for_case(conn: Connection, case_id: int, until: dt.date, reason: str, *, actor: str) -> int:
    """Silence the case's rule for its client until ``until`` (findings still kept), recorded in the case's history."""
    row = _open_case_row(conn, case_id, open_only=False)
    suppression_id = suppress(conn, row["client_id"], row["rule"], until, reason, actor=actor)
    append_case_event(conn, case_id, "suppressed", actor=actor, from_status=row["status"], to_status=row["status"],
           note=f"rule silenced for this client until {until.isoformat()}: {reason} (suppression {suppression_id})")
    return suppression_id
