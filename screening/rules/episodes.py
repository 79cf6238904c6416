"""How rules turn events into episodes, so a pattern that spans days is one finding about its first day.

- ``episode_days``: per key (a client and a death, a stay) one row per day with spending, each naming the
  episode's first day (spend_after_death, spend_in_hospital; the case collects the days).
- ``bursts``: at least N events of a key within a window (new_payee_burst, unusual_hours, velocity); events
  whose windows overlap are one episode. ``burst_dates`` gives an episode its London days.
"""

from __future__ import annotations

import polars as pl

from screening.rules.base import LONDON


def episode_days(spends: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """Per key and spending day: that day's evidence, with the episode's first day as london_date."""
    days = spends.group_by(*key, "london_date").agg(
        pl.col("txn").alias("evidence"),
        pl.col("out_pence").sum().alias("amount_pence"),
        pl.col("kind").alias("kinds"),
    )
    return days.with_columns(
        pl.col("london_date").alias("detected_on"),
        pl.col("london_date").min().over(key).alias("episode_start"),
    ).with_columns(pl.col("episode_start").alias("london_date"))


def _empty_bursts(ev: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    schema = {**{k: ev.schema[k] for k in keys}, "start_at": ev.schema["at_utc"], "detected_at": ev.schema["at_utc"]}
    return pl.DataFrame(schema={**schema, "evidence": pl.List(pl.Utf8), "amount_pence": pl.Int64, "n": pl.UInt32})


def _in_hot_buckets(ev: pl.DataFrame, keys: list[str], window: pl.Expr, min_count: pl.Expr) -> pl.DataFrame:
    """Cheap pre-filter: any window lies within two consecutive window-sized buckets, so only events in a
    bucket pair holding min_count events can be in a burst. Most cards never come close."""
    ev = ev.with_columns(
        (pl.col("at_utc").dt.epoch("us") // (window.dt.total_microseconds())).alias("_b"), min_count.alias("_min")
    )
    counts = ev.group_by(*keys, "_b").agg(pl.len().alias("_c"), pl.col("_min").first())
    nxt = counts.select(*keys, (pl.col("_b") - 1).alias("_b"), pl.col("_c").alias("_c_next"))
    pairs = counts.join(nxt, on=[*keys, "_b"], how="left").filter(pl.col("_c") + pl.col("_c_next").fill_null(0) >= pl.col("_min"))
    hot = pl.concat([pairs.select(*keys, "_b"), pairs.select(*keys, (pl.col("_b") + 1).alias("_b"))]).unique()
    return ev.join(hot, on=[*keys, "_b"], how="semi").drop("_b")


def bursts(ev: pl.DataFrame, keys: list[str], window: pl.Expr, min_count: pl.Expr) -> pl.DataFrame:
    """Episodes where at least ``min_count`` events of a key fall within ``window`` (a per-row duration).

    For each event, a forward as-of join finds the first event of the same key strictly after ``time -
    window``; the count in the window is the difference of their positions. Qualifying events whose windows
    overlap form one episode: (keys, start_at, detected_at, evidence, amount_pence, n, kinds).
    Linear in the events after the sort, whatever the window.
    """
    if ev.height == 0:
        return _empty_bursts(ev, keys)
    ev = _in_hot_buckets(ev, keys, window, min_count)
    if ev.height == 0:
        return _empty_bursts(ev, keys)
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


def burst_dates(df: pl.DataFrame) -> pl.DataFrame:
    """A burst episode's London days: the first event's (london_date) and the detecting event's (detected_on)."""
    def to_date(c: str) -> pl.Expr:
        return pl.col(c).dt.convert_time_zone(LONDON).dt.date()

    return df.with_columns(to_date("start_at").alias("london_date"), to_date("detected_at").alias("detected_on"))
