"""unusual_hours: ``unusual_hours_min_count`` or more card/cash uses at night (London hours
``unusual_hours_start`` inclusive to ``unusual_hours_end`` exclusive; start > end wraps midnight) within
``unusual_hours_window_days``. Bank payments are left out: standing orders run at night.

Episode: a burst (episodes.bursts) per client.
"""

from __future__ import annotations

import polars as pl

from screening.findings import Finding
from screening.rules.base import CARD_KINDS, Rule, ScreenInput, to_findings
from screening.rules.episodes import burst_dates, bursts
from screening.rules.frames import items_of, with_params
from screening.rules.text import gbp, plural

PARAMS = ("unusual_hours_start", "unusual_hours_end", "unusual_hours_min_count", "unusual_hours_window_days")


def unusual_hours(inp: ScreenInput) -> list[Finding]:
    """unusual_hours_min_count or more card/cash uses at night (London hours start..end) within the window days."""
    it = with_params(inp, items_of(inp, CARD_KINDS).filter(pl.col("out_pence") > 0), PARAMS)
    h, s, e = pl.col("at_london").dt.hour().cast(pl.Int64), pl.col("unusual_hours_start"), pl.col("unusual_hours_end")
    night = pl.when(s <= e).then((h >= s) & (h < e)).otherwise((h >= s) | (h < e))
    it = it.filter(night)
    b = bursts(it, ["client_id"], pl.duration(days=pl.col("unusual_hours_window_days")), pl.col("unusual_hours_min_count"))
    b = with_params(inp, burst_dates(b), PARAMS)

    def explain(r: dict) -> str:
        return (
            f"{plural(r['n'], 'card use')} totalling {gbp(r['amount_pence'])} between "
            f"{r['unusual_hours_start']:02d}:00 and {r['unusual_hours_end']:02d}:00 London time from {r['london_date']} "
            f"to {r['detected_on']} (threshold {r['unusual_hours_min_count']} within {r['unusual_hours_window_days']} days)."
        )

    return to_findings(inp, RULE, b, explain)


RULE = Rule("unusual_hours", severity="medium", params=PARAMS, find=unusual_hours)
