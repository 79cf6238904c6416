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
import json
import time
from collections import Counter

import polars as pl
from sqlalchemy import Connection, bindparam, text

from db.bulk_read import query_frame, rows_frame
from db.engine import get_engine, take_ledger_lock
from db.heap import bulk_gc
from db.sqlfilters import frame_where_in, rows_where_in
from ledger.queries import card_balances
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
from reconciliation.exceptions import ExceptionItem, SyncResult, sync_exceptions
from reconciliation.feed_arrival import FEED_FILES_SCHEMA, FEED_TYPES, drop_date, feed_exceptions
from reconciliation.funding import funding_totals
from reconciliation.loads import LOAD_TYPES, load_exceptions
from records.balances import load_provider_balances
from records.reference import load_reference
from records.runs import record_run
from records.transactions import HELD_AT_END_OF_DAY_SQL
from schemas.council_policy import THRESHOLD_DEFAULTS

LOOKBACK_DAYS = 35  # how far back a run re-checks files, balances and loads (bounds each run's work)
HOLD_EXPIRY_DAYS = 8  # an authorisation neither settled nor released lapses after about 8 days (DOMAIN.md)
ITEM_TYPES: tuple[str, ...] = ("quarantined_row", "conflict", "other_money_in")
RUN_COMMAND = "reconcile"


def _days(a: dt.date, b: dt.date) -> list[dt.date]:
    return [a + dt.timedelta(days=i) for i in range((b - a).days + 1)]


# --- reads ------------------------------------------------------------------------------------
def _feed_files(conn: Connection) -> pl.DataFrame:
    rows = conn.execute(
        text("SELECT file_name, provider, file_kind, feed_date, drop_dir, status, message FROM feed_files WHERE feed_date IS NOT NULL")
    ).all()
    return rows_frame(rows, FEED_FILES_SCHEMA)


def _reconciled_days(conn: Connection, date_from: dt.date, date_to: dt.date) -> set[dt.date]:
    rows = conn.execute(
        text("SELECT feed_date FROM runs WHERE command = :c AND feed_date >= :f AND feed_date <= :t"),
        {"c": RUN_COMMAND, "f": date_from, "t": date_to},
    ).all()
    return set(rows_frame(rows, {"feed_date": pl.Date})["feed_date"].to_list())


def _changes_since_last_run(conn: Connection, date_from: dt.date, date_to: dt.date) -> tuple[dt.date | None, set[dt.date]]:
    """(earliest London day of a journal entry posted since the last reconcile run, or ``date_to + 1`` when none;
    days of the window with a provider balance loaded since then). Before any run: (None, every day) — check all.

    Why: a balance exception can only change when the ledger or the provider's figure for its day changes;
    re-checking every open day each night would make a night's cost grow with the backlog of open exceptions.
    """
    row = conn.execute(
        text("SELECT summary_json FROM runs WHERE command = :c ORDER BY finished_at DESC LIMIT 1"), {"c": RUN_COMMAND}
    ).one_or_none()
    if row is None or not row[0]:
        return None, set()
    last = json.loads(row[0])
    if "max_entry_id" not in last or "finished_at" not in last:
        return None, set()
    # The new entries by id range (the primary key), then their earliest day. Written as a subquery with
    # ORDER BY/LIMIT so neither planner turns min() into a walk of the date index from the oldest day
    # (which it did: a night's cost growing with history).
    first = conn.execute(
        text(
            "SELECT min(d) FROM (SELECT london_date AS d FROM journal_entries WHERE entry_id > :e"
            " ORDER BY entry_id LIMIT :all) AS new_entries"
        ),
        {"e": int(last["max_entry_id"] or 0), "all": 2**62},
    ).scalar_one()
    first_day = rows_frame([(first,)], {"d": pl.Date})["d"][0] if first is not None else date_to + dt.timedelta(days=1)
    rows = conn.execute(
        text(
            "SELECT DISTINCT balance_date FROM provider_balances WHERE balance_date >= :f AND balance_date <= :t AND loaded_at > :at"
        ),
        {"f": date_from, "t": date_to, "at": dt.datetime.fromisoformat(last["finished_at"])},
    ).all()
    return first_day, set(rows_frame(rows, {"balance_date": pl.Date})["balance_date"].to_list())


def _open_exception_days(conn: Connection, types: tuple[str, ...], date_from: dt.date, date_to: dt.date) -> set[dt.date]:
    stmt = text(
        "SELECT DISTINCT london_date FROM exceptions WHERE status IN ('open', 'explained') AND exception_type IN :t"
        " AND london_date >= :f AND london_date <= :to"
    ).bindparams(bindparam("t", expanding=True))
    rows = conn.execute(stmt, {"t": list(types), "f": date_from, "to": date_to}).all()
    return set(rows_frame(rows, {"london_date": pl.Date})["london_date"].to_list())


TXN_SCHEMA: dict[str, pl.DataType] = {
    "provider": pl.Utf8, "provider_txn_id": pl.Utf8, "account_id": pl.Utf8, "client_id": pl.Utf8, "council": pl.Utf8,
    "kind": pl.Utf8, "status": pl.Utf8, "amount_pence": pl.Int64, "london_date": pl.Date, "posted_date": pl.Date,
    "occurred_at_utc": pl.Datetime("us", "UTC"), "reference": pl.Utf8, "balance_after_pence": pl.Int64,
    "entry_id": pl.Int64, "hold_open": pl.Boolean, "payee_account_number": pl.Utf8,
}


def _txn_frame(conn: Connection, sql: str, params: dict, *, accounts: list[str] | None = None) -> pl.DataFrame:
    """Transactions matching ``sql`` (and, when given, only these account ids, looked up in bounded chunks)."""
    cols = ", ".join(TXN_SCHEMA)
    if accounts is None:
        return query_frame(conn, text(f"SELECT {cols} FROM transactions WHERE {sql}"), params, TXN_SCHEMA)
    query = f"SELECT {cols} FROM transactions WHERE {{match}} AND {sql}"
    return frame_where_in(conn, query, "account_id", accounts, TXN_SCHEMA, params)


def _quarantine(conn: Connection, date_from: dt.date, date_to: dt.date) -> pl.DataFrame:
    """Quarantine rows whose day (the file's feed date, else the day they were quarantined) is in the window."""
    schema = {
        "quarantine_id": pl.Int64, "provider": pl.Utf8, "provider_txn_id": pl.Utf8, "source_file": pl.Utf8,
        "source_line": pl.Int64, "reason": pl.Utf8, "raw_text": pl.Utf8, "created_at": pl.Datetime("us", "UTC"),
        "feed_date": pl.Date, "drop_dir": pl.Utf8,
    }
    start = dt.datetime.combine(date_from, dt.time(0, 0), dt.UTC)
    rows = conn.execute(
        text(
            "SELECT q.quarantine_id, q.provider, q.provider_txn_id, q.source_file, q.source_line, q.reason, q.raw_text,"
            " q.created_at, f.feed_date, f.drop_dir FROM quarantine q LEFT JOIN feed_files f ON f.sha256 = q.file_sha256"
            " WHERE (f.feed_date >= :f AND f.feed_date <= :t) OR (f.feed_date IS NULL AND q.created_at >= :start)"
            " ORDER BY q.quarantine_id"
        ),
        {"f": date_from, "t": date_to, "start": start},
    ).all()
    df = rows_frame(rows, schema)
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
    open_rows = conn.execute(
        text("SELECT provider, account_id FROM exceptions WHERE exception_type = 'unknown_account' AND status IN ('open', 'explained')")
    ).all()
    keys = pl.concat(
        [today, pl.DataFrame(open_rows, schema={"provider": pl.Utf8, "account_id": pl.Utf8}, orient="row")]
    ).unique().join(register.select("provider", "account_id"), on=["provider", "account_id"], how="anti")
    schema = {"provider": pl.Utf8, "account_id": pl.Utf8, "balance_date": pl.Date, "closing_balance_pence": pl.Int64}
    if keys.height == 0:
        return pl.DataFrame(schema=schema), {}
    rows = rows_where_in(
        conn,
        "SELECT provider, account_id, balance_date, closing_balance_pence FROM provider_balances"
        " WHERE {match} AND balance_date >= :f AND balance_date <= :t",
        "account_id", keys["account_id"].unique().to_list(), {"f": date_from, "t": date_to},
    )
    df = rows_frame(rows, schema).join(keys, on=["provider", "account_id"], how="semi")
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
    accounts = sorted({a for _, a in differing})
    oldest = day - dt.timedelta(days=LOOKBACK_DAYS)
    unposted = _txn_frame(
        conn,
        "status = 'settled' AND entry_id IS NULL AND london_date <= :d AND london_date >= :o",
        {"d": day, "o": oldest},
        accounts=accounts,
    )
    unposted = unposted.filter(pl.coalesce("posted_date", "london_date") <= day)
    # Pending on the day in our feed: holding funds at the end of the day (point in time: open now,
    # or closed on a later day), or dated on or before the day but posted by the provider after it.
    pending = _txn_frame(
        conn,
        f"(({HELD_AT_END_OF_DAY_SQL}) OR (status = 'settled' AND posted_date > :d AND london_date <= :d))",
        {"d": day, "oldest": day - dt.timedelta(days=HOLD_EXPIRY_DAYS)},
        accounts=accounts,
    )
    settled_day = _txn_frame(
        conn,
        "status = 'settled' AND entry_id IS NOT NULL AND ((posted_date = :d) OR (posted_date IS NULL AND london_date = :d))",
        {"d": day},
        accounts=accounts,
    )
    prev_close = load_provider_balances(conn, day - dt.timedelta(days=1), day - dt.timedelta(days=1))
    settled_day = (
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
    q_day = quarantine.filter(pl.col("day") <= day)
    conflicts = q_day.filter(pl.col("reason").str.starts_with("conflict"))
    plain = q_day.filter(~pl.col("reason").str.starts_with("conflict"))
    stored = pl.DataFrame(schema={"provider": pl.Utf8, "provider_txn_id": pl.Utf8, "amount_pence": pl.Int64})
    if conflicts.height:
        ids = conflicts["provider_txn_id"].drop_nulls().unique().to_list()
        sql = "SELECT provider, provider_txn_id, amount_pence FROM transactions WHERE {match}"
        stored = rows_frame(rows_where_in(conn, sql, "provider_txn_id", ids), dict(stored.schema)) if ids else stored
    candidates = explanation_candidates(
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
    engine = get_engine(db_url)
    results: dict[str, dict] = {}
    with engine.begin() as conn:
        # One consistent view: no file is half-posted while balances are compared.
        take_ledger_lock(conn)
        ref = load_reference(conn)
        register = ref.cardholders.select("client_id", "council", "provider", "account_id")
        files = _feed_files(conn)
        first_file = files["feed_date"].min() if files.height else None
        window_from = max(day - dt.timedelta(days=lookback_days), first_file) if first_file and first_file <= day else day
        run = dict(run_day=day, scope_date_from=window_from, scope_date_to=day)

        # 1. Files.
        _sync(conn, results, "feeds", feed_exceptions(files, expected_providers=expected_providers, date_from=window_from, date_to=day),
              scope_types=FEED_TYPES, **run)

        # 2. Balances: the day, plus earlier days that need another look.
        late_days = {
            r["feed_date"] for r in files.iter_rows(named=True)
            if (a := drop_date(r["drop_dir"])) is not None and a > r["feed_date"] and window_from <= r["feed_date"] <= day
        }
        days_with_balances = set(
            rows_frame(
                conn.execute(
                    text("SELECT DISTINCT balance_date FROM provider_balances WHERE balance_date >= :f AND balance_date <= :t"),
                    {"f": window_from, "t": day},
                ).all(),
                {"balance_date": pl.Date},
            )["balance_date"].to_list()
        )
        never_run = days_with_balances - _reconciled_days(conn, window_from, day)
        # Days with open balance exceptions are checked again only if something that moves their balance
        # arrived since the last run: a posting booked on or before them, or a provider balance for them.
        changed_from, balances_changed = _changes_since_last_run(conn, window_from, day)
        open_days = {d for d in _open_exception_days(conn, BALANCE_TYPES, window_from, day) if changed_from is None or d >= changed_from}
        recheck = open_days | balances_changed | late_days | never_run | {day}
        quarantine = _quarantine(conn, window_from, day)
        tolerance = {name: int(pol.threshold("balance_tolerance_pence")) for name, pol in ref.councils.items()}
        tol = min(tolerance.values()) if tolerance else int(THRESHOLD_DEFAULTS["balance_tolerance_pence"])
        checked = sorted(d for d in recheck if window_from <= d <= day)
        for d in checked:
            found = _balance_day(conn, d, register, files, expected_providers, window_from, quarantine, tol)
            _sync(conn, results, "balances", found, scope_types=BALANCE_TYPES, run_day=day, scope_date_from=d, scope_date_to=d)
        pb, first_seen = _unregistered_balances(conn, window_from, day, register)
        _sync(conn, results, "unknown_accounts", unknown_accounts(pb, register, first_seen), scope_types=UNKNOWN_TYPES, run_day=day)

        # 3. Loads.
        tol_days = max(
            [int(pol.threshold("load_match_tolerance_days")) for pol in ref.councils.values()]
            or [int(THRESHOLD_DEFAULTS["load_match_tolerance_days"])]
        )
        reach = window_from - dt.timedelta(days=tol_days + 1)
        # Schedule rows due up to the tolerance after the day: a load may arrive a little early.
        schedule = ref.load_schedule.filter(pl.col("due_date").is_between(reach, day + dt.timedelta(days=tol_days))).select(
            "client_id", "due_date", pl.col("amount_pence"), "reference"
        )
        seen = _txn_frame(
            conn, "kind = 'council_load' AND status IN ('settled', 'pending') AND london_date >= :f AND london_date <= :t",
            {"f": reach, "t": day},
        )
        _sync(conn, results, "loads",
              load_exceptions(schedule, seen, register, tolerance_days=tol_days, run_day=day, report_from=window_from),
              scope_types=LOAD_TYPES, **run)

        # 4. Quarantine, conflicts, other money in.
        owners: dict[tuple[str, str], tuple] = {}
        ids = quarantine["provider_txn_id"].drop_nulls().unique().to_list()
        sql = "SELECT provider, provider_txn_id, account_id, client_id, council FROM transactions WHERE {match}"
        for p, t, a, c, co in rows_where_in(conn, sql, "provider_txn_id", ids):
            owners[(p, t)] = (a, c, co)
        other = _txn_frame(
            conn, "kind = 'other_money_in' AND status IN ('settled', 'pending') AND london_date >= :f AND london_date <= :t",
            {"f": window_from, "t": day},
        )
        _sync(conn, results, "items",
              quarantine_exceptions(quarantine, register, owners) + other_money_in_exceptions(other),
              scope_types=ITEM_TYPES, **run)

        # 5. Funding for the day.
        funding = funding_totals(conn, day, day, sorted(ref.councils))
        open_by_type = dict(
            conn.execute(
                text("SELECT exception_type, count(*) FROM exceptions WHERE status IN ('open', 'explained') GROUP BY exception_type")
            ).all()
        )
        summary = {
            "day": day.isoformat(),
            "window_from": window_from.isoformat(),
            "expected_providers": list(expected_providers),
            "balance_days_checked": [d.isoformat() for d in checked],
            "checks": results,
            "raised": sum(v["raised"] for v in results.values()),
            "resolved": sum(v["resolved"] for v in results.values()),
            "open_by_type": {k: int(v) for k, v in sorted(open_by_type.items())},
            "funding": [
                {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in r.items()} for r in funding.iter_rows(named=True)
            ],
            "seconds": round(time.perf_counter() - started, 3),
            # What this run had seen, so the next run re-checks only days that changed since.
            "max_entry_id": conn.execute(text("SELECT coalesce(max(entry_id), 0) FROM journal_entries")).scalar_one(),
            "finished_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        record_run(conn, run_id=f"{RUN_COMMAND}-{day.isoformat()}", command=RUN_COMMAND, feed_date=day,
                   started_at=started_at, summary=summary)
    return summary


def exception_counts(found: list[ExceptionItem]) -> dict[str, int]:
    return dict(Counter(f.exception_type for f in found))
