"""Frame steps several rules share: the items of some kinds, each client's parameters joined on, one
row per client and day, the first day a client was seen, and hospital stays and respite periods.

Why here: each is used by more than one rule, and a rule's module should read as its own steps.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from screening.rules.base import ScreenInput


def with_params(inp: ScreenInput, df: pl.DataFrame, cols: Iterable[str]) -> pl.DataFrame:
    """``df`` with the client's parameter columns ``cols`` joined on (clients without parameters dropped)."""
    cols = [c for c in cols if c not in df.columns or c == "client_id"]
    return df.join(inp.clients.select("client_id", *[c for c in cols if c != "client_id"]), on="client_id", how="inner")


def items_of(inp: ScreenInput, kinds: Iterable[str], *, complete_only: bool = True) -> pl.DataFrame:
    """The items of these kinds; only from ``complete_from`` (where every kind is held) unless told."""
    it = inp.items.filter(pl.col("kind").is_in(list(kinds)))
    if complete_only:
        it = it.filter(pl.col("london_date") >= inp.complete_from)
    return it


def daily(df: pl.DataFrame, extra: Iterable[pl.Expr] = ()) -> pl.DataFrame:
    """Group items per client and day: the one finding a day for per-item rules."""
    return df.group_by("client_id", "london_date").agg(
        pl.col("txn").alias("evidence"),
        pl.col("out_pence").sum().alias("amount_pence"),
        pl.len().alias("n"),
        *extra,
    ).with_columns(pl.col("london_date").alias("detected_on"))


def first_seen(inp: ScreenInput, items: pl.DataFrame) -> pl.DataFrame:
    """Per client, the first day any of its items was seen: in ``items`` or in the summarised history."""
    return (
        pl.concat([items.select("client_id", pl.col("london_date").alias("first_seen")), inp.activity.select("client_id", "first_seen")])
        .group_by("client_id")
        .agg(pl.col("first_seen").min())
    )


def stays(events: pl.DataFrame) -> pl.DataFrame:
    """Hospital stays and respite periods: (client_id, stay, start, end) with end null while open."""
    pairs = (("hospital_admission", "hospital_discharge", "hospital stay"), ("respite_start", "respite_end", "respite"))
    frames = []
    for first, last, label in pairs:
        starts = events.filter(pl.col("event") == first).select("client_id", pl.col("date").alias("start")).sort("start")
        ends = events.filter(pl.col("event") == last).select("client_id", pl.col("date").alias("end")).sort("end")
        j = starts.join_asof(ends, left_on="start", right_on="end", by="client_id", strategy="forward", check_sortedness=False)
        frames.append(j.with_columns(pl.lit(label).alias("stay")))
    return pl.concat(frames).select("client_id", "stay", "start", "end")
