"""Loads: what the council scheduled (load_schedule.csv) against what the feeds show arriving.

Why: a missed load leaves a person without money for care; a duplicated or wrong load spends the
council's money twice or wrongly; an unscheduled load is money finance cannot account for. Each is
a finance exception.

Matching (pure, deterministic): every pair of (scheduled load, seen load) that could be the same
money is scored —

- same reference: +8 (the load carries the reference of its schedule row, FEEDS.md);
- same card (the client's card from the cardholder register): +4;
- same amount: +2;
- seen within the date tolerance of the due date: +1;

a pair needs the same reference, or the same card with the same amount or (once the row is due) a date
within tolerance.
Pairs are then taken greedily, best score first (ties: the closer date, then the earlier load), and
each scheduled load matches at most one seen load and vice versa. Greedy is not a global optimum, but
with references on most loads the scores are far apart and the result is what a person would pick.

Classification:
- matched, amounts differ: ``wrong_amount_load``; matched, seen after due + tolerance: ``late_load``;
- scheduled, not matched, due + tolerance has passed: ``missing_load`` (not yet due: nothing);
- seen, not matched: ``duplicate_load`` when it repeats a scheduled load (same reference, or same card
  and amount) that another seen load already took, else ``unexpected_load``.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from reconciliation.balances import last4, pounds
from reconciliation.exceptions import ExceptionItem

LOAD_TYPES: tuple[str, ...] = ("missing_load", "late_load", "duplicate_load", "wrong_amount_load", "unexpected_load")
MAX_PAIRS = 2_000_000  # bound on candidate pairs considered (a month of a large council is far below this)


def _candidate_pairs(
    sched_df: pl.DataFrame, loads_df: pl.DataFrame, register: pl.DataFrame, *, tolerance_days: int, run_day: dt.date
) -> pl.DataFrame:
    """Every (schedule row i, seen load j) that could be the same money, with what they share and its score.
    Column-wise: a 35-day window of a 10,000-card scheme is tens of thousands of pairs."""
    cards = register.select("client_id", "provider", "account_id").unique()
    s_cols = sched_df.select(
        "i", "client_id", pl.col("due_date"), pl.col("amount_pence").alias("s_amount"), pl.col("reference").alias("s_ref"),
        pl.col("reference").fill_null("").str.strip_chars().alias("ref_key"),
    )
    l_cols = loads_df.select(
        "j", "provider", "account_id", "provider_txn_id", "london_date", pl.col("amount_pence").alias("l_amount"),
        pl.when(pl.col("reference").fill_null("") != "").then(pl.col("reference").str.strip_chars()).alias("ref_key"),
        pl.col("reference").fill_null("").str.strip_chars().alias("l_ref_stripped"),
    )
    by_ref = s_cols.select("i", "ref_key").join(l_cols.select("j", "ref_key").drop_nulls("ref_key"), on="ref_key")
    by_card = (
        s_cols.select("i", "client_id").join(cards, on="client_id")
        .join(l_cols.select("j", "provider", "account_id"), on=["provider", "account_id"])
    )
    pair_ids = pl.concat([by_ref.select("i", "j"), by_card.select("i", "j")]).unique()
    on_card = by_card.select("i", "j", pl.lit(True).alias("same_card")).unique()
    lag = (pl.col("london_date") - pl.col("due_date")).dt.total_days()
    return (
        pair_ids.join(s_cols, on="i").join(l_cols.drop("ref_key"), on="j").join(on_card, on=["i", "j"], how="left")
        .with_columns(
            ((pl.col("s_ref").fill_null("") != "") & (pl.col("l_ref_stripped") == pl.col("s_ref").str.strip_chars()))
            .fill_null(False).alias("same_ref"),
            pl.col("same_card").fill_null(False),
            (pl.col("l_amount") == pl.col("s_amount")).alias("same_amount"),
            lag.alias("lag"),
        )
        .with_columns(pl.col("lag").is_between(-tolerance_days, tolerance_days).alias("in_window"))
        # A weak pair (same card and date only) waits until the row is due: before then the row's own
        # load, with its reference, is more likely still to come, and the early money is unexpected.
        .filter(
            pl.col("same_ref")
            | (pl.col("same_card") & (pl.col("same_amount") | (pl.col("in_window") & (pl.col("due_date") <= run_day))))
        )
        .with_columns(
            (8 * pl.col("same_ref").cast(pl.Int32) + 4 * pl.col("same_card").cast(pl.Int32)
             + 2 * pl.col("same_amount").cast(pl.Int32) + pl.col("in_window").cast(pl.Int32)).alias("score"),
            pl.col("lag").abs().alias("abs_lag"),
        )
    )


def match_loads(
    schedule: pl.DataFrame,
    seen: pl.DataFrame,
    register: pl.DataFrame,
    *,
    tolerance_days: int,
    run_day: dt.date,
) -> tuple[list[tuple[dict, dict]], list[dict], list[tuple[dict, bool]]]:
    """Greedy best-score matching. Returns (matched pairs, unmatched scheduled rows, unmatched seen rows
    each with a flag "would have matched an already matched schedule row" for duplicates).

    ``schedule``: client_id, due_date, amount_pence, reference. ``seen``: provider, provider_txn_id,
    account_id, client_id, council, amount_pence, london_date, reference. ``register``: client_id,
    provider, account_id, council.

    The candidate pairs (same reference, or a load on one of the client's cards) are found and scored
    column-wise; only the greedy pass over the sorted pairs is a loop. Why: a 35-day window of a
    10,000-card scheme is tens of thousands of pairs, and scoring them a dict at a time was 0.6 s of
    the night (tests/reconciliation/test_load_matching.py checks it against that card-by-card form).
    """
    assert tolerance_days >= 0
    sched_df = schedule.sort("due_date", "reference").with_row_index("i")
    loads_df = seen.sort("london_date", "provider", "provider_txn_id").with_row_index("j")
    pairs = _candidate_pairs(sched_df, loads_df, register, tolerance_days=tolerance_days, run_day=run_day)
    assert pairs.height <= MAX_PAIRS, f"{pairs.height} candidate load pairs exceed the bound {MAX_PAIRS}"
    ordered = pairs.sort(["score", "abs_lag", "london_date", "provider_txn_id", "s_ref", "i", "j"],
                         descending=[True, False, False, False, False, False, False])
    used_s: set[int] = set()
    used_l: set[int] = set()
    taken: list[tuple[int, int]] = []
    for i, j in zip(ordered["i"].to_list(), ordered["j"].to_list(), strict=True):
        if i in used_s or j in used_l:
            continue
        used_s.add(i)
        used_l.add(j)
        taken.append((i, j))
    # Seen loads that repeat a scheduled row another load took (same reference, or same card and amount).
    repeats = set(
        pairs.filter(pl.col("same_ref") | (pl.col("same_card") & pl.col("same_amount")))
        .filter(pl.col("i").is_in(list(used_s)))["j"].to_list()
    )
    sched = sched_df.drop("i").to_dicts()
    loads = loads_df.drop("j").to_dicts()
    matched = [(sched[i], loads[j]) for i, j in taken]
    unmatched_sched = [sched[i] for i in range(len(sched)) if i not in used_s]
    unmatched_seen = [(loads[j], j in repeats) for j in range(len(loads)) if j not in used_l]
    return matched, unmatched_sched, unmatched_seen


def _matched_exceptions(row: dict, s: dict, council: str | None, tolerance_days: int) -> list[ExceptionItem]:
    """A scheduled load and the load that paid it: ``wrong_amount_load`` if the amounts differ,
    ``late_load`` if it came after the due date and the tolerance."""
    ref, due = row["reference"], row["due_date"]
    lag = (s["london_date"] - due).days
    seen_txt = f"load {s['provider']}:{s['provider_txn_id']} of {pounds(int(s['amount_pence']))} seen on {s['london_date']:%d/%m/%Y}"
    base = dict(
        council=council, client_id=row["client_id"], provider=s["provider"],
        account_id=s["account_id"], evidence=(f"{s['provider']}:{s['provider_txn_id']}",), raised_for="finance",
    )
    found = []
    if int(s["amount_pence"]) != int(row["amount_pence"]):
        diff = int(s["amount_pence"]) - int(row["amount_pence"])
        found.append(
            ExceptionItem(
                key=f"wrong_amount_load:{ref}", exception_type="wrong_amount_load", london_date=due,
                amount_pence=int(s["amount_pence"]), difference_pence=diff, cause="amount",
                explanation=(
                    f"Scheduled load {ref} for client {row['client_id']} was {pounds(int(row['amount_pence']))} due "
                    f"{due:%d/%m/%Y}; the {seen_txt} is {pounds(abs(diff))} {'more' if diff > 0 else 'less'}. "
                    f"{'Recover the excess' if diff > 0 else 'Load the shortfall'} or correct the schedule."
                ),
                **base,
            )
        )
    if lag > tolerance_days:
        found.append(
            ExceptionItem(
                key=f"late_load:{ref}", exception_type="late_load", london_date=due,
                amount_pence=int(s["amount_pence"]), difference_pence=None, cause=f"late_{lag}_days",
                explanation=(
                    f"Scheduled load {ref} for client {row['client_id']} was due {due:%d/%m/%Y}; the {seen_txt}, "
                    f"{lag} days late (tolerance {tolerance_days}). The person may have been short of money for care "
                    "meanwhile; check why the payment run was late."
                ),
                **base,
            )
        )
    return found


def _missing_exception(row: dict, council: str | None, card: tuple[str, str] | None, run_day: dt.date) -> ExceptionItem:
    due = row["due_date"]
    return ExceptionItem(
        key=f"missing_load:{row['reference']}", exception_type="missing_load", london_date=due,
        council=council, client_id=row["client_id"],
        provider=card[0] if card else None, account_id=card[1] if card else None,
        amount_pence=int(row["amount_pence"]), difference_pence=-int(row["amount_pence"]), raised_for="finance",
        explanation=(
            f"Scheduled load {row['reference']} of {pounds(int(row['amount_pence']))} for client {row['client_id']} "
            f"(card {last4(card[1]) if card else 'unknown'}) was due {due:%d/%m/%Y} and had not been seen in any "
            f"provider file by the run of {run_day:%d/%m/%Y}. Check the council's payment run and bank statement."
        ),
    )


def _unmatched_exception(s: dict, duplicate: bool, councils: dict[str, str]) -> ExceptionItem:
    """A load no scheduled row took: a repeat of one another load already paid, or unexpected."""
    day = s["london_date"]
    etype = "duplicate_load" if duplicate else "unexpected_load"
    who = f"client {s['client_id']}" if s.get("client_id") else "a card not in the cardholder register"
    return ExceptionItem(
        key=f"{etype}:{s['provider']}:{s['provider_txn_id']}", exception_type=etype, london_date=day,
        council=s.get("council") or councils.get(s.get("client_id")), client_id=s.get("client_id"),
        provider=s["provider"], account_id=s["account_id"], amount_pence=int(s["amount_pence"]),
        difference_pence=int(s["amount_pence"]), raised_for="finance",
        evidence=(f"{s['provider']}:{s['provider_txn_id']}",),
        explanation=(
            f"Load {s['provider']}:{s['provider_txn_id']} of {pounds(int(s['amount_pence']))} onto card "
            f"{last4(s['account_id'])} ({who}) on {day:%d/%m/%Y}"
            + (f", reference {s['reference']}" if s.get("reference") else "")
            + (
                " repeats a scheduled load that another load already paid. Recover the duplicate from the card."
                if duplicate
                else " matches no scheduled load. Find who authorised it; add it to the schedule or recover it."
            )
        ),
    )


def load_exceptions(
    schedule: pl.DataFrame,
    seen: pl.DataFrame,
    register: pl.DataFrame,
    *,
    tolerance_days: int,
    run_day: dt.date,
    report_from: dt.date,
) -> list[ExceptionItem]:
    """Exceptions about loads whose day (due date, or seen date for unscheduled ones) is in [report_from, run_day].

    The caller passes schedule rows and seen loads from a little before ``report_from`` (by the tolerance)
    so that a load near the window's start still finds its partner.
    """
    councils = {c: co for c, co in register.select("client_id", "council").iter_rows()}
    cards: dict[str, tuple[str, str]] = {c: (p, a) for c, p, a in register.select("client_id", "provider", "account_id").iter_rows()}
    matched, missing, extra = match_loads(schedule, seen, register, tolerance_days=tolerance_days, run_day=run_day)

    def inside(day: dt.date) -> bool:
        return report_from <= day <= run_day

    found: list[ExceptionItem] = []
    for row, s in matched:
        if inside(row["due_date"]):
            found += _matched_exceptions(row, s, councils.get(row["client_id"]), tolerance_days)
    for row in missing:
        due = row["due_date"]
        if (run_day - due).days <= tolerance_days or not inside(due):
            continue  # not yet overdue, or outside this check's window
        found.append(_missing_exception(row, councils.get(row["client_id"]), cards.get(row["client_id"]), run_day))
    found += [_unmatched_exception(s, dup, councils) for s, dup in extra if inside(s["london_date"])]
    keys = [f.key for f in found]
    assert len(keys) == len(set(keys)), "load exceptions must have distinct keys"
    return found
