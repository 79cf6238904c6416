"""``reconcile_day``: the nightly reconciliation of one London day, recorded in the exceptions register.

What one run does (each check is a pure function in this package; this module reads and writes):

1. Feeds: every expected provider's transactions and balances files for each day of the look-back
   window (a skipped day is caught here too); late arrivals recorded as ``late_file``.
2. Balances: each card's ledger closing balance against the provider's, for the run day and for every
   earlier day in the window that still has an open balance exception, a file that arrived late, or
   that no run has reconciled yet — so a late file closes the exceptions it caused by itself.
3. Loads: the council's schedule against loads seen in the feeds.
4. Quarantined rows, conflicts, and "other money in" items, surfaced for finance and audit.
5. Funding totals per council for the day (loaded, returned, unloaded) for the bank statement.

Idempotent: running it twice for the same day changes nothing (exceptions are keyed; the run record
is replaced). Each check hands ``sync_exceptions`` exactly the scope it looked at, so a check never
closes an exception it did not look for. The work of a run is bounded by the look-back window
(``LOOKBACK_DAYS``), not by history.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter

import polars as pl
from sqlalchemy import Connection

from db.engine import get_engine, take_ledger_lock
from db.heap import bulk_gc
from ledger.queries import card_balances, first_day_posted_since, last_entry_id
from reconciliation.balances import (
    BALANCE_TYPES,
    CANDIDATE_SCHEMA,
    UNKNOWN_TYPES,
    explanation_candidates,
    last4,
    pounds,
    quarantined_effect,
    reconcile_balances,
    unknown_accounts,
)
from reconciliation.exceptions import (
    ExceptionItem,
    SyncResult,
    open_counts_by_type,
    open_exception_cards,
    open_exception_days,
    sync_exceptions,
)
from reconciliation.feed_arrival import FEED_TYPES, drop_date, feed_exceptions
from reconciliation.funding import funding_totals
from reconciliation.loads import LOAD_TYPES, load_exceptions
from records.balances import (
    ACCOUNT_BALANCE_SCHEMA,
    balance_days,
    balances_of_accounts,
    load_provider_balances,
)
from records.feed_register import load_feed_files, load_quarantine
from records.reference import load_reference
from records.runs import last_run_summary, record_run, run_days
from records.transactions import (
    TXN_SCHEMA,
    load_transactions,
    pending_at_end_of_day,
    posted_on_day,
    transactions_by_id,
    unposted_settled,
)
from schemas.council_policy import THRESHOLD_DEFAULTS
from schemas.reference import ReferenceData

LOOKBACK_DAYS = 35  # how far back a run re-checks files, balances and loads (bounds each run's work)
HOLD_EXPIRY_DAYS = 8  # an authorisation neither settled nor released lapses after about 8 days (DOMAIN.md)
ITEM_TYPES: tuple[str, ...] = ("quarantined_row", "conflict", "other_money_in")
RUN_COMMAND = "reconcile"
# The columns of the canonical transactions (records.transactions.TXN_SCHEMA) the checks read.
ITEM_SCHEMA: dict[str, pl.DataType] = {
    c: TXN_SCHEMA[c]
    for c in (
        "provider", "provider_txn_id", "account_id", "client_id", "council", "kind", "status", "amount_pence",
        "london_date", "posted_date", "occurred_at_utc", "reference", "balance_after_pence", "entry_id", "hold_open",
        "payee_account_number",
    )
}
_AMOUNT_SCHEMA = {c: TXN_SCHEMA[c] for c in ("provider", "provider_txn_id", "amount_pence")}
_OWNER_SCHEMA = {c: TXN_SCHEMA[c] for c in ("provider", "provider_txn_id", "account_id", "client_id", "council")}


def _days(a: dt.date, b: dt.date) -> list[dt.date]:
    return [a + dt.timedelta(days=i) for i in range((b - a).days + 1)]


# --- reads ------------------------------------------------------------------------------------
def _changes_since_last_run(conn: Connection, date_from: dt.date, date_to: dt.date) -> tuple[dt.date | None, set[dt.date]]:
    """(earliest London day of a journal entry posted since the last reconcile run, or ``date_to + 1`` when none;
    days of the window with a provider balance loaded since then). Before any run: (None, every day) — check all.

    Why: a balance exception can only change when the ledger or the provider's figure for its day changes;
    re-checking every open day each night would make a night's cost grow with the backlog of open exceptions.
    """
    last = last_run_summary(conn, RUN_COMMAND)
    if last is None or "max_entry_id" not in last or "finished_at" not in last:
        return None, set()
    first = first_day_posted_since(conn, int(last["max_entry_id"] or 0))
    first_day = first if first is not None else date_to + dt.timedelta(days=1)
    since = dt.datetime.fromisoformat(last["finished_at"])
    return first_day, balance_days(conn, date_from, date_to, loaded_after=since)


def _quarantine(conn: Connection, date_from: dt.date, date_to: dt.date) -> pl.DataFrame:
    """Quarantine rows whose day (the file's feed date, else the day they were quarantined) is in the window."""
    df = load_quarantine(conn, date_from, date_to)
    # A council extract's rows have no feed date: their drop folder's day says which run they belong to.
    drop_day = pl.col("drop_dir").map_elements(drop_date, return_dtype=pl.Date)
    return df.with_columns(pl.coalesce("feed_date", drop_day, pl.col("created_at").dt.date()).alias("day")).filter(
        pl.col("day").is_between(date_from, date_to)
    )


def _unregistered_balances(
    conn: Connection, date_from: dt.date, date_to: dt.date, register: pl.DataFrame
) -> tuple[pl.DataFrame, dict]:
    """Latest provider balance in the window of each account the cardholder register does not know (reported
    on ``date_to``, or already an open ``unknown_account`` exception), and the first day it was seen.

    Bounded by the unknown accounts, not by cards × days: only their rows are read from the window.
    """
    today = load_provider_balances(conn, date_to, date_to).select("provider", "account_id")
    keys = pl.concat([today, open_exception_cards(conn, "unknown_account")]).unique().join(
        register.select("provider", "account_id"), on=["provider", "account_id"], how="anti"
    )
    if keys.height == 0:
        return pl.DataFrame(schema=ACCOUNT_BALANCE_SCHEMA), {}
    df = balances_of_accounts(conn, keys["account_id"].unique().to_list(), date_from, date_to)
    df = df.join(keys, on=["provider", "account_id"], how="semi")
    first_seen = {(p, a): d for p, a, d in df.group_by("provider", "account_id").agg(pl.col("balance_date").min()).iter_rows()}
    return df, first_seen


# --- checks -----------------------------------------------------------------------------------
def _feed_gaps(files: pl.DataFrame, providers: tuple[str, ...], day: dt.date, window_from: dt.date) -> dict[str, list[dt.date]]:
    """The day and the day before (from the provider's first file on) when they have no loaded transactions file.

    Why only two days: a provider's next file carries what a missing day held (FEEDS.md: files overlap), so
    an older gap no longer explains today's balance; a difference that persists is a difference.
    """
    loaded = files.filter((pl.col("status") == "loaded") & (pl.col("file_kind") == "transactions"))
    out: dict[str, list[dt.date]] = {}
    for p in providers:
        mine = loaded.filter(pl.col("provider") == p)
        first = mine["feed_date"].min() if mine.height else None
        if first is None:
            continue
        have = set(mine["feed_date"].to_list())
        gaps = [d for d in _days(max(first, window_from, day - dt.timedelta(days=1)), day) if d not in have]
        if gaps:
            out[p] = gaps
    return out


def with_previous_balance(settled_day: pl.DataFrame, prev_close: pl.DataFrame) -> pl.DataFrame:
    """Each settled item of the day with the card's balance before it (``prev_balance_after_pence``): the
    previous item's running balance, or for a card's first item of the day the provider's closing balance
    of the day before. Pure."""
    return (
        settled_day.join(
            prev_close.select("provider", "account_id", pl.col("closing_balance_pence").alias("_prev_close")),
            on=["provider", "account_id"],
            how="left",
        )
        .sort("provider", "account_id", "occurred_at_utc", "provider_txn_id")
        .with_columns(
            pl.col("balance_after_pence").shift(1).over("provider", "account_id").alias("_prev_after"),
            pl.int_range(pl.len()).over("provider", "account_id").alias("_n"),
        )
        .with_columns(
            pl.when(pl.col("_n") == 0).then(pl.col("_prev_close")).otherwise(pl.col("_prev_after")).alias("prev_balance_after_pence")
        )
    )


def _explanations(conn: Connection, day: dt.date, accounts: list[str], quarantine: pl.DataFrame) -> pl.DataFrame:
    """The provider items that could explain the differences of these cards on ``day`` (CANDIDATE_SCHEMA)."""
    unposted = unposted_settled(conn, accounts, day - dt.timedelta(days=LOOKBACK_DAYS), day, ITEM_SCHEMA)
    unposted = unposted.filter(pl.coalesce("posted_date", "london_date") <= day)
    # Pending on the day in our feed: holding funds at the end of the day (point in time: open now,
    # or closed on a later day), or dated on or before the day but posted by the provider after it.
    pending = pending_at_end_of_day(conn, accounts, day, ITEM_SCHEMA, expiry_days=HOLD_EXPIRY_DAYS)
    prev_close = load_provider_balances(conn, day - dt.timedelta(days=1), day - dt.timedelta(days=1))
    settled_day = with_previous_balance(posted_on_day(conn, accounts, day, ITEM_SCHEMA), prev_close)
    q_day = quarantine.filter(pl.col("day") <= day)
    conflicts = q_day.filter(pl.col("reason").str.starts_with("conflict"))
    plain = q_day.filter(~pl.col("reason").str.starts_with("conflict"))
    stored = transactions_by_id(conn, conflicts["provider_txn_id"].drop_nulls().unique().to_list(), _AMOUNT_SCHEMA)
    return explanation_candidates(
        day,
        unposted_settled=unposted,
        quarantined=plain,
        conflicts=conflicts,
        stored_amounts=stored,
        open_holds=pending.select("provider", "account_id", "provider_txn_id", "amount_pence", "london_date"),
        settled_on_day=settled_day.select(
            "provider", "account_id", "provider_txn_id", "amount_pence", "balance_after_pence", "prev_balance_after_pence"
        ),
    )


def _balance_day(
    conn: Connection, day: dt.date, register: pl.DataFrame, files: pl.DataFrame, providers: tuple[str, ...],
    window_from: dt.date, quarantine: pl.DataFrame, tolerance_pence: int,
) -> list[ExceptionItem]:
    ledger = card_balances(conn, day)
    provider = load_provider_balances(conn, day, day)
    if provider.height == 0:
        return []
    # Explanations are looked for only on cards that differ: the night's cost follows the differences,
    # not the number of cards or items.
    first_pass = reconcile_balances(
        day, ledger=ledger, provider=provider, register=register,
        candidates=pl.DataFrame(schema=CANDIDATE_SCHEMA), tolerance_pence=tolerance_pence,
    )
    if not first_pass:
        return []
    differing = {(f.provider, f.account_id) for f in first_pass}
    candidates = _explanations(conn, day, sorted({a for _, a in differing}), quarantine)
    keys = pl.DataFrame(sorted(differing), schema={"provider": pl.Utf8, "account_id": pl.Utf8}, orient="row")
    return reconcile_balances(
        day,
        ledger=ledger.join(keys, on=["provider", "account_id"], how="semi"),
        provider=provider.join(keys, on=["provider", "account_id"], how="semi"),
        reporting_providers=set(provider["provider"].unique().to_list()),
        register=register,
        candidates=candidates,
        feed_gaps=_feed_gaps(files, providers, day, window_from),
        tolerance_pence=tolerance_pence,
    )


def quarantine_exceptions(quarantine: pl.DataFrame, register: pl.DataFrame, owners: dict[tuple[str, str], tuple]) -> list[ExceptionItem]:
    """One exception per quarantined row (``quarantined_row``) or conflict (``conflict``); pure.

    ``owners`` maps (provider, provider_txn_id) to (account_id, client_id, council) for stored items.
    The raw row is never copied into the report (it may carry personal data); file and line find it.
    """
    known = {(p, a): (c, co) for p, a, c, co in register.select("provider", "account_id", "client_id", "council").iter_rows()}
    out: list[ExceptionItem] = []
    seen: set[str] = set()
    for r in quarantine.iter_rows(named=True):
        reason = (r["reason"] or "").strip()
        etype = "conflict" if reason.startswith("conflict") else "quarantined_row"
        key = f"{etype}:{r['source_file']}:{r['source_line']}:{r['provider_txn_id'] or ''}"
        if key in seen:
            continue
        seen.add(key)
        eff = quarantined_effect(r["provider"], r["raw_text"])
        acct = eff[0] if eff else None
        client, council = known.get((r["provider"], acct), (None, None)) if acct else (None, None)
        if client is None and r["provider_txn_id"]:
            o = owners.get((r["provider"], r["provider_txn_id"]))
            if o:
                acct, client, council = o
        item = f" (item {r['provider']}:{r['provider_txn_id']})" if r["provider_txn_id"] else ""
        if etype == "conflict":
            explanation = (
                f"{r['source_file']} line {r['source_line']}{item} repeats an item already loaded but with different details. "
                f"The first version stands in the ledger. {reason[:300]}. Ask the provider which is right; if it is the new "
                "one, correct the ledger with a reversal and re-post."
            )
        else:
            explanation = (
                f"{r['source_file']} line {r['source_line']}{item} could not be loaded and is held in quarantine: {reason[:300]}. "
                "Its money is not in the ledger. Ask the provider for a corrected file, or correct the row and load it again."
            )
        out.append(
            ExceptionItem(
                key=key, exception_type=etype, explanation=explanation, raised_for="finance", council=council,
                client_id=client, provider=r["provider"], account_id=acct, london_date=r["day"],
                amount_pence=eff[2] if eff else None, cause=reason.split(":", 1)[0][:40] or None,
                evidence=(f"{r['provider']}:{r['provider_txn_id']}",) if r["provider_txn_id"] else (),
            )
        )
    return out


def other_money_in_exceptions(items: pl.DataFrame) -> list[ExceptionItem]:
    """Money paid onto a card by someone other than the council or the client's contribution: for audit."""
    out = []
    for r in items.sort("london_date", "provider", "provider_txn_id").iter_rows(named=True):
        payer = last4(r["payee_account_number"]) if r["payee_account_number"] else "an unknown payer"
        out.append(
            ExceptionItem(
                key=f"other_money_in:{r['provider']}:{r['provider_txn_id']}",
                exception_type="other_money_in",
                explanation=(
                    f"{pounds(int(r['amount_pence']))} was paid onto client {r['client_id'] or '(unknown)'}'s card "
                    f"{last4(r['account_id'])} on {r['london_date']:%d/%m/%Y} from account {payer}"
                    + (f", reference '{r['reference']}'" if r["reference"] else "")
                    + ". It is neither a council load nor the client's contribution (a mistyped contribution reference "
                    "looks like this). Ask who paid it and why; mark it explained with a note."
                ),
                raised_for="audit",
                council=r["council"],
                client_id=r["client_id"],
                provider=r["provider"],
                account_id=r["account_id"],
                london_date=r["london_date"],
                amount_pence=int(r["amount_pence"]),
                evidence=(f"{r['provider']}:{r['provider_txn_id']}",),
            )
        )
    return out


def _sync(conn: Connection, results: dict, name: str, found: list[ExceptionItem], **scope) -> None:
    res: SyncResult = sync_exceptions(conn, found, **scope)
    agg = results.setdefault(name, {"found": 0, "raised": 0, "carried": 0, "resolved": 0})
    agg["found"] += len(found)
    agg["raised"] += res.raised
    agg["carried"] += res.carried
    agg["resolved"] += res.resolved


# --- the run ----------------------------------------------------------------------------------
def _window_from(files: pl.DataFrame, day: dt.date, lookback_days: int) -> dt.date:
    """The first day the run re-checks: ``lookback_days`` before ``day``, but never before the first file."""
    first_file = files["feed_date"].min() if files.height else None
    return max(day - dt.timedelta(days=lookback_days), first_file) if first_file and first_file <= day else day


def _balance_days_to_check(conn: Connection, files: pl.DataFrame, window_from: dt.date, day: dt.date) -> list[dt.date]:
    """The day, plus the earlier days of the window that need another look: a file for them arrived late,
    no run has reconciled them yet, or they have open balance exceptions and something that moves their
    balance arrived since the last run (a posting booked on or before them, or a provider balance for them)."""
    late_days = {
        r["feed_date"] for r in files.iter_rows(named=True)
        if (a := drop_date(r["drop_dir"])) is not None and a > r["feed_date"] and window_from <= r["feed_date"] <= day
    }
    never_run = balance_days(conn, window_from, day) - run_days(conn, RUN_COMMAND, window_from, day)
    changed_from, balances_changed = _changes_since_last_run(conn, window_from, day)
    open_days = {
        d for d in open_exception_days(conn, BALANCE_TYPES, window_from, day) if changed_from is None or d >= changed_from
    }
    recheck = open_days | balances_changed | late_days | never_run | {day}
    return sorted(d for d in recheck if window_from <= d <= day)


def _check_balances(
    conn: Connection, results: dict, ref: ReferenceData, register: pl.DataFrame, files: pl.DataFrame,
    quarantine: pl.DataFrame, *, day: dt.date, window_from: dt.date, providers: tuple[str, ...],
) -> list[dt.date]:
    """2. Each card's balance on the days that need it, and accounts the register does not know. Returns
    the days checked."""
    tolerance = {name: int(pol.threshold("balance_tolerance_pence")) for name, pol in ref.councils.items()}
    tol = min(tolerance.values()) if tolerance else int(THRESHOLD_DEFAULTS["balance_tolerance_pence"])
    checked = _balance_days_to_check(conn, files, window_from, day)
    for d in checked:
        found = _balance_day(conn, d, register, files, providers, window_from, quarantine, tol)
        _sync(conn, results, "balances", found, scope_types=BALANCE_TYPES, run_day=day, scope_date_from=d, scope_date_to=d)
    pb, first_seen = _unregistered_balances(conn, window_from, day, register)
    _sync(conn, results, "unknown_accounts", unknown_accounts(pb, register, first_seen), scope_types=UNKNOWN_TYPES, run_day=day)
    return checked


def _check_loads(
    conn: Connection, results: dict, ref: ReferenceData, register: pl.DataFrame, *, day: dt.date, window_from: dt.date
) -> None:
    """3. The council's load schedule against the loads seen in the feeds."""
    tol_days = max(
        [int(pol.threshold("load_match_tolerance_days")) for pol in ref.councils.values()]
        or [int(THRESHOLD_DEFAULTS["load_match_tolerance_days"])]
    )
    reach = window_from - dt.timedelta(days=tol_days + 1)
    # Schedule rows due up to the tolerance after the day: a load may arrive a little early.
    schedule = ref.load_schedule.filter(pl.col("due_date").is_between(reach, day + dt.timedelta(days=tol_days))).select(
        "client_id", "due_date", pl.col("amount_pence"), "reference"
    )
    seen = load_transactions(conn, reach, day, statuses=("settled", "pending"), kinds=("council_load",), schema=ITEM_SCHEMA)
    found = load_exceptions(schedule, seen, register, tolerance_days=tol_days, run_day=day, report_from=window_from)
    _sync(conn, results, "loads", found, scope_types=LOAD_TYPES, run_day=day, scope_date_from=window_from, scope_date_to=day)


def _check_items(
    conn: Connection, results: dict, register: pl.DataFrame, quarantine: pl.DataFrame, *, day: dt.date, window_from: dt.date
) -> None:
    """4. Quarantined rows, conflicts, and money in from someone other than the council or the client."""
    ids = quarantine["provider_txn_id"].drop_nulls().unique().to_list()
    owners: dict[tuple[str, str], tuple] = {
        (p, t): (a, c, co) for p, t, a, c, co in transactions_by_id(conn, ids, _OWNER_SCHEMA).iter_rows()
    }
    other = load_transactions(
        conn, window_from, day, statuses=("settled", "pending"), kinds=("other_money_in",), schema=ITEM_SCHEMA
    )
    found = quarantine_exceptions(quarantine, register, owners) + other_money_in_exceptions(other)
    _sync(conn, results, "items", found, scope_types=ITEM_TYPES, run_day=day, scope_date_from=window_from, scope_date_to=day)


def _summary(
    conn: Connection, results: dict, funding: pl.DataFrame, *, day: dt.date, window_from: dt.date,
    providers: tuple[str, ...], checked: list[dt.date], started: float,
) -> dict:
    return {
        "day": day.isoformat(),
        "window_from": window_from.isoformat(),
        "expected_providers": list(providers),
        "balance_days_checked": [d.isoformat() for d in checked],
        "checks": results,
        "raised": sum(v["raised"] for v in results.values()),
        "resolved": sum(v["resolved"] for v in results.values()),
        "open_by_type": open_counts_by_type(conn),
        "funding": [
            {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in r.items()} for r in funding.iter_rows(named=True)
        ],
        "seconds": round(time.perf_counter() - started, 3),
        # What this run had seen, so the next run re-checks only days that changed since.
        "max_entry_id": last_entry_id(conn),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(),
    }


@bulk_gc()  # db.heap: the collector held back while the night's rows are in memory
def reconcile_day(
    db_url: str | None, day: dt.date, *, expected_providers: tuple[str, ...] = ("A", "B", "C"), lookback_days: int = LOOKBACK_DAYS
) -> dict:
    """Reconcile one London day (and re-check the days in the look-back window that need it).

    Returns a JSON-able summary: the window, the days whose balances were checked, per check how many
    exceptions were found / raised / carried / resolved, open exceptions by type, and the day's funding.
    """
    assert 0 <= lookback_days <= 366, "look-back must be bounded"
    started = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC)
    results: dict[str, dict] = {}
    with get_engine(db_url).begin() as conn:
        # One consistent view: no file is half-posted while balances are compared.
        take_ledger_lock(conn)
        ref = load_reference(conn)
        register = ref.cardholders.select("client_id", "council", "provider", "account_id")
        files = load_feed_files(conn)
        window_from = _window_from(files, day, lookback_days)
        window = dict(day=day, window_from=window_from)
        # 1. Files.
        found = feed_exceptions(files, expected_providers=expected_providers, date_from=window_from, date_to=day)
        _sync(conn, results, "feeds", found, scope_types=FEED_TYPES, run_day=day, scope_date_from=window_from, scope_date_to=day)
        quarantine = _quarantine(conn, window_from, day)
        checked = _check_balances(conn, results, ref, register, files, quarantine, providers=expected_providers, **window)
        _check_loads(conn, results, ref, register, **window)
        _check_items(conn, results, register, quarantine, **window)
        # 5. Funding for the day.
        funding = funding_totals(conn, day, day, sorted(ref.councils))
        summary = _summary(conn, results, funding, providers=expected_providers, checked=checked, started=started, **window)
        record_run(conn, run_id=f"{RUN_COMMAND}-{day.isoformat()}", command=RUN_COMMAND, feed_date=day,
                   started_at=started_at, summary=summary)
    return summary


def exception_counts(found: list[ExceptionItem]) -> dict[str, int]:
    return dict(Counter(f.exception_type for f in found))
