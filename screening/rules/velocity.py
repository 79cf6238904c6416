"""velocity: ``velocity_count`` or more card/cash uses within ``velocity_window_minutes``.

Episode: a burst (episodes.bursts) per client; the explanation gives the minutes the burst really took.
"""

from __future__ import annotations

import polars as pl

from screening.findings import Finding
from screening.rules.base import CARD_KINDS, Rule, ScreenInput, to_findings
from screening.rules.episodes import burst_dates, bursts
from screening.rules.frames import items_of, with_params
from screening.rules.text import gbp, kinds_text, plural

PARAMS = ("velocity_count", "velocity_window_minutes")


def _minutes_taken(it: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
    """Per burst (client_id, start_at): minutes from its first to its last use, rounded up (last_minutes)."""
    return (
        it.join(b.select("client_id", "start_at", "evidence").explode("evidence").rename({"evidence": "txn"}), on=["client_id", "txn"])
        .group_by("client_id", "start_at")
        .agg(((pl.col("at_utc").max() - pl.col("at_utc").min()).dt.total_seconds() / 60).ceil().alias("last_minutes"))
    )


def velocity(inp: ScreenInput) -> list[Finding]:
    """velocity_count or more card/cash uses within velocity_window_minutes."""
    it = with_params(inp, items_of(inp, CARD_KINDS).filter(pl.col("out_pence") > 0), PARAMS)
    b = bursts(it, ["client_id"], pl.duration(minutes=pl.col("velocity_window_minutes")), pl.col("velocity_count"))
    b = with_params(inp, burst_dates(b), PARAMS)

    def explain(r: dict) -> str:
        minutes = max(1, int(r["last_minutes"])) if r.get("last_minutes") is not None else r["velocity_window_minutes"]
        return (
            f"{plural(r['n'], 'card use')} ({kinds_text(r['kinds'])}) totalling {gbp(r['amount_pence'])} within "
            f"{plural(minutes, 'minute')} on {r['london_date']} (threshold {r['velocity_count']} within "
            f"{r['velocity_window_minutes']} minutes)."
        )

    b = b.join(_minutes_taken(it, b), on=["client_id", "start_at"], how="left")
    return to_findings(inp, RULE, b, explain)


RULE = Rule("velocity", severity="medium", params=PARAMS, find=velocity)
