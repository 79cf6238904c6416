"""Screening runs: load the days and the history the rules need, run the rules, record the findings.

Why the history is bounded: a night's cost must grow with that night's work, not with years of history.
The rules need every item for ``lookback_days`` (dormant_days and the burst windows, ~5 weeks) and, for
the cash-spike baseline, only cash, bank payments and loads for ~14 weeks; nothing older is read.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any

import polars as pl

from feeds.store import (
    client_activity,
    load_partner_transactions,
    load_reference,
    load_selected_transactions,
    load_transactions,
    load_transactions_of_clients,
)
from ledger.db import get_engine
from screening.cases import record_findings
from screening.findings import Finding
from screening.rules import (
    ACTIVITY_SCHEMA,
    CARD_KINDS,
    CASH_LIKE_MCCS,
    SPEND_KINDS,
    ScreenInput,
    client_overrides,
    client_params,
    lookback_days,
    near_days,
    night_utc_hours,
    prepare_items,
    run_rules,
)

HISTORY_KINDS_IN_FULL: tuple[str, ...] = ("cash", "payment_to_payee", "council_load")  # card purchases: cash-like only
# Files arrive late or are replaced by the next day's (DOMAIN.md): a night also re-screens this many days
# before the first requested day, so items that arrived late still raise their findings. Already recorded
# findings are skipped by key, so this costs nothing twice.
LATE_ARRIVAL_DAYS = 3
MAX_DAYS_PER_RUN = 3660  # a bound on one replay (ten years)

__all__ = ["load_input", "record_findings", "screen_days"]


def load_input(conn, date_from: dt.date, date_to: dt.date, *, full_history: bool = False) -> ScreenInput:
    """Everything the rules need to screen [date_from, date_to], read once.

    Of the complete-history window only the near days (``near_days``) are read in full. Before them
    the rules need only some items, chosen in the database: cash, bank payments, loads and cash-like
    purchases (the spike baseline, payee and cash-limit rules), card use at night hours (unusual
    hours), every item of a client with recorded life events (spending after death, in hospital),
    the other half of each authorisation pair fetched, and per client the first day seen and the last
    spending day (``client_activity``: dormant card, new clients). That keeps a night's read near one
    night's items however long the history; tests/screening/test_history_selection.py checks the
    findings equal those from reading the whole window (``full_history=True``).
    """
    ref = load_reference(conn)
    clients = client_params(ref.cardholders, ref.councils)
    complete_days, baseline_days = lookback_days(clients)
    complete_from = date_from - dt.timedelta(days=complete_days)
    baseline_from = date_from - dt.timedelta(days=baseline_days)
    # The spike baseline's weeks: cash, bank payments, loads and cash-like purchases only.
    older = load_selected_transactions(
        conn, baseline_from, complete_from - dt.timedelta(days=1), kinds=HISTORY_KINDS_IN_FULL, purchase_mccs=CASH_LIKE_MCCS
    )
    activity = pl.DataFrame(schema=ACTIVITY_SCHEMA)
    if full_history:
        txns = pl.concat([older, load_transactions(conn, complete_from, date_to)], how="vertical_relaxed")
    else:
        near_from = max(complete_from, date_from - dt.timedelta(days=near_days(clients)))
        recent = load_transactions(conn, complete_from if near_from == complete_from else near_from, date_to)
        parts = [older, recent]
        if near_from > complete_from:
            before = near_from - dt.timedelta(days=1)
            selected = load_selected_transactions(
                conn, complete_from, before, kinds=HISTORY_KINDS_IN_FULL, purchase_mccs=CASH_LIKE_MCCS,
                hour_kinds=CARD_KINDS, utc_hours=night_utc_hours(clients),
            )
            event_clients = ref.client_events["client_id"].drop_nulls().unique().to_list()
            if event_clients:
                selected = pl.concat(
                    [selected, load_transactions_of_clients(conn, complete_from, before, event_clients)], how="vertical_relaxed"
                )
            partners = load_partner_transactions(conn, pl.concat([selected, recent], how="vertical_relaxed"), complete_from, date_to)
            parts += [selected, partners]
            activity = client_activity(conn, complete_from, before, SPEND_KINDS)
        txns = pl.concat(parts, how="vertical_relaxed").unique(["provider", "provider_txn_id"], keep="first", maintain_order=True)
    return ScreenInput(
        items=prepare_items(txns),
        clients=clients,
        payees=ref.payees,
        events=ref.client_events,
        councils=ref.councils,
        date_from=date_from,
        date_to=date_to,
        complete_from=complete_from,
        overrides=client_overrides(ref.councils),
        activity=activity,
    )


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule, "council": f.council, "client_id": f.client_id, "london_date": f.london_date.isoformat(),
        "severity": f.severity, "explanation": f.explanation, "evidence": list(f.evidence_txn_ids),
        "amount_pence": f.amount_pence, "policy": f.policy, "override": f.override,
    }


def screen_days(
    db_url: str | None,
    date_from: dt.date,
    date_to: dt.date,
    *,
    dry_run: bool = False,
    extra_findings: Iterable[Finding] = (),
    rules: Iterable[str] | None = None,
    late_days: int = LATE_ARRIVAL_DAYS,
) -> dict[str, Any]:
    """Run the rules over the London days [date_from, date_to] and record findings as cases and alerts.

    Patterns detected up to ``late_days`` before ``date_from`` are included too, so a late file's items
    raise their findings the night they arrive. Idempotent: the same days screened twice add nothing
    (findings are keyed by rule + client + date + evidence). ``dry_run`` records nothing and returns what would be raised. Sends no e-mail: that is
    ``screening.alerts.send_pending_alerts``.
    """
    assert date_from <= date_to, "date_from must not be after date_to"
    assert (date_to - date_from).days < MAX_DAYS_PER_RUN, f"screen at most {MAX_DAYS_PER_RUN} days at once"
    assert late_days >= 0
    engine = get_engine(db_url)
    started = dt.datetime.now(dt.UTC)
    detect_from = date_from - dt.timedelta(days=late_days)
    with engine.connect() as conn:
        inp = load_input(conn, detect_from, date_to)
    findings = run_rules(inp, rules) + list(extra_findings)
    summary: dict[str, Any] = {
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "rescreened_from": detect_from.isoformat(),
        "dry_run": dry_run,
        "items_read": inp.items.height,
        "clients": inp.clients.height,
        "findings_by_rule": dict(sorted(Counter(f.rule for f in findings).items())),
        "findings_total": len(findings),
    }
    if dry_run:
        summary["would_raise"] = [_finding_json(f) for f in findings]
    else:
        with engine.begin() as conn:
            summary["recorded"] = record_findings(conn, findings, date_to)
    summary["seconds"] = round((dt.datetime.now(dt.UTC) - started).total_seconds(), 3)
    return summary
