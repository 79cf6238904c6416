"""Safeguarding and restricted-spending rules: pure functions from card items to findings.

Why this shape (STYLE.md, "Small pure core"): a rule reads a ``ScreenInput`` (polars frames of every
client's card items, the council's reference data and each client's effective parameters) and returns
``Finding`` records. It opens no database, sends no mail and reads no clock, so it can be tested on
hand-built frames and replayed over any history.

Why vectorised: a night holds up to a million items for 100,000 cards. Each rule is a handful of polars
joins and group-bys over *all* clients at once; Python only touches the rows that fire (to write the
plain-English explanation), which are a tiny share.

Window semantics: every rule computes, for each pattern, the day it is *about* (``london_date``: the first
day of the pattern) and the day it was first *detectable* (``detected_on``: the day the threshold was
crossed). A rule returns the findings detected inside ``[date_from, date_to]``. Screening a range in one
go therefore gives the same findings as screening each day of it in turn, and a pattern spanning several
nights is raised once, not every night.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from schemas.canonical import SPEND_KINDS as CANONICAL_SPEND_KINDS
from schemas.council_policy import THRESHOLD_DEFAULTS, CouncilPolicy
from schemas.mcc import CASH_LIKE_MCCS, GROUPS
from schemas.money import pounds
from screening.findings import Finding

LONDON = "Europe/London"
DAY = dt.timedelta(days=1)

RULE_NAMES: tuple[str, ...] = (
    "restricted_mcc",
    "unapproved_payee",
    "cash_not_allowed",
    "cash_over_limit",
    "spending_abroad",
    "spend_after_death",
    "spend_in_hospital",
    "drain_after_load",
    "cash_spike",
    "new_payee_burst",
    "dormant_card",
    "unusual_hours",
    "velocity",
)
# Findings other areas hand over through ``record_findings`` (not computed here).
EXTERNAL_RULES: tuple[str, ...] = ("contributions_stopped",)

SEVERITY: dict[str, str] = {
    "restricted_mcc": "medium",
    "unapproved_payee": "medium",
    "cash_not_allowed": "medium",
    "cash_over_limit": "low",
    "spending_abroad": "low",
    "spend_after_death": "critical",
    "spend_in_hospital": "high",
    "drain_after_load": "high",
    "cash_spike": "high",
    "new_payee_burst": "high",
    "dormant_card": "medium",
    "unusual_hours": "medium",
    "velocity": "medium",
    "contributions_stopped": "medium",
}

# The council thresholds each rule reads (names and defaults in schemas.council_policy.THRESHOLD_DEFAULTS).
PARAMS_BY_RULE: dict[str, tuple[str, ...]] = {
    "drain_after_load": ("drain_share", "drain_window_hours"),
    "cash_spike": ("spike_baseline_weeks", "spike_mad_multiplier", "spike_floor_pence", "spike_min_history_weeks"),
    "new_payee_burst": ("new_payee_burst_count", "new_payee_window_days"),
    "dormant_card": ("dormant_days",),
    "unusual_hours": ("unusual_hours_start", "unusual_hours_end", "unusual_hours_min_count", "unusual_hours_window_days"),
    "velocity": ("velocity_count", "velocity_window_minutes"),
}
NUMERIC_PARAMS: tuple[str, ...] = tuple(p for ps in PARAMS_BY_RULE.values() for p in ps)
FLOAT_PARAMS: frozenset[str] = frozenset({"drain_share", "spike_mad_multiplier"})

CARD_KINDS: tuple[str, ...] = ("card_purchase", "cash")  # card-present or card-not-present use of the card
SPEND_KINDS: tuple[str, ...] = tuple(sorted(CANONICAL_SPEND_KINDS))  # one definition (table client_days uses it)
HOME_COUNTRIES: tuple[str, ...] = ("GBR", "GB", "UK")
# MCC groups that are cash in all but name: counted with cash by cash_spike.

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


# --- small helpers --------------------------------------------------------------------------------
def gbp(pence: int | float | None) -> str:
    """Pence as pounds for people: 38000 -> '£380.00'."""
    return pounds(None if pence is None else int(round(pence)), none="£0.00")


def last4(number: str | None) -> str:
    """Only the last four digits of an account number ever leave the system."""
    return (number or "")[-4:] or "????"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


_NAME_TOKEN = re.compile(r"[A-Z]+")


def name_tokens(name: str | None) -> list[str]:
    """Upper-case letter tokens of a name: punctuation, case and order stop mattering."""
    return _NAME_TOKEN.findall((name or "").upper().replace("'", ""))


def names_match(a: str | None, b: str | None) -> bool:
    """Tolerant person/organisation name match: "MARY JONES" = "Jones M" = "JONES, MARY" = "M. Jones".

    Why tolerant: banks and people write the same payee differently; a strict comparison would make
    "known payee, new account" versus "unknown person" depend on punctuation. Two names match when they
    share a full word (two letters or more) and every other word of the shorter name equals, or is the
    initial of, a distinct word of the longer one.
    """
    ta, tb = name_tokens(a), name_tokens(b)
    if not ta or not tb:
        return False
    short, long_ = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    if not any(len(t) > 1 and t in long_ for t in short):
        return False

    def same(t: str, p: str) -> bool:
        return t == p or (len(t) == 1 and p.startswith(t)) or (len(p) == 1 and t.startswith(p))

    pool = list(long_)
    for t in sorted(short, key=len, reverse=True):  # full words first, then initials
        hit = next((p for p in pool if p == t), None) or next((p for p in pool if same(t, p)), None)
        if hit is None:
            return False
        pool.remove(hit)
    return True


# --- inputs ---------------------------------------------------------------------------------------
def prepare_items(transactions: pl.DataFrame) -> pl.DataFrame:
    """Canonical transactions (``records.transactions.load_transactions``) -> the card items rules read.

    Keeps settled items and pending items still waiting to settle; drops declined and released items and
    any pending authorisation that a later settlement, release or decline names (provider B sends the
    authorisation and its clearing as two events; counting both would double the spend). A settlement
    that completes a seen authorisation takes the authorisation's time: the moment the card was used.
    """
    t = transactions.filter(pl.col("client_id").is_not_null())
    closers = (
        t.filter(pl.col("status").is_in(["settled", "released", "declined"]) & pl.col("related_txn_id").is_not_null())
        .select("provider", pl.col("related_txn_id").alias("provider_txn_id"))
        .unique()
    )
    pending = t.filter(pl.col("status") == "pending")
    auth_at = pending.select("provider", pl.col("provider_txn_id").alias("related_txn_id"), pl.col("occurred_at_utc").alias("_auth_at"))
    settled = (
        t.filter(pl.col("status") == "settled")
        .join(auth_at.unique(["provider", "related_txn_id"]), on=["provider", "related_txn_id"], how="left")
        .with_columns(pl.coalesce("_auth_at", "occurred_at_utc").alias("occurred_at_utc"))
        .drop("_auth_at")
    )
    live = pl.concat([settled, pending.join(closers, on=["provider", "provider_txn_id"], how="anti")], how="diagonal_relaxed")
    at_london = pl.col("occurred_at_utc").dt.convert_time_zone(LONDON).dt.replace_time_zone(None)
    spend = pl.col("kind").is_in(SPEND_KINDS) & (pl.col("amount_pence") < 0)
    out = live.select(
        (pl.col("provider") + ":" + pl.col("provider_txn_id")).alias("txn"),
        "provider",
        "account_id",
        "client_id",
        "council",
        "kind",
        "status",
        pl.col("amount_pence").cast(pl.Int64),
        pl.when(spend).then(-pl.col("amount_pence")).otherwise(0).cast(pl.Int64).alias("out_pence"),
        pl.col("occurred_at_utc").cast(pl.Datetime("us", "UTC")).alias("at_utc"),
        at_london.cast(pl.Datetime("us")).alias("at_london"),
        at_london.dt.date().alias("london_date"),
        pl.when(pl.col("status") == "settled").then(pl.coalesce("posted_date", at_london.dt.date())).otherwise(None).alias("posted_date"),
        "mcc",
        "merchant_country",
        "merchant_name",
        "payee_name",
        "payee_sort_code",
        "payee_account_number",
    )
    return out.sort("at_utc", "txn")


def empty_items() -> pl.DataFrame:
    return pl.DataFrame(schema=ITEM_SCHEMA)


def _policy_value(policy: CouncilPolicy | None, name: str) -> Any:
    return policy.threshold(name) if policy is not None else THRESHOLD_DEFAULTS[name]


def client_overrides(councils: Mapping[str, CouncilPolicy]) -> dict[str, dict[str, Any]]:
    """Per-client parameter overrides from every council's ``thresholds.client_thresholds``."""
    out: dict[str, dict[str, Any]] = {}
    for policy in councils.values():
        for client, params in dict(policy.threshold("client_thresholds") or {}).items():
            unknown = sorted(set(params) - set(NUMERIC_PARAMS))
            if unknown:
                raise ValueError(
                    f"councils.yaml: council {policy.name!r}: client_thresholds for {client}: unknown parameter(s) "
                    f"{', '.join(unknown)}; known: {', '.join(NUMERIC_PARAMS)}"
                )
            out[str(client)] = dict(params)
    return out


def allowed_mccs(councils: Mapping[str, CouncilPolicy]) -> dict[str, list[str]]:
    """Per-client MCC exceptions (``thresholds.allowed_mcc_by_client``), group names expanded to codes."""
    out: dict[str, list[str]] = {}
    for policy in councils.values():
        for client, entries in dict(policy.threshold("allowed_mcc_by_client") or {}).items():
            codes: list[str] = []
            for entry in entries or []:
                entry = str(entry).strip()
                if entry in GROUPS:
                    codes.extend(sorted(GROUPS[entry]))
                elif entry.isdigit() and len(entry) == 4:
                    codes.append(entry)
                else:
                    raise ValueError(
                        f"councils.yaml: council {policy.name!r}: allowed_mcc_by_client for {client}: {entry!r} "
                        "is neither a 4-digit MCC nor a group name"
                    )
            out[str(client)] = sorted(set(codes))
    return out


def client_params(cardholders: pl.DataFrame, councils: Mapping[str, CouncilPolicy]) -> pl.DataFrame:
    """One row per client: card, cash terms and every rule parameter, the client's override winning.

    Why a frame: rules join it to the items so each client's own thresholds apply in one vectorised pass.
    """
    overrides = client_overrides(councils)
    allowed = allowed_mccs(councils)
    council_rows = []
    for name, policy in councils.items():
        restricted = sorted({m for g in policy.restricted_mcc_groups if g != "cash" for m in GROUPS[g]})
        council_rows.append(
            {"council": name, "_restricted": restricted, **{p: float(_policy_value(policy, p)) for p in NUMERIC_PARAMS}}
        )
    council_schema = {"council": pl.Utf8, "_restricted": pl.List(pl.Utf8), **{p: pl.Float64 for p in NUMERIC_PARAMS}}
    council_frame = pl.DataFrame(council_rows, schema=council_schema)
    ov_rows = [
        {"client_id": c, **{f"_ov_{p}": (float(v[p]) if p in v else None) for p in NUMERIC_PARAMS}} for c, v in overrides.items()
    ]
    ov_frame = pl.DataFrame(ov_rows, schema={"client_id": pl.Utf8, **{f"_ov_{p}": pl.Float64 for p in NUMERIC_PARAMS}})
    al_frame = pl.DataFrame(
        [{"client_id": c, "allowed_mcc": v} for c, v in allowed.items()],
        schema={"client_id": pl.Utf8, "allowed_mcc": pl.List(pl.Utf8)},
    )
    ch = cardholders.select(
        "client_id",
        "council",
        "provider",
        "account_id",
        "opened",
        "closed",
        "cash_allowed",
        "cash_weekly_limit_pence",
        "safeguarding_email",
    )
    out = (
        ch.join(council_frame, on="council", how="left")
        .join(ov_frame, on="client_id", how="left")
        .join(al_frame, on="client_id", how="left")
    )
    fills = []
    for p in NUMERIC_PARAMS:
        value = pl.coalesce(f"_ov_{p}", p, pl.lit(float(THRESHOLD_DEFAULTS[p])))
        fills.append(value.cast(pl.Float64 if p in FLOAT_PARAMS else pl.Int64).alias(p))
    out = out.with_columns(
        *fills,
        pl.col("allowed_mcc").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))),
    ).with_columns(
        pl.col("_restricted").fill_null(pl.lit([], dtype=pl.List(pl.Utf8))).list.set_difference("allowed_mcc").alias("restricted_mccs")
    )
    return out.drop([c for c in out.columns if c.startswith("_")]).unique("client_id", keep="last", maintain_order=True)


ACTIVITY_SCHEMA = {"client_id": pl.Utf8, "first_seen": pl.Date, "last_spend_day": pl.Date}


@dataclass(frozen=True)
class ScreenInput:
    """Everything the rules read, as immutable data.

    ``items`` is ``prepare_items`` output: complete (every kind) from ``complete_from``; before that it may
    hold only the history a baseline needs (cash, bank payments, loads). Findings are returned for patterns
    detected in ``[date_from, date_to]``.
    """

    items: pl.DataFrame
    clients: pl.DataFrame  # client_params()
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


def build_input(
    transactions: pl.DataFrame,
    ref: Any,
    date_from: dt.date,
    date_to: dt.date,
    *,
    complete_from: dt.date | None = None,
) -> ScreenInput:
    """A ``ScreenInput`` from canonical transactions and ``ReferenceData`` (pure)."""
    return ScreenInput(
        items=prepare_items(transactions),
        clients=client_params(ref.cardholders, ref.councils),
        payees=ref.payees,
        events=ref.client_events,
        councils=ref.councils,
        date_from=date_from,
        date_to=date_to,
        complete_from=complete_from if complete_from is not None else date_from,
        overrides=client_overrides(ref.councils),
    )


def _largest(clients: pl.DataFrame, param: str) -> float:
    """The largest value of a screening parameter over the clients (the council default when none)."""
    v = clients[param].max() if clients.height and param in clients.columns else None
    return float(v) if v is not None else float(THRESHOLD_DEFAULTS[param])


def lookback_days(clients: pl.DataFrame) -> tuple[int, int]:
    """(days of complete history, days of cash/payment history) the rules need before the first screened day."""
    complete = int(
        max(
            _largest(clients, "dormant_days"),
            _largest(clients, "new_payee_window_days"),
            _largest(clients, "unusual_hours_window_days"),
            _largest(clients, "drain_window_hours") / 24 + 1,
        )
    ) + 7
    baseline = int(_largest(clients, "spike_baseline_weeks") + 2) * 7
    return complete, max(complete, baseline)


def near_days(clients: pl.DataFrame) -> int:
    """Days before the first screened day over which the rules need every item, not only what
    ``screening.run.load_input`` selects from older history: a drain window (a load's spending within
    hours) or a velocity window that starts before the first screened day, and a clearing whose
    authorisation came a day or two earlier."""
    drain_days = -(-_largest(clients, "drain_window_hours") // 24)
    velocity_days = -(-_largest(clients, "velocity_window_minutes") // 1440)
    return int(max(drain_days, velocity_days, 1)) + 1


def velocity_window(clients: pl.DataFrame) -> dt.timedelta:
    """The longest velocity window of any client: how far before the first screened day a burst's
    first item can lie."""
    return dt.timedelta(minutes=_largest(clients, "velocity_window_minutes"))


def night_utc_hours(clients: pl.DataFrame) -> set[int]:
    """UTC hours in which any client's night (unusual_hours_start..end, London time) can fall: London
    is UTC or UTC+1, so a London hour h is UTC hour h or h-1. The unusual-hours rule needs older card
    use only at these hours."""
    pairs = (
        clients.select("unusual_hours_start", "unusual_hours_end").unique().rows()
        if clients.height
        else [(THRESHOLD_DEFAULTS["unusual_hours_start"], THRESHOLD_DEFAULTS["unusual_hours_end"])]
    )
    london: set[int] = set()
    for start, end in pairs:
        if start is None or end is None:
            continue
        start, end = int(start), int(end)
        london |= set(range(start, end)) if start <= end else set(range(start, 24)) | set(range(0, end))
    return london | {(h - 1) % 24 for h in london}


# --- turning result rows into findings -------------------------------------------------------------
def _policy_text(council: str, names: Iterable[str], row: Mapping[str, Any]) -> str:
    parts = [f"{n}={row[n]}" for n in names if n in row]
    return f"{council} thresholds: {', '.join(parts)}" if parts else council


def _override_text(inp: ScreenInput, rule: str, client_id: str) -> str | None:
    ov = inp.overrides.get(client_id) or {}
    used = {k: v for k, v in ov.items() if k in PARAMS_BY_RULE.get(rule, ())}
    if not used:
        return None
    return f"client {client_id}: " + ", ".join(f"{k}={v}" for k, v in sorted(used.items()))


def _findings(
    inp: ScreenInput,
    rule: str,
    df: pl.DataFrame,
    explain: Callable[[dict], str],
    *,
    policy: Callable[[dict], str] | None = None,
    override: Callable[[dict], str | None] | None = None,
    details: Callable[[dict], dict] | None = None,
) -> list[Finding]:
    """Rows (client_id, london_date, detected_on, evidence, amount_pence, ...) -> findings in the window."""
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
        assert evidence, f"{rule}: a finding carries its evidence"
        council = row.get("council") or ""
        out.append(
            Finding(
                rule=rule,
                council=council,
                client_id=row["client_id"],
                london_date=row["london_date"],
                severity=SEVERITY[rule],
                explanation=explain(row),
                evidence_txn_ids=evidence,
                amount_pence=int(row["amount_pence"]) if row.get("amount_pence") is not None else None,
                provider=row.get("provider"),
                account_id=row.get("account_id"),
                policy=policy(row) if policy else _policy_text(council, PARAMS_BY_RULE.get(rule, ()), row),
                override=override(row) if override else _override_text(inp, rule, row["client_id"]),
                details={"detected_on": row["detected_on"].isoformat(), **(details(row) if details else {})},
            )
        )
    return out


def _with_params(inp: ScreenInput, df: pl.DataFrame, cols: Iterable[str]) -> pl.DataFrame:
    cols = [c for c in cols if c not in df.columns or c == "client_id"]
    return df.join(inp.clients.select("client_id", *[c for c in cols if c != "client_id"]), on="client_id", how="inner")


def _daily(df: pl.DataFrame, extra: Iterable[pl.Expr] = ()) -> pl.DataFrame:
    """Group items per client and day: the one finding a day for per-item rules."""
    return df.group_by("client_id", "london_date").agg(
        pl.col("txn").alias("evidence"),
        pl.col("out_pence").sum().alias("amount_pence"),
        pl.len().alias("n"),
        *extra,
    ).with_columns(pl.col("london_date").alias("detected_on"))


def _items(inp: ScreenInput, kinds: Iterable[str], *, complete_only: bool = True) -> pl.DataFrame:
    it = inp.items.filter(pl.col("kind").is_in(list(kinds)))
    if complete_only:
        it = it.filter(pl.col("london_date") >= inp.complete_from)
    return it


def _kinds_text(kinds: Iterable[str]) -> str:
    counts: dict[str, int] = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    words = {"cash": ("cash withdrawal", None), "card_purchase": ("card purchase", None), "payment_to_payee": ("bank payment", None)}
    return ", ".join(_plural(n, *words.get(k, (k.replace("_", " "), None))) for k, n in sorted(counts.items()))


# --- restricted spending ---------------------------------------------------------------------------
def restricted_mcc(inp: ScreenInput) -> list[Finding]:
    """Card purchases at a merchant category the client's council restricts (minus the client's exceptions)."""
    it = _with_params(inp, _items(inp, ["card_purchase"]).filter(pl.col("mcc").is_not_null() & (pl.col("out_pence") > 0)), ["restricted_mccs", "allowed_mcc"])
    it = it.filter(pl.col("restricted_mccs").list.contains(pl.col("mcc")))
    group_of = {m: g for g, ms in GROUPS.items() for m in ms}
    df = _daily(it, [pl.struct("mcc", "out_pence").alias("parts"), pl.col("allowed_mcc").first().alias("allowed_mcc")])

    def explain(r: dict) -> str:
        by: dict[str, int] = {}
        for p in r["parts"]:
            key = f"{group_of.get(p['mcc'], '?')} (MCC {p['mcc']})"
            by[key] = by.get(key, 0) + p["out_pence"]
        parts = "; ".join(f"{k} {gbp(v)}" for k, v in sorted(by.items()))
        return (
            f"{_plural(r['n'], 'card purchase')} totalling {gbp(r['amount_pence'])} at restricted merchant categories "
            f"on {r['london_date']}: {parts}."
        )

    def policy(r: dict) -> str:
        pol = inp.councils.get(r["council"])
        groups = ", ".join(g for g in pol.restricted_mcc_groups if g != "cash") if pol else ""
        return f"{r['council']} restricted_mcc_groups: {groups}"

    def override(r: dict) -> str | None:
        return f"client {r['client_id']} allowed MCC {', '.join(r['allowed_mcc'])}" if r["allowed_mcc"] else None

    return _findings(inp, "restricted_mcc", df, explain, policy=policy, override=override)


def _payments_with_approval(inp: ScreenInput) -> pl.DataFrame:
    """Bank payments out, each with whether its sort code + account was an approved payee that day."""
    pay = _items(inp, ["payment_to_payee"]).filter(pl.col("out_pence") > 0)
    pv = inp.payees.select(
        "client_id",
        pl.col("sort_code").alias("payee_sort_code"),
        pl.col("account_number").alias("payee_account_number"),
        "approved_from",
        "approved_to",
        pl.col("kind").alias("payee_kind"),
    )
    j = pay.select("txn", "client_id", "london_date", "payee_sort_code", "payee_account_number").join(
        pv, on=["client_id", "payee_sort_code", "payee_account_number"], how="left"
    )
    ok = (pl.col("approved_from") <= pl.col("london_date")) & (
        pl.col("approved_to").is_null() | (pl.col("london_date") <= pl.col("approved_to"))
    )
    status = j.group_by("txn").agg(
        ok.fill_null(False).any().alias("approved"),
        pl.col("approved_from").is_not_null().any().alias("known_account"),
        pl.col("approved_from").filter(ok.fill_null(False)).min().alias("approved_since"),
        pl.col("approved_from").min().alias("first_approved_from"),
        pl.col("approved_to").max().alias("last_approved_to"),
        pl.col("payee_kind").drop_nulls().first().alias("payee_kind"),
    )
    return pay.join(status, on="txn", how="left")


def unapproved_payee(inp: ScreenInput) -> list[Finding]:
    """Bank payments (no MCC) to a sort code + account that is not an approved payee of the client that day.

    The tolerant name match only explains: a known payee's name on a new account reads "account changed for
    a known payee name", anything else "unknown payee"; matching itself is by sort code and account.
    """
    pay = _payments_with_approval(inp).filter(~pl.col("approved"))
    names: dict[str, list[tuple[str, str]]] = {}
    if pay.height:
        clients = pay["client_id"].unique().to_list()
        for c, n, acct in inp.payees.filter(pl.col("client_id").is_in(clients)).select("client_id", "payee_name", "account_number").iter_rows():
            names.setdefault(c, []).append((n, acct))
    # One episode per payee account: every day's payments to it are findings about the same first day
    # (the case collects them), so a weekly standing order to an unknown person is one question, not many.
    df = (
        pay.group_by("client_id", "payee_sort_code", "payee_account_number", "london_date")
        .agg(
            pl.col("txn").alias("evidence"),
            pl.col("out_pence").sum().alias("amount_pence"),
            pl.len().alias("n"),
            pl.struct(
                "out_pence", "payee_name", "payee_account_number", "payee_sort_code", "known_account",
                "first_approved_from", "last_approved_to",
            ).alias("parts"),
        )
        .with_columns(
            pl.col("london_date").alias("detected_on"),
            pl.col("london_date").min().over("client_id", "payee_sort_code", "payee_account_number").alias("first_paid"),
        )
        .with_columns(pl.col("first_paid").alias("london_date"))
    )

    def why(r: dict, p: dict) -> str:
        acct = f"account ending {last4(p['payee_account_number'])}"
        if p["known_account"]:
            if p["first_approved_from"] and p["first_approved_from"] > r["detected_on"]:
                return f"{acct}: approved payee, but not until {p['first_approved_from']}"
            return f"{acct}: payee's approval ended {p['last_approved_to']}"
        known = [a for n, a in names.get(r["client_id"], []) if names_match(n, p["payee_name"])]
        if known:
            return f"{acct}: account changed for a known payee name (approved account ends {last4(known[0])})"
        return f"{acct}: unknown payee, not on the approved list"

    def explain(r: dict) -> str:
        p = r["parts"][0]
        since = f" (first unapproved payment seen {r['london_date']})" if r["london_date"] != r["detected_on"] else ""
        return (
            f"{_plural(r['n'], 'bank payment')} totalling {gbp(r['amount_pence'])} on {r['detected_on']} to a payee not "
            f"approved that day{since}: {why(r, p)}."
        )

    def policy(r: dict) -> str:
        return f"{r['council']} approved payees (payees.csv: sort code + account, approved_from..approved_to)"

    return _findings(inp, "unapproved_payee", df, explain, policy=policy, override=lambda r: None)


def cash_not_allowed(inp: ScreenInput) -> list[Finding]:
    """Cash taken from a card whose support plan does not allow cash (cardholders.cash_allowed = N)."""
    it = _with_params(inp, _items(inp, ["cash"]).filter(pl.col("out_pence") > 0), ["cash_allowed"])
    df = _daily(it.filter(~pl.col("cash_allowed").fill_null(False)))

    def explain(r: dict) -> str:
        return (
            f"{_plural(r['n'], 'cash withdrawal')} totalling {gbp(r['amount_pence'])} on {r['london_date']}; "
            "the client's support plan does not allow cash."
        )

    return _findings(
        inp, "cash_not_allowed", df, explain,
        policy=lambda r: "support plan (cardholders.csv): cash_allowed=N", override=lambda r: None,
    )


def cash_over_limit(inp: ScreenInput) -> list[Finding]:
    """Cash in a Monday-to-Sunday week above the client's cash_weekly_limit (raised on the day it is crossed)."""
    it = _with_params(inp, _items(inp, ["cash"]).filter(pl.col("out_pence") > 0), ["cash_allowed", "cash_weekly_limit_pence"])
    it = it.filter(pl.col("cash_allowed").fill_null(False) & pl.col("cash_weekly_limit_pence").is_not_null())
    it = it.with_columns(pl.col("london_date").dt.truncate("1w").alias("week")).sort("client_id", "at_utc", "txn")
    it = it.with_columns(pl.col("out_pence").cum_sum().over("client_id", "week").alias("cum"))
    crossing = (
        it.filter(pl.col("cum") > pl.col("cash_weekly_limit_pence"))
        .group_by("client_id", "week")
        .agg(pl.col("london_date").min().alias("detected_on"))
    )
    df = (
        it.join(crossing, on=["client_id", "week"])
        .filter(pl.col("london_date") <= pl.col("detected_on"))
        .group_by("client_id", "week", "detected_on")
        .agg(
            pl.col("txn").alias("evidence"),
            pl.col("out_pence").sum().alias("amount_pence"),
            pl.len().alias("n"),
            pl.col("cash_weekly_limit_pence").first().alias("limit"),
        )
        .with_columns(pl.col("detected_on").alias("london_date"))
    )

    def explain(r: dict) -> str:
        return (
            f"{gbp(r['amount_pence'])} cash in {_plural(r['n'], 'withdrawal')} in the week of {r['week']} by "
            f"{r['detected_on']}, over the client's limit of {gbp(r['limit'])} a week by {gbp(r['amount_pence'] - r['limit'])}."
        )

    return _findings(
        inp, "cash_over_limit", df, explain,
        policy=lambda r: f"support plan (cardholders.csv): cash_weekly_limit={gbp(r['limit'])}", override=lambda r: None,
    )


def spending_abroad(inp: ScreenInput) -> list[Finding]:
    """Card use at a merchant outside the UK (merchant_country not GBR/GB)."""
    it = _items(inp, CARD_KINDS).filter(
        pl.col("merchant_country").is_not_null() & ~pl.col("merchant_country").str.to_uppercase().is_in(HOME_COUNTRIES)
    )
    df = _daily(it, [pl.col("merchant_country").unique().sort().alias("countries"), pl.col("kind").alias("kinds")])

    def explain(r: dict) -> str:
        return (
            f"{_kinds_text(r['kinds'])} totalling {gbp(r['amount_pence'])} outside the UK ({', '.join(r['countries'])}) "
            f"on {r['london_date']}."
        )

    return _findings(inp, "spending_abroad", df, explain, policy=lambda r: f"{r['council']}: spending abroad is flagged", override=lambda r: None)


# --- life events ------------------------------------------------------------------------------------
def _episode_days(spends: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """Per key and spending day: that day's evidence, with the episode's first day as london_date."""
    daily = spends.group_by(*key, "london_date").agg(
        pl.col("txn").alias("evidence"),
        pl.col("out_pence").sum().alias("amount_pence"),
        pl.col("kind").alias("kinds"),
    )
    return daily.with_columns(
        pl.col("london_date").alias("detected_on"),
        pl.col("london_date").min().over(key).alias("episode_start"),
    ).with_columns(pl.col("episode_start").alias("london_date"))


def spend_after_death(inp: ScreenInput) -> list[Finding]:
    """Any spending (card, cash or bank payment) on a day after the client's recorded death."""
    deaths = inp.events.filter(pl.col("event") == "deceased").group_by("client_id").agg(pl.col("date").min().alias("death"))
    sp = _items(inp, SPEND_KINDS).filter(pl.col("out_pence") > 0).join(deaths, on="client_id")
    sp = sp.filter(pl.col("london_date") > pl.col("death"))
    df = _episode_days(sp, ["client_id", "death"])

    def explain(r: dict) -> str:
        days = (r["detected_on"] - r["death"]).days
        return (
            f"{_kinds_text(r['kinds'])} totalling {gbp(r['amount_pence'])} on {r['detected_on']}, "
            f"{_plural(days, 'day')} after the client's recorded death on {r['death']} (client_events.csv)."
        )

    return _findings(inp, "spend_after_death", df, explain, policy=lambda r: f"{r['council']}: client_events deceased", override=lambda r: None)


def _stays(events: pl.DataFrame) -> pl.DataFrame:
    """Hospital stays and respite periods: (client_id, stay, start, end) with end null while open."""
    pairs = (("hospital_admission", "hospital_discharge", "hospital stay"), ("respite_start", "respite_end", "respite"))
    frames = []
    for first, last, label in pairs:
        starts = events.filter(pl.col("event") == first).select("client_id", pl.col("date").alias("start")).sort("start")
        ends = events.filter(pl.col("event") == last).select("client_id", pl.col("date").alias("end")).sort("end")
        j = starts.join_asof(ends, left_on="start", right_on="end", by="client_id", strategy="forward", check_sortedness=False)
        frames.append(j.with_columns(pl.lit(label).alias("stay")))
    return pl.concat(frames).select("client_id", "stay", "start", "end")


def spend_in_hospital(inp: ScreenInput) -> list[Finding]:
    """Card or cash use strictly inside a hospital stay or residential respite (client_events).

    Bank payments are left out on purpose: a personal assistant's retainer during a stay is usual and is
    checked by unapproved_payee; it is the card itself being used that suggests someone else has it.
    """
    stays = _stays(inp.events)
    sp = _items(inp, CARD_KINDS).filter(pl.col("out_pence") > 0).join(stays, on="client_id")
    sp = sp.filter((pl.col("london_date") > pl.col("start")) & (pl.col("end").is_null() | (pl.col("london_date") < pl.col("end"))))
    df = _episode_days(sp, ["client_id", "stay", "start", "end"])

    def explain(r: dict) -> str:
        until = f"until {r['end']}" if r["end"] else "with no end recorded"
        return (
            f"{_kinds_text(r['kinds'])} totalling {gbp(r['amount_pence'])} on {r['detected_on']} while the client was "
            f"in a {r['stay']} from {r['start']} {until} (client_events.csv)."
        )

    return _findings(inp, "spend_in_hospital", df, explain, policy=lambda r: f"{r['council']}: client_events {r['stay']}", override=lambda r: None)


# --- money movement patterns -----------------------------------------------------------------------
# What drain after load counts as a load, and where its window ends (``load_at``: the load's time; the
# client's drain_window_hours joined): shared with screening.run.drain_loads, which decides whose history
# the rule needs, so the two cannot come apart.
IS_DRAIN_LOAD = (pl.col("kind") == "council_load") & (pl.col("amount_pence") > 0)


def drain_window_end(load_at: pl.Expr) -> pl.Expr:
    """The last instant a spend counts towards the drain of a load made at ``load_at``."""
    return load_at + pl.duration(hours=pl.col("drain_window_hours"))


def drain_after_load(inp: ScreenInput) -> list[Finding]:
    """A share (drain_share) of a council load left the card within drain_window_hours of the load."""
    loads = _with_params(
        inp,
        inp.items.filter(IS_DRAIN_LOAD).select(
            "client_id", pl.col("txn").alias("load_txn"), pl.col("at_utc").alias("load_at"),
            pl.col("london_date").alias("load_date"), pl.col("amount_pence").alias("load_pence"),
        ),
        ["drain_share", "drain_window_hours"],
    )
    spends = inp.items.filter(pl.col("out_pence") > 0).select("client_id", "txn", "at_utc", "london_date", "kind", "out_pence")
    j = loads.join(spends, on="client_id").filter(
        (pl.col("at_utc") > pl.col("load_at"))
        & (pl.col("at_utc") <= drain_window_end(pl.col("load_at")))
    ).sort("load_txn", "at_utc", "txn")
    j = j.with_columns(pl.col("out_pence").cum_sum().over("load_txn").alias("cum"))
    need = pl.col("drain_share") * pl.col("load_pence")
    cross = j.filter(pl.col("cum") >= need).group_by("load_txn").agg(pl.col("london_date").min().alias("detected_on"))
    df = (
        j.join(cross, on="load_txn")
        .filter(pl.col("london_date") <= pl.col("detected_on"))
        .group_by("client_id", "load_txn", "detected_on")
        .agg(
            pl.col("txn").alias("spend_txns"),
            pl.col("kind").alias("kinds"),
            pl.col("out_pence").sum().alias("amount_pence"),
            pl.col("at_utc").max().alias("last_at"),
            pl.col("load_at").first(),
            pl.col("load_date").first().alias("london_date"),
            pl.col("load_pence").first(),
            pl.col("drain_share").first(),
            pl.col("drain_window_hours").first(),
        )
        .with_columns(pl.concat_list(pl.col("load_txn"), pl.col("spend_txns")).alias("evidence"))
    )

    def explain(r: dict) -> str:
        hours = max(1, int(-(-(r["last_at"] - r["load_at"]).total_seconds() // 3600)))
        share = min(r["amount_pence"], r["load_pence"])
        return (
            f"{gbp(share)} of a {gbp(r['load_pence'])} load on {r['london_date']} left the card within "
            f"{_plural(hours, 'hour')}: {_kinds_text(r['kinds'])} totalling {gbp(r['amount_pence'])} "
            f"(threshold {r['drain_share']:.0%} within {r['drain_window_hours']} hours)."
        )

    return _findings(inp, "drain_after_load", df, explain)


def cash_spike(inp: ScreenInput) -> list[Finding]:
    """Cash (and cash-like purchases) in 7 days far above the client's own weekly history.

    Baseline: the weekly totals of the trailing spike_baseline_weeks fully observed weeks; spike when the
    7-day total reaches median + max(spike_mad_multiplier x MAD, spike_floor_pence). Only clients whose plan
    allows cash are compared (any cash on the others is cash_not_allowed). With fewer than
    spike_min_history_weeks observed weeks (a new client) only the floor applies. The pattern starts on the
    latest day from which the recent cash alone reaches that threshold; one finding per spike (a spike
    already raised in the previous 6 days is the same spike).
    """
    cash_like = list(CASH_LIKE_MCCS)
    cash = inp.items.filter(
        (pl.col("out_pence") > 0) & ((pl.col("kind") == "cash") | ((pl.col("kind") == "card_purchase") & pl.col("mcc").is_in(cash_like)))
    )
    observed = _first_seen(inp, inp.items).rename({"first_seen": "observed_from"})
    daily = cash.group_by("client_id", "london_date").agg(pl.col("out_pence").sum().alias("day_pence"), pl.col("txn"))
    params = ["spike_baseline_weeks", "spike_mad_multiplier", "spike_floor_pence", "spike_min_history_weeks"]
    cand = _with_params(
        inp,
        daily.filter(pl.col("london_date").is_between(inp.date_from - 7 * DAY, inp.date_to)).select("client_id", pl.col("london_date").alias("day")),
        [*params, "cash_allowed"],
    ).join(observed, on="client_id", how="left")
    # Cash on a card that may not take cash at all is cash_not_allowed's finding, not a spike.
    cand = cand.filter(pl.col("cash_allowed").fill_null(False))
    if cand.height == 0:
        return []
    j = cand.join(daily, on="client_id").with_columns((pl.col("day") - pl.col("london_date")).dt.total_days().alias("offset"))
    j = j.filter((pl.col("offset") >= 0) & (pl.col("offset") < 7 * (pl.col("spike_baseline_weeks") + 1)))
    j = j.with_columns((pl.col("offset") // 7).alias("week"))
    cur = j.filter(pl.col("week") == 0).group_by("client_id", "day").agg(pl.col("day_pence").sum().alias("cur_pence"))
    weekly = j.filter(pl.col("week") > 0).group_by("client_id", "day", "week").agg(pl.col("day_pence").sum().alias("week_pence"))
    max_weeks = int(cand["spike_baseline_weeks"].max())
    grid = cand.join(pl.DataFrame({"week": list(range(1, max_weeks + 1))}, schema={"week": pl.Int64}), how="cross").filter(
        (pl.col("week") <= pl.col("spike_baseline_weeks"))
        & (pl.col("day") - pl.duration(days=7 * pl.col("week") + 6) >= pl.col("observed_from"))
    )
    grid = grid.join(weekly, on=["client_id", "day", "week"], how="left").with_columns(pl.col("week_pence").fill_null(0))
    base = grid.group_by("client_id", "day").agg(pl.col("week_pence").median().alias("median"), pl.len().alias("n_weeks"))
    mad = (
        grid.join(base, on=["client_id", "day"])
        .group_by("client_id", "day")
        .agg((pl.col("week_pence") - pl.col("median")).abs().median().alias("mad"))
    )
    s = (
        cand.join(cur, on=["client_id", "day"])
        .join(base, on=["client_id", "day"], how="left")
        .join(mad, on=["client_id", "day"], how="left")
        .with_columns(pl.col("median").fill_null(0.0), pl.col("mad").fill_null(0.0), pl.col("n_weeks").fill_null(0))
    )
    spread = pl.when(pl.col("n_weeks") >= pl.col("spike_min_history_weeks")).then(pl.col("spike_mad_multiplier") * pl.col("mad")).otherwise(0.0)
    s = s.with_columns((pl.col("median") + pl.max_horizontal(spread, pl.col("spike_floor_pence").cast(pl.Float64))).alias("threshold"))
    fired = s.filter(pl.col("cur_pence") >= pl.col("threshold")).sort("client_id", "day")
    # The same spike stays over the threshold for up to 6 more days: raise it once.
    fired = fired.with_columns(pl.col("day").shift(1).over("client_id").alias("_prev"))
    fired = fired.filter(pl.col("_prev").is_null() | ((pl.col("day") - pl.col("_prev")).dt.total_days() > 6))
    if fired.height == 0:
        return []
    # Start of the pattern: the latest day from which cash up to the detection day alone reaches the threshold.
    win = (
        fired.select("client_id", "day", "threshold")
        .join(daily, on="client_id")
        .filter(pl.col("london_date").is_between(pl.col("day") - 6 * DAY, pl.col("day")))
        .sort("client_id", "day", "london_date", descending=[False, False, True])
        .with_columns(pl.col("day_pence").cum_sum().over("client_id", "day").alias("suffix"))
    )
    starts = win.filter(pl.col("suffix") >= pl.col("threshold")).group_by("client_id", "day").agg(pl.col("london_date").max().alias("start"))
    ev = (
        win.join(starts, on=["client_id", "day"])
        .filter(pl.col("london_date") >= pl.col("start"))
        .group_by("client_id", "day")
        .agg(pl.col("txn").list.explode(keep_nulls=False, empty_as_null=False).alias("evidence"), pl.col("day_pence").sum().alias("amount_pence"), pl.col("start").first())
    )
    df = fired.join(ev, on=["client_id", "day"]).with_columns(
        pl.col("start").alias("london_date"), pl.col("day").alias("detected_on")
    )

    def explain(r: dict) -> str:
        basis = (
            f"against a usual {gbp(r['median'])} a week (median of {r['n_weeks']} weeks, MAD {gbp(r['mad'])})"
            if r["n_weeks"]
            else "with no earlier weeks to compare (new client: floor only)"
        )
        return (
            f"{gbp(r['cur_pence'])} cash in the 7 days to {r['day']}, {gbp(r['amount_pence'])} of it since {r['start']} "
            f"({_plural(len(r['evidence']), 'item')}), {basis}; threshold {gbp(r['threshold'])}."
        )

    return _findings(inp, "cash_spike", df, explain, details=lambda r: {"median_pence": r["median"], "mad_pence": r["mad"]})


def _bursts(ev: pl.DataFrame, keys: list[str], window: pl.Expr, min_count: pl.Expr) -> pl.DataFrame:
    """Episodes where at least ``min_count`` events of a key fall within ``window`` (a per-row duration).

    For each event, a forward as-of join finds the first event of the same key strictly after ``time -
    window``; the count in the window is the difference of their positions. Qualifying events whose windows
    overlap form one episode: (keys, start_at, detected_at, last_at, evidence, amount_pence, kinds).
    Linear in the events after the sort, whatever the window.
    """
    out_schema = {**{k: ev.schema[k] for k in keys}, "start_at": ev.schema["at_utc"], "detected_at": ev.schema["at_utc"]}
    if ev.height == 0:
        return pl.DataFrame(schema={**out_schema, "evidence": pl.List(pl.Utf8), "amount_pence": pl.Int64, "n": pl.UInt32})
    # Cheap pre-filter: any window lies within two consecutive window-sized buckets, so only events in a
    # bucket pair holding min_count events can be in a burst. Most cards never come close.
    ev = ev.with_columns(
        (pl.col("at_utc").dt.epoch("us") // (window.dt.total_microseconds())).alias("_b"), min_count.alias("_min")
    )
    counts = ev.group_by(*keys, "_b").agg(pl.len().alias("_c"), pl.col("_min").first())
    nxt = counts.select(*keys, (pl.col("_b") - 1).alias("_b"), pl.col("_c").alias("_c_next"))
    pairs = counts.join(nxt, on=[*keys, "_b"], how="left").filter(pl.col("_c") + pl.col("_c_next").fill_null(0) >= pl.col("_min"))
    hot = pl.concat([pairs.select(*keys, "_b"), pairs.select(*keys, (pl.col("_b") + 1).alias("_b"))]).unique()
    ev = ev.join(hot, on=[*keys, "_b"], how="semi").drop("_b")
    if ev.height == 0:
        return pl.DataFrame(schema={**out_schema, "evidence": pl.List(pl.Utf8), "amount_pence": pl.Int64, "n": pl.UInt32})
    ev = ev.sort(*keys, "at_utc", "txn").with_columns(pl.int_range(pl.len()).over(keys).alias("_i"))
    ev = ev.with_columns((pl.col("at_utc") - window).alias("_from"))
    right = ev.select(*keys, pl.col("at_utc").alias("_r_at"), pl.col("_i").alias("_first_i")).sort("_r_at")
    j = ev.sort("_from").join_asof(right, left_on="_from", right_on="_r_at", by=keys, strategy="forward", check_sortedness=False, allow_exact_matches=False)
    j = j.with_columns((pl.col("_i") - pl.col("_first_i") + 1).alias("_n")).filter(pl.col("_n") >= pl.col("_min"))
    j = j.sort(*keys, "at_utc").with_columns(pl.col("at_utc").shift(1).over(keys).alias("_prev_at"))
    j = j.with_columns((pl.col("_prev_at").is_null() | (pl.col("_r_at") > pl.col("_prev_at"))).cum_sum().alias("_ep"))
    eps = j.group_by(*keys, "_ep").agg(
        pl.col("_r_at").min().alias("start_at"), pl.col("at_utc").min().alias("detected_at"), pl.col("at_utc").max().alias("_last")
    )
    joined = ev.join(eps, on=keys).filter(pl.col("at_utc").is_between(pl.col("start_at"), pl.col("_last")))
    return joined.group_by(*keys, "_ep").agg(
        pl.col("start_at").first(),
        pl.col("detected_at").first(),
        pl.col("txn").alias("evidence"),
        pl.col("out_pence").sum().alias("amount_pence"),
        pl.len().alias("n"),
        pl.col("kind").alias("kinds"),
    ).drop("_ep")


def _dates(df: pl.DataFrame) -> pl.DataFrame:
    to_date = lambda c: pl.col(c).dt.convert_time_zone(LONDON).dt.date()  # noqa: E731
    return df.with_columns(to_date("start_at").alias("london_date"), to_date("detected_at").alias("detected_on"))


def new_payee_burst(inp: ScreenInput) -> list[Finding]:
    """new_payee_burst_count or more bank payments within new_payee_window_days to one new or unapproved payee.

    "New": not approved on the payment day, or approved within the window before it. Payees approved as an
    agency, payroll bureau or supplier are organisations, not the individuals this rule is about.
    """
    pay = _payments_with_approval(inp)
    window = pl.duration(days=pl.col("new_payee_window_days"))
    pay = _with_params(inp, pay, ["new_payee_burst_count", "new_payee_window_days"])
    new = ~pl.col("approved") | (pl.col("approved_since") > pl.col("london_date") - window)
    org = pl.col("payee_kind").is_in(["agency", "payroll_bureau", "supplier"]).fill_null(False) & pl.col("approved")
    pay = pay.filter(new & ~org)
    keys = ["client_id", "payee_sort_code", "payee_account_number"]
    b = _bursts(pay, keys, window, pl.col("new_payee_burst_count"))
    b = _with_params(inp, _dates(b), ["new_payee_burst_count", "new_payee_window_days"])

    def explain(r: dict) -> str:
        days = (r["detected_on"] - r["london_date"]).days + 1
        return (
            f"{_plural(r['n'], 'bank payment')} totalling {gbp(r['amount_pence'])} to one new or unapproved payee "
            f"(account ending {last4(r['payee_account_number'])}) within {_plural(days, 'day')} from {r['london_date']} "
            f"(threshold {r['new_payee_burst_count']} within {r['new_payee_window_days']} days)."
        )

    return _findings(inp, "new_payee_burst", b, explain)


def _first_seen(inp: ScreenInput, items: pl.DataFrame) -> pl.DataFrame:
    """Per client, the first day any of its items was seen: in ``items`` or in the summarised history."""
    return (
        pl.concat([items.select("client_id", pl.col("london_date").alias("first_seen")), inp.activity.select("client_id", "first_seen")])
        .group_by("client_id")
        .agg(pl.col("first_seen").min())
    )


def dormant_card(inp: ScreenInput) -> list[Finding]:
    """Loads keep arriving but nothing was spent (card, cash or bank payment) for dormant_days or more.

    A spend counts on the day money left the card (its posting day once settled, as the statement shows).

    A neglect signal, not a saving: care may not be being delivered. Silence explained by a recorded death,
    suspension, hospital stay or respite, or a closed card, is not raised.
    """
    it = inp.items.filter(pl.col("london_date") >= inp.complete_from)
    seen = _first_seen(inp, it)
    clients = _with_params(inp, seen, ["dormant_days", "opened", "closed"])
    # A spend counts on the day the money left the card: its posting day once settled (what the statement
    # shows), else the day of use. An authorisation that expired unsettled is not spending. Of older
    # history summarised in ``activity`` only the last spending day matters: a silent run ending before
    # it cannot end inside the screened days.
    spend_days = pl.concat(
        [
            it.filter(pl.col("out_pence") > 0).select("client_id", pl.coalesce("posted_date", "london_date").alias("london_date")),
            inp.activity.filter(pl.col("last_spend_day").is_not_null()).select("client_id", pl.col("last_spend_day").alias("london_date")),
        ]
    ).unique()
    n = pl.col("dormant_days")
    # Each spending day, the next one (or none yet) -> the silent run between them.
    gaps = spend_days.sort("client_id", "london_date").with_columns(pl.col("london_date").shift(-1).over("client_id").alias("next"))
    inner = gaps.select("client_id", (pl.col("london_date") + DAY).alias("start"), "next")
    # The silent run before the first spend we can see (or with no spend at all).
    firsts = spend_days.group_by("client_id").agg(pl.col("london_date").min().alias("next"))
    lead = clients.join(firsts, on="client_id", how="left").select(
        "client_id", pl.max_horizontal("first_seen", pl.col("opened").fill_null(pl.col("first_seen"))).alias("start"), "next"
    )
    runs = pl.concat([inner, lead], how="vertical_relaxed").join(clients.select("client_id", "dormant_days", "closed"), on="client_id")
    runs = runs.with_columns((pl.col("start") + pl.duration(days=n - 1)).alias("detected_on")).filter(
        (pl.col("next").is_null() | (pl.col("next") > pl.col("detected_on")))
        & (pl.col("detected_on") <= inp.date_to)
        & (pl.col("closed").is_null() | (pl.col("closed") > pl.col("detected_on")))
    )
    loads = it.filter(pl.col("kind") == "council_load").select("client_id", pl.col("txn").alias("load_txn"), pl.col("london_date").alias("load_date"), pl.col("amount_pence").alias("load_pence"))
    runs = runs.join(loads, on="client_id").filter(pl.col("load_date").is_between(pl.col("start"), pl.col("detected_on")))
    quiet_events = ["deceased", "suspended"]
    explained_by_event = inp.events.filter(pl.col("event").is_in(quiet_events)).select("client_id", pl.col("date").alias("ev_date"))
    stays = _stays(inp.events).select("client_id", pl.col("start").alias("s_start"), pl.col("end").alias("s_end"))
    df = runs.group_by("client_id", "start", "detected_on", "dormant_days").agg(
        pl.col("load_txn").alias("evidence"), pl.col("load_pence").sum().alias("amount_pence"), pl.len().alias("n_loads")
    )
    if df.height:
        bad1 = df.join(explained_by_event, on="client_id").filter(pl.col("ev_date") <= pl.col("detected_on")).select("client_id", "start").unique()
        bad2 = (
            df.join(stays, on="client_id")
            .filter((pl.col("s_start") <= pl.col("detected_on")) & (pl.col("s_end").is_null() | (pl.col("s_end") >= pl.col("start"))))
            .select("client_id", "start")
            .unique()
        )
        df = df.join(pl.concat([bad1, bad2]), on=["client_id", "start"], how="anti")
    df = df.with_columns(pl.col("start").alias("london_date"))

    def explain(r: dict) -> str:
        return (
            f"No card, cash or bank-payment spending for {r['dormant_days']} days from {r['start']} to {r['detected_on']} "
            f"while {_plural(r['n_loads'], 'load')} totalling {gbp(r['amount_pence'])} arrived: care may not be being delivered."
        )

    return _findings(inp, "dormant_card", df, explain)


def unusual_hours(inp: ScreenInput) -> list[Finding]:
    """unusual_hours_min_count or more card/cash uses at night (London hours start..end) within the window days."""
    params = ["unusual_hours_start", "unusual_hours_end", "unusual_hours_min_count", "unusual_hours_window_days"]
    it = _with_params(inp, _items(inp, CARD_KINDS).filter(pl.col("out_pence") > 0), params)
    h, s, e = pl.col("at_london").dt.hour().cast(pl.Int64), pl.col("unusual_hours_start"), pl.col("unusual_hours_end")
    night = pl.when(s <= e).then((h >= s) & (h < e)).otherwise((h >= s) | (h < e))
    it = it.filter(night)
    b = _bursts(it, ["client_id"], pl.duration(days=pl.col("unusual_hours_window_days")), pl.col("unusual_hours_min_count"))
    b = _with_params(inp, _dates(b), params)

    def explain(r: dict) -> str:
        return (
            f"{_plural(r['n'], 'card use')} totalling {gbp(r['amount_pence'])} between "
            f"{r['unusual_hours_start']:02d}:00 and {r['unusual_hours_end']:02d}:00 London time from {r['london_date']} "
            f"to {r['detected_on']} (threshold {r['unusual_hours_min_count']} within {r['unusual_hours_window_days']} days)."
        )

    return _findings(inp, "unusual_hours", b, explain)


def velocity(inp: ScreenInput) -> list[Finding]:
    """velocity_count or more card/cash uses within velocity_window_minutes."""
    params = ["velocity_count", "velocity_window_minutes"]
    it = _with_params(inp, _items(inp, CARD_KINDS).filter(pl.col("out_pence") > 0), params)
    b = _bursts(it, ["client_id"], pl.duration(minutes=pl.col("velocity_window_minutes")), pl.col("velocity_count"))
    b = _with_params(inp, _dates(b), params)

    def explain(r: dict) -> str:
        minutes = max(1, int(r["last_minutes"])) if r.get("last_minutes") is not None else r["velocity_window_minutes"]
        return (
            f"{_plural(r['n'], 'card use')} ({_kinds_text(r['kinds'])}) totalling {gbp(r['amount_pence'])} within "
            f"{_plural(minutes, 'minute')} on {r['london_date']} (threshold {r['velocity_count']} within "
            f"{r['velocity_window_minutes']} minutes)."
        )

    spans = (
        it.join(b.select("client_id", "start_at", "evidence").explode("evidence").rename({"evidence": "txn"}), on=["client_id", "txn"])
        .group_by("client_id", "start_at")
        .agg(((pl.col("at_utc").max() - pl.col("at_utc").min()).dt.total_seconds() / 60).ceil().alias("last_minutes"))
    )
    b = b.join(spans, on=["client_id", "start_at"], how="left")
    return _findings(inp, "velocity", b, explain)


RULES: dict[str, Callable[[ScreenInput], list[Finding]]] = {
    "restricted_mcc": restricted_mcc,
    "unapproved_payee": unapproved_payee,
    "cash_not_allowed": cash_not_allowed,
    "cash_over_limit": cash_over_limit,
    "spending_abroad": spending_abroad,
    "spend_after_death": spend_after_death,
    "spend_in_hospital": spend_in_hospital,
    "drain_after_load": drain_after_load,
    "cash_spike": cash_spike,
    "new_payee_burst": new_payee_burst,
    "dormant_card": dormant_card,
    "unusual_hours": unusual_hours,
    "velocity": velocity,
}
assert tuple(RULES) == RULE_NAMES


def run_rules(inp: ScreenInput, rules: Iterable[str] | None = None) -> list[Finding]:
    """Every rule over the input, in a stable order.

    Rules are independent: payments in a new_payee_burst to an unapproved payee are also unapproved_payee
    findings (two questions, two cases: who is this payee, and why so many payments so fast).
    """
    names = list(rules) if rules is not None else list(RULE_NAMES)
    unknown = sorted(set(names) - set(RULES))
    assert not unknown, f"unknown rule(s) {unknown}"
    out: list[Finding] = []
    for name in names:
        out.extend(RULES[name](inp))
    return sorted(out, key=finding_sort_key)


def finding_sort_key(f: Finding) -> tuple:
    return (f.london_date, f.council, f.client_id, f.rule, f.evidence_txn_ids)


def finding_key(f: Finding) -> str:
    """Natural key: rule + client + date + evidence. Recording the same finding twice adds nothing."""
    return json.dumps([f.rule, f.client_id, f.london_date.isoformat(), sorted(f.evidence_txn_ids)], separators=(",", ":"))
