"""drain_after_load: a share (``drain_share``) of a council load left the card within
``drain_window_hours`` of the load.

Episode: one per load, about the load's day, detected on the day the spending since the load reached the
share; its evidence is the load and the spending up to that day.
"""

from __future__ import annotations

import polars as pl

from screening.findings import Finding
from screening.rules.base import Rule, ScreenInput, to_findings
from screening.rules.frames import with_params
from screening.rules.text import gbp, kinds_text, plural

PARAMS = ("drain_share", "drain_window_hours")
# What drain after load counts as a load, and where its window ends (``load_at``: the load's time; the
# client's drain_window_hours joined): shared with screening.run.drain_loads, which decides whose history
# the rule needs, so the two cannot come apart.
IS_DRAIN_LOAD = (pl.col("kind") == "council_load") & (pl.col("amount_pence") > 0)


def drain_window_end(load_at: pl.Expr) -> pl.Expr:
    """The last instant a spend counts towards the drain of a load made at ``load_at``."""
    return load_at + pl.duration(hours=pl.col("drain_window_hours"))


def _spends_after_loads(inp: ScreenInput) -> pl.DataFrame:
    """Each load with every spend inside its window, in time order, and the running total spent."""
    loads = with_params(
        inp,
        inp.items.filter(IS_DRAIN_LOAD).select(
            "client_id", pl.col("txn").alias("load_txn"), pl.col("at_utc").alias("load_at"),
            pl.col("london_date").alias("load_date"), pl.col("amount_pence").alias("load_pence"),
        ),
        PARAMS,
    )
    spends = inp.items.filter(pl.col("out_pence") > 0).select("client_id", "txn", "at_utc", "london_date", "kind", "out_pence")
    j = loads.join(spends, on="client_id").filter(
        (pl.col("at_utc") > pl.col("load_at"))
        & (pl.col("at_utc") <= drain_window_end(pl.col("load_at")))
    ).sort("load_txn", "at_utc", "txn")
    return j.with_columns(pl.col("out_pence").cum_sum().over("load_txn").alias("cum"))


def drain_after_load(inp: ScreenInput) -> list[Finding]:
    """A share (drain_share) of a council load left the card within drain_window_hours of the load."""
    j = _spends_after_loads(inp)
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
            f"{plural(hours, 'hour')}: {kinds_text(r['kinds'])} totalling {gbp(r['amount_pence'])} "
            f"(threshold {r['drain_share']:.0%} within {r['drain_window_hours']} hours)."
        )

    return to_findings(inp, RULE, df, explain)


RULE = Rule("drain_after_load", severity="high", params=PARAMS, find=drain_after_load)
