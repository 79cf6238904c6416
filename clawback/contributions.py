"""``careledger contributions``: did each client pay their assessed contribution, week by week?

For each client with a contribution (``contributions.csv``, effective-dated) and each ISO week:
expected (pro-rata by days for part weeks, rounded down to whole pence) against what arrived on the
card (settled money in of kind ``contribution``, or other money in whose reference or payer account
shows it is the client's contribution). Net model: verified — arrears after
``contribution_missed_weeks`` missed weeks (or that many weeks' worth owed) raise a finance
exception (``contribution_arrears``), and a run of missed weeks is handed to screening as a
``contributions_stopped`` safeguarding finding. Gross model: the client is invoiced, so the weekly
result is reported only.

The series runs from when the card's money is first known to the system (its take-on day or first
transaction), never from before: a contribution paid before the system existed is not arrears.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection

from clawback import calc
from clawback.tables import contribution_weeks
from db.engine import get_engine, take_ledger_lock
from ledger.queries import take_on_days
from reconciliation.exceptions import ExceptionItem, SyncResult, sync_exceptions
from records.reference import load_reference
from records.transactions import first_item_days, load_transactions
from schemas.council_policy import CouncilPolicy
from schemas.reference import ReferenceData
from screening.cases import record_findings
from screening.findings import Finding

LOOKBACK_WEEKS = 104  # bound on history read per run: two years of weekly positions
MONEY_IN_KINDS = ("contribution", "other_money_in")
STORED_FIELDS = (
    "council", "week_start", "contribution_model", "expected_pence", "received_pence", "week_difference_pence",
    "arrears_pence", "overpaid_pence", "missed", "consecutive_missed_weeks", "first_missed_week_start",
    "consecutive_short_weeks", "matched_txn_ids",
)


def first_seen_days(conn: Connection, window_start: dt.date, through: dt.date) -> dict[tuple[str, str], dt.date]:
    """(provider, account) -> the first London day the system knows the card's money for, no earlier
    than ``window_start`` (the look-back bound: the scan never grows with older history) and no
    later than ``through`` (what was known on the day the check is for): its take-on day (the ledger)
    or its first item (the records), whichever is earlier."""
    out: dict[tuple[str, str], dt.date] = {}
    for frame in (take_on_days(conn, through), first_item_days(conn, window_start, through)):
        for p, a, d in frame.iter_rows():
            if d is not None and ((p, a) not in out or d < out[(p, a)]):
                out[(p, a)] = d
    return out


def client_weeks(
    *,
    rates: list[calc.ContributionRate],
    references: list[str],
    items: list[calc.MoneyIn],
    first_monday: dt.date,
    last_monday: dt.date,
    opened: dt.date | None,
    closed: dt.date | None,
) -> tuple[list[calc.ContributionWeek], dict[dt.date, list[str]]]:
    """Pure: one client's weekly series and, per week, the items counted (``txn_id (basis)``)."""
    matched = calc.match_contributions(items, references)
    received: dict[dt.date, int] = {}
    evidence: dict[dt.date, list[str]] = {}
    for item, basis in matched:
        monday = item.day - dt.timedelta(days=item.day.weekday())
        received[monday] = received.get(monday, 0) + item.amount_pence
        evidence.setdefault(monday, []).append(f"{item.txn_id} ({basis})")
    weeks = [
        (m, calc.expected_for_week(rates, m, opened=opened, closed=closed), received.get(m, 0))
        for m in calc.weeks_between(first_monday, last_monday)
    ]
    return calc.contribution_series(weeks), evidence


def _contribution_frames(ref: ReferenceData, council: str | None) -> pl.DataFrame:
    holders = ref.cardholders.filter(pl.col("contribution_model").is_in(["net", "gross"]))
    if council is not None:
        holders = holders.filter(pl.col("council") == council)
    return holders


def _money_in_by_client(money_in: pl.DataFrame) -> dict[str, list[calc.MoneyIn]]:
    """Settled money in per client, as the pure matcher takes it (the payer as sort code:account)."""
    out: dict[str, list[calc.MoneyIn]] = {}
    for r in money_in.iter_rows(named=True):
        if r["client_id"] is None:
            continue
        payer = f"{r['payee_sort_code']}:{r['payee_account_number']}" if r["payee_sort_code"] and r["payee_account_number"] else None
        out.setdefault(r["client_id"], []).append(
            calc.MoneyIn(f"{r['provider']}:{r['provider_txn_id']}", r["posted_date"] or r["london_date"],
                         int(r["amount_pence"]), r["kind"], r["reference"], payer)
        )
    return out


@dataclass(frozen=True)
class _WeekInputs:
    """What every client's weekly check of one ISO week reads, read once."""

    week: str
    monday: dt.date
    sunday: dt.date
    window_start: dt.date
    first_seen: dict[tuple[str, str], dt.date]
    died: dict[str, dt.date]
    items_by_client: dict[str, list[calc.MoneyIn]]
    rates_by_client: dict[str, list[calc.ContributionRate]]
    refs_by_client: dict[str, list[str]]


def _week_inputs(conn: Connection, ref: ReferenceData, week: str, through: dt.date) -> _WeekInputs:
    monday, sunday = calc.week_bounds(week)
    window_start = monday - dt.timedelta(weeks=LOOKBACK_WEEKS - 1)
    money_in = load_transactions(conn, window_start - dt.timedelta(days=7), through, statuses=("settled",), kinds=MONEY_IN_KINDS)
    rates_by_client: dict[str, list[calc.ContributionRate]] = {}
    refs_by_client: dict[str, list[str]] = {}
    for r in ref.contributions.iter_rows(named=True):
        rates_by_client.setdefault(r["client_id"], []).append(
            calc.ContributionRate(int(r["weekly_amount_pence"]), r["effective_from"], r["effective_to"])
        )
        if r["reference"]:
            refs_by_client.setdefault(r["client_id"], []).append(r["reference"])
    return _WeekInputs(
        week=week, monday=monday, sunday=sunday, window_start=window_start,
        first_seen=first_seen_days(conn, window_start, through),
        # Nothing is due after a person has died: their contributions end on that day.
        died={
            c: d for c, d in ref.client_events.filter(pl.col("event") == "deceased")
            .group_by("client_id").agg(pl.col("date").min()).iter_rows()
        },
        items_by_client=_money_in_by_client(money_in),
        rates_by_client=rates_by_client,
        refs_by_client=refs_by_client,
    )


def _arrears_exception(h: dict, this: calc.ContributionWeek, why: str, current_pence: int) -> ExceptionItem:
    client = h["client_id"]
    assert this.arrears_since is not None
    return ExceptionItem(
        key=f"contribution_arrears:{client}:{this.arrears_since.isoformat()}",
        exception_type="contribution_arrears",
        explanation=(
            f"Client {client} (card {h['provider']}/…{h['account_id'][-4:]}, net model): {why}. "
            f"Expected {calc.pounds_text(current_pence)} a week; in arrears since the week of "
            f"{this.arrears_since.isoformat()}. Chase the contribution or check its reference."
        ),
        council=h["council"], client_id=client, provider=h["provider"], account_id=h["account_id"],
        london_date=this.arrears_since, amount_pence=this.arrears_pence,
        difference_pence=-this.arrears_pence,
    )


def _stopped_finding(
    h: dict, this: calc.ContributionWeek, evidence: dict[dt.date, list[str]], current_pence: int, n: int, week: str
) -> Finding:
    assert this.first_missed_week_start is not None
    last_paid = [e.split(" ")[0] for m in sorted(evidence) for e in evidence[m]][-1:]
    return Finding(
        rule="contributions_stopped",
        council=h["council"],
        client_id=h["client_id"],
        london_date=this.first_missed_week_start,
        severity="medium",
        explanation=(
            f"No contribution has arrived on card {h['provider']}/…{h['account_id'][-4:]} for "
            f"{this.consecutive_missed_weeks} weeks since {this.first_missed_week_start.isoformat()} "
            f"(expected {calc.pounds_text(current_pence)} a week, arrears {calc.pounds_text(this.arrears_pence)}). "
            "Contributions that stop can mean the person's income is being taken or their situation has changed."
        ),
        evidence_txn_ids=tuple(last_paid),
        amount_pence=this.arrears_pence,
        provider=h["provider"],
        account_id=h["account_id"],
        policy=f"{h['council']} contribution_missed_weeks={n}",
        details={
            "week": week,
            "consecutive_missed_weeks": this.consecutive_missed_weeks,
            # the Sunday the run of missed weeks reached the threshold: stable week to week
            "detected_on": (this.first_missed_week_start + dt.timedelta(weeks=n - 1, days=6)).isoformat(),
        },
    )


def _week_row(h: dict, this: calc.ContributionWeek, evidence: dict[dt.date, list[str]], week: str, monday: dt.date) -> dict:
    return {
        "client_id": h["client_id"], "iso_week": week, "council": h["council"], "week_start": monday,
        "contribution_model": h["contribution_model"], "expected_pence": this.expected_pence,
        "received_pence": this.received_pence, "week_difference_pence": this.week_difference_pence,
        "arrears_pence": this.arrears_pence, "overpaid_pence": this.overpaid_pence, "missed": this.missed,
        "consecutive_missed_weeks": this.consecutive_missed_weeks,
        "first_missed_week_start": this.first_missed_week_start,
        "consecutive_short_weeks": this.consecutive_short_weeks,
        "matched_txn_ids": " ".join(evidence.get(monday, [])) or None,
    }


def _check_client(
    h: dict, policy: CouncilPolicy, w: _WeekInputs
) -> tuple[dict, ExceptionItem | None, Finding | None] | None:
    """One client's row for the week, with an arrears exception and a "contributions stopped" finding where
    due (net model only); None when there is nothing to verify yet."""
    client = h["client_id"]
    rates = w.rates_by_client.get(client, [])
    if not rates:
        return None
    known_from = w.first_seen.get((h["provider"], h["account_id"]))
    if known_from is None or known_from > w.sunday:
        return None  # no money of this card is known yet: nothing to verify
    start_day = max(d for d in (min(r.effective_from for r in rates), h["opened"], known_from, w.window_start) if d)
    if start_day > w.sunday:
        return None
    first_monday = start_day - dt.timedelta(days=start_day.weekday())
    series, evidence = client_weeks(
        rates=rates, references=w.refs_by_client.get(client, []),
        items=[i for i in w.items_by_client.get(client, []) if i.day >= first_monday],
        first_monday=first_monday, last_monday=w.monday, opened=max(d for d in (h["opened"], known_from) if d),
        closed=min((d for d in (h["closed"], w.died.get(client)) if d), default=None),
    )
    this = series[-1]
    row = _week_row(h, this, evidence, w.week, w.monday)
    if h["contribution_model"] != "net":
        return row, None, None  # gross: invoiced by the council; reported only
    n = int(policy.threshold("contribution_missed_weeks"))
    current = max(
        (r.weekly_amount_pence for r in rates if r.effective_from <= w.sunday and (r.effective_to is None or r.effective_to >= w.monday)),
        default=0,
    )
    why = calc.arrears_exception_due(this, missed_weeks_threshold=n, weekly_amount_pence=current)
    exception = _arrears_exception(h, this, why, current) if why and this.arrears_since is not None else None
    stopped = this.consecutive_missed_weeks >= n and this.first_missed_week_start is not None
    finding = _stopped_finding(h, this, evidence, current, n, w.week) if stopped else None
    return row, exception, finding


def _council_summary(rows: list[dict], n: int, written: int, sync: SyncResult) -> dict:
    net = [r for r in rows if r["contribution_model"] == "net"]
    return {
        "clients": len(rows),
        "net_clients": len(net),
        "gross_clients": len(rows) - len(net),
        "expected_pence": sum(r["expected_pence"] for r in net),
        "received_pence": sum(r["received_pence"] for r in net),
        "arrears_pence": sum(r["arrears_pence"] for r in net),
        "overpaid_pence": sum(r["overpaid_pence"] for r in net),
        "clients_in_arrears": sum(1 for r in net if r["arrears_pence"] > 0),
        "clients_overpaid": sum(1 for r in net if r["overpaid_pence"] > 0),
        "clients_missed_this_week": sum(1 for r in net if r["missed"]),
        "clients_at_missed_threshold": sum(1 for r in net if r["consecutive_missed_weeks"] >= n),
        "rows_written": written,
        "exceptions": {"raised": sync.raised, "carried": sync.carried, "resolved": sync.resolved},
    }


def run_contributions(db_url: str | None, week: str, *, council: str | None = None, as_of: dt.date | None = None) -> dict:
    """Compute, store and act on every client's contribution position for an ISO week.

    ``as_of`` (the weekly run's day) counts only money dated up to that day, so a re-run after later
    days have loaded gives the same answer as the run on the day; without it, the whole week as
    loaded now counts (a check of a finished week).
    """
    monday, sunday = calc.week_bounds(week)
    through = min(sunday, as_of) if as_of is not None else sunday
    summary: dict = {"week": week, "week_start": monday.isoformat(), "councils": {}, "clients": []}
    with get_engine(db_url).begin() as conn:
        take_ledger_lock(conn)  # a consistent view of what has been posted; one writer of the week at a time
        ref = load_reference(conn)
        if council is not None and council not in ref.councils:
            raise ValueError(f"unknown council {council!r}; councils in the reference data: {', '.join(sorted(ref.councils))}")
        inputs = _week_inputs(conn, ref, week, through)
        rows_by_council: dict[str, list[dict]] = {}
        exceptions_by_council: dict[str, list[ExceptionItem]] = {}
        findings: list[Finding] = []
        for h in _contribution_frames(ref, council).sort("client_id").iter_rows(named=True):
            policy = ref.councils.get(h["council"])
            checked = _check_client(h, policy, inputs) if policy is not None else None
            if checked is None:
                continue
            row, exception, finding = checked
            rows_by_council.setdefault(h["council"], []).append(row)
            if exception is not None:
                exceptions_by_council.setdefault(h["council"], []).append(exception)
            if finding is not None:
                findings.append(finding)
        for name in sorted({*rows_by_council, *([council] if council else ref.councils)}):
            rows = rows_by_council.get(name, [])
            written = _store_week(conn, name, week, rows)
            sync = sync_exceptions(
                conn, exceptions_by_council.get(name, []), run_day=sunday, scope_types=("contribution_arrears",),
                scope_date_to=sunday, scope_council=name,
            )
            summary["councils"][name] = _council_summary(rows, int(ref.councils[name].threshold("contribution_missed_weeks")), written, sync)
            summary["clients"].extend(
                {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in r.items() if k != "matched_txn_ids"}
                for r in rows
                if r["arrears_pence"] or r["overpaid_pence"] or r["missed"]
            )
        summary["findings"] = _hand_over(conn, findings, sunday)
    return summary


def _hand_over(conn: Connection, findings: list[Finding], run_day: dt.date) -> dict:
    """Give ``contributions_stopped`` findings to screening, which owns alerts and cases."""
    return {
        "count": len(findings),
        "client_ids": sorted({f.client_id for f in findings}),
        "recorded": True,
        "screening": record_findings(conn, findings, run_day) if findings else {},
    }


def _store_week(conn: Connection, council: str, week: str, rows: list[dict]) -> int:
    """Replace this council's rows for the week where they changed; returns rows written."""
    existing = conn.execute(
        contribution_weeks.select().where(
            (contribution_weeks.c.council == council) & (contribution_weeks.c.iso_week == week)
        )
    ).mappings().all()

    def norm(r) -> tuple:
        return tuple(str(r[k])[:10] if k in ("week_start", "first_missed_week_start") and r[k] is not None else r[k]
                     for k in STORED_FIELDS)

    old = {r["client_id"]: norm(r) for r in existing}
    new = {r["client_id"]: r for r in rows}
    stale = [c for c in old if c not in new or old[c] != norm(new[c])]
    fresh = [r for c, r in new.items() if c not in old or old[c] != norm(r)]
    if stale:
        for c in stale:
            conn.execute(
                contribution_weeks.delete().where(
                    (contribution_weeks.c.client_id == c) & (contribution_weeks.c.iso_week == week)
                )
            )
    if fresh:
        now = dt.datetime.now(dt.UTC)
        conn.execute(contribution_weeks.insert(), [{**r, "computed_at": now} for r in fresh])
    return len(fresh)
