"""cash_over_limit: cash in a Monday-to-Sunday week above the client's weekly cash limit.

Parameters: the support plan's ``cash_allowed`` and ``cash_weekly_limit`` (cardholders.csv). Episode: one
per client and week, about (and detected on) the day the week's cash crossed the limit; its evidence is the
week's cash up to that day.
"""

from __future__ import annotations

import polars as pl

from screening.findings import Finding
from screening.rules.base import Rule, ScreenInput, to_findings
from screening.rules.frames import items_of, with_params
from screening.rules.text import gbp, plural


def _weeks_over(it: pl.DataFrame) -> pl.DataFrame:
    """Per client and week over the limit: the crossing day and the week's cash up to it."""
    it = it.with_columns(pl.col("london_date").dt.truncate("1w").alias("week")).sort("client_id", "at_utc", "txn")
    it = it.with_columns(pl.col("out_pence").cum_sum().over("client_id", "week").alias("cum"))
    crossing = (
        it.filter(pl.col("cum") > pl.col("cash_weekly_limit_pence"))
        .group_by("client_id", "week")
        .agg(pl.col("london_date").min().alias("detected_on"))
    )
    return (
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


def cash_over_limit(inp: ScreenInput) -> list[Finding]:
    """Cash in a Monday-to-Sunday week above the client's cash_weekly_limit (raised on the day it is crossed)."""
    it = with_params(inp, items_of(inp, ["cash"]).filter(pl.col("out_pence") > 0), ["cash_allowed", "cash_weekly_limit_pence"])
    it = it.filter(pl.col("cash_allowed").fill_null(False) & pl.col("cash_weekly_limit_pence").is_not_null())
    df = _weeks_over(it)

    def explain(r: dict) -> str:
        return (
            f"{gbp(r['amount_pence'])} cash in {plural(r['n'], 'withdrawal')} in the week of {r['week']} by "
            f"{r['detected_on']}, over the client's limit of {gbp(r['limit'])} a week by {gbp(r['amount_pence'] - r['limit'])}."
        )

    return to_findings(
        inp, RULE, df, explain,
        policy=lambda r: f"support plan (cardholders.csv): cash_weekly_limit={gbp(r['limit'])}", override=lambda r: None,
    )


RULE = Rule("cash_over_limit", severity="low", params=(), find=cash_over_limit)
