"""Screening runs: load the days and the history the rules need, run the rules, record the findings.

Why the history is bounded: a night's cost must grow with that night's work, not with years of history.
The rules need every item for ``lookback_days`` (dormant_days and the burst windows, ~5 weeks) and, for
the cash-spike baseline, only cash, bank payments and loads for ~14 weeks; nothing older is read.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import text

from db.bulk import sql_datetime, to_date
from db.engine import get_engine, take_ledger_lock
from db.heap import bulk_gc
from records.client_days import client_activity
from records.reference import load_reference
from records.runs import record_run
from records.transactions import (
    SCREEN_SCHEMA,
    load_partner_transactions,
    load_selected_transactions,
    load_transactions,
    load_transactions_occurred_from,
    load_transactions_of_clients,
)
from screening.cases import record_findings
from screening.findings import Finding
from screening.rules.base import ACTIVITY_SCHEMA, CARD_KINDS, LONDON, ScreenInput
from screening.rules.drain_after_load import IS_DRAIN_LOAD, drain_window_end
from screening.rules.inputs import client_overrides, client_params, prepare_items
from screening.rules.lookback import lookback_days, near_days, night_utc_hours, velocity_window
from screening.rules.registry import run_rules

HISTORY_KINDS_IN_FULL: tuple[str, ...] = ("cash", "payment_to_payee", "council_load")  # card purchases: cash-like only
# Files arrive late or are replaced by the next day's (DOMAIN.md): a night also re-screens this many days
# before the first requested day, so items that arrived late still raise their findings. Already recorded
# findings are skipped by key, so this costs nothing twice.
LATE_ARRIVAL_DAYS = 3
RUN_COMMAND = "screen"
MAX_DAYS_PER_RUN = 3660  # a bound on one replay (ten years)

__all__ = ["load_input", "record_findings", "screen_days"]


@dataclass(frozen=True)
class _Days:
    """The days one read serves: screened [date_from, date_to], re-screened from detect_from, every item
    held from complete_from."""

    date_from: dt.date
    date_to: dt.date
    detect_from: dt.date
    complete_from: dt.date


def load_input(
    conn,
    date_from: dt.date,
    date_to: dt.date,
    *,
    full_history: bool = False,
    late_from: dt.date | None = None,
    late_clients: Iterable[str] | None = None,
) -> ScreenInput:
    """Everything the rules need to screen [date_from, date_to], read once.

    ``late_from`` (default ``date_from``): the first day re-screened for late files. ``late_clients``:
    whose items in [late_from, date_from) may have changed since they were last screened; ``None``
    means anyone's (read those days in full for everybody, as on a first night or after a missed one).

    Only the screened days are read in full, with the near days (``near_days``) before the first
    re-screened day, for late clients. Before that the rules need only some items, chosen in the
    database (``_bounded_history``). That keeps a night's read near one night's items however long the
    history; tests/screening/test_history_selection.py checks the findings equal those from reading the
    whole window (``full_history=True``).
    """
    detect_from = late_from or date_from
    assert detect_from <= date_from
    ref = load_reference(conn)
    clients = client_params(ref.cardholders, ref.councils)
    complete_days, baseline_days = lookback_days(clients)
    days = _Days(date_from, date_to, detect_from, detect_from - dt.timedelta(days=complete_days))
    baseline_from = detect_from - dt.timedelta(days=baseline_days)
    # The spike baseline's weeks: cash, bank payments, loads and cash-like purchases only.
    older = load_selected_transactions(
        conn, baseline_from, days.complete_from - dt.timedelta(days=1), kinds=HISTORY_KINDS_IN_FULL, cash_like=True
    )
    if full_history:
        recent = load_transactions(conn, days.complete_from, date_to, schema=SCREEN_SCHEMA)
        txns, activity = pl.concat([older, recent], how="vertical_relaxed"), pl.DataFrame(schema=ACTIVITY_SCHEMA)
    else:
        txns, activity = _bounded_history(conn, ref, clients, older, days, late_clients)
    return ScreenInput(
        items=prepare_items(txns),
        clients=clients,
        payees=ref.payees,
        events=ref.client_events,
        councils=ref.councils,
        date_from=detect_from,
        date_to=date_to,
        complete_from=days.complete_from,
        overrides=client_overrides(ref.councils),
        activity=activity,
    )


def _bounded_history(
    conn, ref: Any, clients: pl.DataFrame, older: pl.DataFrame, days: _Days, late_clients: Iterable[str] | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(transactions, activity) for the look-back window, reading in full only what some rule needs.

    Before the days read in full, the database returns cash, bank payments, loads and cash-like
    purchases (the spike baseline, payee and cash-limit rules), card use at night hours (unusual hours),
    every item of a client with recorded life events (spending after death, in hospital), the late and
    drain clients' near days (``_late_and_drain``), the other half of each authorisation pair fetched,
    and per client the first day seen and the last spending day (``client_activity``: dormant card, new
    clients).
    """
    near = dt.timedelta(days=near_days(clients))
    restricted = late_clients is not None
    full_from = days.date_from if restricted else max(days.complete_from, days.detect_from - near)
    parts = [older, load_transactions(conn, full_from, days.date_to, schema=SCREEN_SCHEMA)]
    activity = pl.DataFrame(schema=ACTIVITY_SCHEMA)
    if full_from > days.complete_from:
        before = full_from - dt.timedelta(days=1)
        selected = load_selected_transactions(
            conn, days.complete_from, before, kinds=HISTORY_KINDS_IN_FULL, cash_like=True,
            hour_kinds=CARD_KINDS, utc_hours=night_utc_hours(clients),
        )
        in_full = set(ref.client_events["client_id"].drop_nulls().to_list())
        if restricted:
            parts += _late_and_drain(conn, selected, clients, days, before, near, set(late_clients or ()), in_full)
        if in_full:
            selected = pl.concat(
                [selected, load_transactions_of_clients(conn, days.complete_from, before, sorted(in_full))], how="vertical_relaxed"
            )
        partners = load_partner_transactions(conn, pl.concat([selected, *parts[1:]], how="vertical_relaxed"), days.complete_from, days.date_to)
        parts += [selected, partners]
        activity = client_activity(conn, days.complete_from, before)
    txns = pl.concat(parts, how="vertical_relaxed").unique(["provider", "provider_txn_id"], keep="first", maintain_order=True)
    return txns, activity


def _late_and_drain(
    conn, selected: pl.DataFrame, clients: pl.DataFrame, days: _Days, before: dt.date, near: dt.timedelta,
    late: set[str], in_full: set[str],
) -> list[pl.DataFrame]:
    """When only late clients are re-screened: the late clients' near days in full (those not read in
    full already for their life events, ``in_full``), a client's items from a near-day load whose drain
    window is still open when the screened days begin (``drain_loads``), and the last velocity window
    before the first day."""
    parts = []
    loads = drain_loads(selected, clients, days.date_from, near)
    drain = set(loads["client_id"].to_list()) - in_full - late
    if late - in_full:
        near_from = max(days.complete_from, days.detect_from - near)
        parts.append(load_transactions_of_clients(conn, near_from, before, sorted(late - in_full)))
    if drain:
        first_load = loads.filter(pl.col("client_id").is_in(sorted(drain)))["london_date"].min()
        parts.append(load_transactions_of_clients(conn, max(days.complete_from, first_load), before, sorted(drain)))
    parts.append(load_transactions_occurred_from(conn, before, before, _day_start_utc(days.date_from) - velocity_window(clients)))
    return parts


def drain_loads(selected: pl.DataFrame, clients: pl.DataFrame, date_from: dt.date, near: dt.timedelta) -> pl.DataFrame:
    """The council loads of the near days before ``date_from`` whose client's drain window reaches into it:
    only for these does drain after load need the client's items of the near days (from the load on).

    Why not every load of the near days: a drain finding is kept for a client who is not late only if it
    is detected on a screened day, that is, by spending on or after ``date_from`` inside the load's window
    (``load_at + drain_window_hours``). A window that closed before the first screened day cannot give one
    (its finding, if any, was raised the night it happened), and a load on a screened day has its spending
    among the screened days' items, read in full. With the default 48-hour window and weekly loads, this
    leaves a night's read at the clients loaded in the last two days, not the last three."""
    first_instant = _day_start_utc(date_from)
    return (
        selected.filter(
            IS_DRAIN_LOAD & pl.col("client_id").is_not_null()
            & pl.col("london_date").is_between(date_from - near, date_from - dt.timedelta(days=1))
        )
        .join(clients.select("client_id", "drain_window_hours").unique("client_id"), on="client_id", how="inner")
        .filter(drain_window_end(pl.col("occurred_at_utc")) >= first_instant)
        .select("client_id", "london_date")
    )


def _day_start_utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0, 0), ZoneInfo(LONDON)).astimezone(dt.UTC)


def late_clients_sql(dialect: str) -> str:
    """Clients with items on [:a, :z] written since :since that fall before :b or complete an
    authorisation from [:a, :b). The items written since :since come by ``ix_transactions_stored_at``
    (docs/performance.md shows the plans). SQLite is told to (``INDEXED BY``): without statistics it
    takes the day index and filters every item of the late days, while the items written since the
    last run are never more than those days' (a missed night re-screens everybody and skips this)."""
    indexed = " INDEXED BY ix_transactions_stored_at" if dialect == "sqlite" else ""
    return (
        f"SELECT DISTINCT t.client_id FROM transactions t{indexed}"
        " WHERE t.london_date >= :a AND t.london_date <= :z AND t.client_id IS NOT NULL"
        " AND (t.stored_at IS NULL OR t.stored_at >= :since)"
        " AND (t.london_date < :b OR (t.related_txn_id IS NOT NULL AND EXISTS ("
        "   SELECT 1 FROM transactions p WHERE p.provider = t.provider AND p.provider_txn_id = t.related_txn_id"
        "   AND p.london_date >= :a AND p.london_date < :b)))"
    )


def last_screening_run(conn, before: dt.date | None = None) -> tuple[dt.datetime, dt.date | None] | None:
    """When the last recorded screening run began and the night it screened (``None``: no run yet);
    with ``before``, the last run of a night before that day."""
    sql = "SELECT started_at, feed_date FROM runs WHERE command = :c"
    params: dict[str, Any] = {"c": RUN_COMMAND}
    if before is not None:
        sql += " AND feed_date < :d"
        params["d"] = before
    row = conn.execute(text(sql + " ORDER BY started_at DESC LIMIT 1"), params).one_or_none()
    if row is None:
        return None
    started = row[0] if isinstance(row[0], dt.datetime) else dt.datetime.fromisoformat(str(row[0]))  # SQLite: text
    return started, None if row[1] is None else to_date(row[1])


def late_clients(conn, late_from: dt.date, date_from: dt.date, date_to: dt.date | None = None) -> list[str] | None:
    """Clients with items written since the last screening run began (``transactions.stored_at``) that
    fall on [late_from, date_from), or that complete an authorisation from those days: only theirs can
    raise findings on those days that were not raised already. ``None`` (re-screen everybody) before
    any recorded run, or when the last run did not reach the day before ``date_from`` (a missed night:
    nothing of those days was screened)."""
    if late_from >= date_from:
        return []
    prev = last_screening_run(conn)
    if prev is None or prev[1] is None:
        return None
    started, night = prev
    if night < date_from - dt.timedelta(days=1):
        return None
    since = sql_datetime(conn.dialect.name, started)
    rows = conn.execute(
        text(late_clients_sql(conn.dialect.name)), {"a": late_from, "b": date_from, "z": date_to or date_from, "since": since}
    ).all()
    return sorted({r[0] for r in rows})


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule, "council": f.council, "client_id": f.client_id, "london_date": f.london_date.isoformat(),
        "severity": f.severity, "explanation": f.explanation, "evidence": list(f.evidence_txn_ids),
        "amount_pence": f.amount_pence, "policy": f.policy, "override": f.override,
    }


@bulk_gc()  # db.heap: the collector held back while the night's rows are in memory
def screen_days(
    db_url: str | None,
    date_from: dt.date,
    date_to: dt.date,
    *,
    dry_run: bool = False,
    extra_findings: Iterable[Finding] = (),
    rules: Iterable[str] | None = None,
    late_days: int = LATE_ARRIVAL_DAYS,
    rescreen_everyone: bool = False,
) -> dict[str, Any]:
    """Run the rules over the London days [date_from, date_to] and record findings as cases and alerts.

    Patterns detected up to ``late_days`` before ``date_from`` are included too, so a late file's items
    raise their findings the night they arrive: for the clients whose items on those days came in files
    loaded since the last run (``late_clients``), or for everyone after a missed night or with
    ``rescreen_everyone``. Each run is recorded in ``runs`` (command ``screen``). Idempotent: the same
    days screened twice add nothing (findings are keyed by rule + client + date + evidence).
    ``dry_run`` records nothing and returns what would be raised. Sends no e-mail: that is
    ``screening.alerts.send_pending_alerts``.
    """
    assert date_from <= date_to, "date_from must not be after date_to"
    assert (date_to - date_from).days < MAX_DAYS_PER_RUN, f"screen at most {MAX_DAYS_PER_RUN} days at once"
    assert late_days >= 0
    engine = get_engine(db_url)
    detect_from = date_from - dt.timedelta(days=late_days)
    with engine.connect() as conn:
        # Wait for a ledger writer still committing (ingest holds the lock while it stores items), so
        # every item stored before ``started`` is visible to this read: the next run's late_clients
        # counts only items stored after it.
        take_ledger_lock(conn)
        started = dt.datetime.now(dt.UTC)
        late = None if rescreen_everyone else late_clients(conn, detect_from, date_from, date_to)
        inp = load_input(conn, date_from, date_to, late_from=detect_from, late_clients=late)
    found = run_rules(inp, rules)
    if late is not None:
        # On the re-screened days only late clients' items are complete: keep only their findings there.
        keep = set(late)
        found = [f for f in found if f.client_id in keep or _detected_on(f) >= date_from]
    findings = found + list(extra_findings)
    summary = _summary(date_from, date_to, detect_from, late, dry_run, inp, findings)
    if dry_run:
        summary["would_raise"] = [_finding_json(f) for f in findings]
        summary["seconds"] = _seconds_since(started)
        return summary
    with engine.begin() as conn:
        summary["recorded"] = record_findings(conn, findings, date_to)
        summary["seconds"] = _seconds_since(started)
        # With the findings, in one transaction: the next night's late_clients counts what was stored
        # since this run began.
        record_run(conn, run_id=uuid.uuid4().hex, command=RUN_COMMAND, feed_date=date_to, started_at=started,
                   summary={k: summary[k] for k in RUN_SUMMARY_KEYS})
    return summary


RUN_SUMMARY_KEYS = ("from", "to", "rescreened_from", "rescreened_clients", "items_read", "findings_total", "seconds")


def _summary(
    date_from: dt.date, date_to: dt.date, detect_from: dt.date, late: list[str] | None, dry_run: bool,
    inp: ScreenInput, findings: list[Finding],
) -> dict[str, Any]:
    """What a run screened and found (the keys of RUN_SUMMARY_KEYS go to ``runs.summary_json``)."""
    return {
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "rescreened_from": detect_from.isoformat(),
        "rescreened_clients": "all" if late is None else len(late),
        "dry_run": dry_run,
        "items_read": inp.items.height,
        "clients": inp.clients.height,
        "findings_by_rule": dict(sorted(Counter(f.rule for f in findings).items())),
        "findings_total": len(findings),
    }


def _seconds_since(started: dt.datetime) -> float:
    return round((dt.datetime.now(dt.UTC) - started).total_seconds(), 3)


def _detected_on(f: Finding) -> dt.date:
    return dt.date.fromisoformat(f.details["detected_on"]) if f.details.get("detected_on") else f.london_date
