"""What every rule is built on: its input (``ScreenInput``), its description (``Rule``), and how the
rows a rule's frames end with become ``Finding`` records.

Window semantics: every rule computes, for each pattern, the day it is *about* (``london_date``: the first
day of the pattern) and the day it was first *detectable* (``detected_on``: the day the threshold was
crossed). ``to_findings`` keeps the patterns detected inside ``[date_from, date_to]``. Screening a range in
one go therefore gives the same findings as screening each day of it in turn, and a pattern spanning
several nights is raised once, not every night.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from schemas.canonical import SPEND_KINDS as CANONICAL_SPEND_KINDS
from schemas.council_policy import CouncilPolicy
from screening.findings import Finding

LONDON = "Europe/London"
DAY = dt.timedelta(days=1)

CARD_KINDS: tuple[str, ...] = ("card_purchase", "cash")  # card-present or card-not-present use of the card
SPEND_KINDS: tuple[str, ...] = tuple(sorted(CANONICAL_SPEND_KINDS))  # one definition (table client_days uses it)

ITEM_SCHEMA: dict[str, pl.DataType] = {
    "txn": pl.Utf8,  # "provider:provider_txn_id": the evidence id
    "provider": pl.Utf8,
    "account_id": pl.Utf8,
    "client_id": pl.Utf8,
    "council": pl.Utf8,
    "kind": pl.Utf8,
    "status": pl.Utf8,
    "amount_pence": pl.Int64,
    "out_pence": pl.Int64,  # money leaving the card (positive), 0 otherwise
    "at_utc": pl.Datetime("us", "UTC"),
    "at_london": pl.Datetime("us"),  # London wall-clock time
    "london_date": pl.Date,
    "posted_date": pl.Date,  # the provider's posting day once settled (as on a statement); null while pending
    "mcc": pl.Utf8,
    "merchant_country": pl.Utf8,
    "merchant_name": pl.Utf8,
    "payee_name": pl.Utf8,
    "payee_sort_code": pl.Utf8,
    "payee_account_number": pl.Utf8,
}
ACTIVITY_SCHEMA = {"client_id": pl.Utf8, "first_seen": pl.Date, "last_spend_day": pl.Date}


@dataclass(frozen=True)
class ScreenInput:
    """Everything the rules read, as immutable data: the policy (``clients``: each client's effective
    parameters; ``councils``; ``overrides``), every client's items, and their history (``activity``).

    ``items`` is ``inputs.prepare_items`` output: complete (every kind) from ``complete_from``; before that
    it may hold only the history a baseline needs (cash, bank payments, loads). Findings are returned for
    patterns detected in ``[date_from, date_to]``.
    """

    items: pl.DataFrame
    clients: pl.DataFrame  # inputs.client_params()
    payees: pl.DataFrame  # ReferenceData.payees
    events: pl.DataFrame  # ReferenceData.client_events
    councils: Mapping[str, CouncilPolicy]
    date_from: dt.date
    date_to: dt.date
    complete_from: dt.date
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # client -> {param: value}
    # Older history summarised, one row per client (records.client_days.client_activity): first day seen and
    # last spending day over days whose items ``items`` does not hold in full. Empty: ``items`` is all.
    activity: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ACTIVITY_SCHEMA))

    def __post_init__(self) -> None:
        assert self.date_from <= self.date_to, "date_from must not be after date_to"
        assert self.complete_from <= self.date_from, "items must be complete over the screened days"


@dataclass(frozen=True)
class Rule:
    """A rule as the registry knows it: its name (the simulator's ground-truth name), the severity of its
    findings, the council thresholds it reads (names and defaults in
    ``schemas.council_policy.THRESHOLD_DEFAULTS``; any of them can be overridden per client), and the
    pure function that finds its patterns."""

    name: str
    severity: str
    params: tuple[str, ...]
    find: Callable[[ScreenInput], list[Finding]]


def _policy_text(council: str, names: Iterable[str], row: Mapping[str, Any]) -> str:
    parts = [f"{n}={row[n]}" for n in names if n in row]
    return f"{council} thresholds: {', '.join(parts)}" if parts else council


def _override_text(inp: ScreenInput, rule: Rule, client_id: str) -> str | None:
    ov = inp.overrides.get(client_id) or {}
    used = {k: v for k, v in ov.items() if k in rule.params}
    if not used:
        return None
    return f"client {client_id}: " + ", ".join(f"{k}={v}" for k, v in sorted(used.items()))


def to_findings(
    inp: ScreenInput,
    rule: Rule,
    df: pl.DataFrame,
    explain: Callable[[dict], str],
    *,
    policy: Callable[[dict], str] | None = None,
    override: Callable[[dict], str | None] | None = None,
    details: Callable[[dict], dict] | None = None,
) -> list[Finding]:
    """Rows (client_id, london_date, detected_on, evidence, amount_pence, ...) -> findings detected in the
    window. ``policy`` and ``override`` say which policy and which client override applied (default: the
    rule's thresholds as the row carries them, and the client's overrides of them)."""
    if df.height == 0:
        return []
    df = df.filter(pl.col("detected_on").is_between(inp.date_from, inp.date_to))
    if df.height == 0:
        return []
    extra = [c for c in ("council", "provider", "account_id") if c not in df.columns]
    if extra:
        df = df.join(inp.clients.select("client_id", *extra), on="client_id", how="left")
    df = df.sort("client_id", "london_date", "detected_on")
    out = []
    for row in df.iter_rows(named=True):
        evidence = tuple(sorted(set(row["evidence"] or ())))
        assert evidence, f"{rule.name}: a finding carries its evidence"
        council = row.get("council") or ""
        out.append(
            Finding(
                rule=rule.name,
                council=council,
                client_id=row["client_id"],
                london_date=row["london_date"],
                severity=rule.severity,
                explanation=explain(row),
                evidence_txn_ids=evidence,
                amount_pence=int(row["amount_pence"]) if row.get("amount_pence") is not None else None,
                provider=row.get("provider"),
                account_id=row.get("account_id"),
                policy=policy(row) if policy else _policy_text(council, rule.params, row),
                override=override(row) if override else _override_text(inp, rule, row["client_id"]),
                details={"detected_on": row["detected_on"].isoformat(), **(details(row) if details else {})},
            )
        )
    return out
