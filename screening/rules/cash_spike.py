"""cash_spike: cash (and cash-like purchases) in 7 days far above the client's own weekly history.

Parameters (``PARAMS``): the baseline is the weekly totals of the trailing ``spike_baseline_weeks`` fully
observed weeks; a spike is a 7-day total reaching median + max(``spike_mad_multiplier`` x MAD,
``spike_floor_pence``); with fewer than ``spike_min_history_weeks`` observed weeks (a new client) only the
floor applies. Only clients whose plan allows cash are compared (any cash on the others is
cash_not_allowed).

Episode: one finding per spike (a spike already raised in the previous 6 days is the same spike), detected
on the first cash day over the threshold and about the latest day from which the recent cash alone
reaches it.
"""

from __future__ import annotations

import polars as pl

from schemas.mcc import CASH_LIKE_MCCS
from screening.findings import Finding
from screening.rules.base import DAY, Rule, ScreenInput, to_findings
from screening.rules.frames import first_seen, with_params
from screening.rules.text import gbp, plural

PARAMS = ("spike_baseline_weeks", "spike_mad_multiplier", "spike_floor_pence", "spike_min_history_weeks")
SAME_SPIKE_DAYS = 6  # a spike over the threshold again within this many days is the one already raised


def _cash_days(inp: ScreenInput) -> pl.DataFrame:
    """Per client and day: the cash and cash-like purchases out (day_pence) and their ids (txn)."""
    cash_like = list(CASH_LIKE_MCCS)
    cash = inp.items.filter(
        (pl.col("out_pence") > 0) & ((pl.col("kind") == "cash") | ((pl.col("kind") == "card_purchase") & pl.col("mcc").is_in(cash_like)))
    )
    return cash.group_by("client_id", "london_date").agg(pl.col("out_pence").sum().alias("day_pence"), pl.col("txn"))


def _candidates(inp: ScreenInput, cash_days: pl.DataFrame) -> pl.DataFrame:
    """The (client, day) pairs to test: cash days that can end a 7-day window detected in the screened
    days, of clients allowed cash, with their parameters and the first day they were observed."""
    observed = first_seen(inp, inp.items).rename({"first_seen": "observed_from"})
    days = cash_days.filter(pl.col("london_date").is_between(inp.date_from - 7 * DAY, inp.date_to))
    cand = with_params(inp, days.select("client_id", pl.col("london_date").alias("day")), [*PARAMS, "cash_allowed"])
    cand = cand.join(observed, on="client_id", how="left")
    # Cash on a card that may not take cash at all is cash_not_allowed's finding, not a spike.
    return cand.filter(pl.col("cash_allowed").fill_null(False))


def _weekly_baseline(cand: pl.DataFrame, cash_days: pl.DataFrame) -> pl.DataFrame:
    """Per candidate: the 7 days' cash (cur_pence), the baseline weeks' median, MAD and count (n_weeks),
    and the threshold. Only fully observed weeks count; a week with no cash counts as 0."""
    j = cand.join(cash_days, on="client_id").with_columns((pl.col("day") - pl.col("london_date")).dt.total_days().alias("offset"))
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
    return s.with_columns((pl.col("median") + pl.max_horizontal(spread, pl.col("spike_floor_pence").cast(pl.Float64))).alias("threshold"))


def _new_spikes(s: pl.DataFrame) -> pl.DataFrame:
    """Candidates over the threshold, less those within SAME_SPIKE_DAYS of the previous one (the same
    spike stays over the threshold for up to 6 more days: raise it once)."""
    fired = s.filter(pl.col("cur_pence") >= pl.col("threshold")).sort("client_id", "day")
    fired = fired.with_columns(pl.col("day").shift(1).over("client_id").alias("_prev"))
    return fired.filter(pl.col("_prev").is_null() | ((pl.col("day") - pl.col("_prev")).dt.total_days() > SAME_SPIKE_DAYS))


def _with_pattern(fired: pl.DataFrame, cash_days: pl.DataFrame) -> pl.DataFrame:
    """Each spike with its start (the latest day from which cash up to the detection day alone reaches the
    threshold: london_date), its evidence and amount from that day on, and detected_on."""
    win = (
        fired.select("client_id", "day", "threshold")
        .join(cash_days, on="client_id")
        .filter(pl.col("london_date").is_between(pl.col("day") - 6 * DAY, pl.col("day")))  # the 7 days to it
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
    return fired.join(ev, on=["client_id", "day"]).with_columns(
        pl.col("start").alias("london_date"), pl.col("day").alias("detected_on")
    )


def cash_spike(inp: ScreenInput) -> list[Finding]:
    """Cash (and cash-like purchases) in 7 days far above the client's own weekly history (module docstring)."""
    cash_days = _cash_days(inp)
    cand = _candidates(inp, cash_days)
    if cand.height == 0:
        return []
    fired = _new_spikes(_weekly_baseline(cand, cash_days))
    if fired.height == 0:
        return []
    df = _with_pattern(fired, cash_days)

    def explain(r: dict) -> str:
        basis = (
            f"against a usual {gbp(r['median'])} a week (median of {r['n_weeks']} weeks, MAD {gbp(r['mad'])})"
            if r["n_weeks"]
            else "with no earlier weeks to compare (new client: floor only)"
        )
        return (
            f"{gbp(r['cur_pence'])} cash in the 7 days to {r['day']}, {gbp(r['amount_pence'])} of it since {r['start']} "
            f"({plural(len(r['evidence']), 'item')}), {basis}; threshold {gbp(r['threshold'])}."
        )

    return to_findings(inp, RULE, df, explain, details=lambda r: {"median_pence": r["median"], "mad_pence": r["mad"]})


RULE = Rule("cash_spike", severity="high", params=PARAMS, find=cash_spike)
