"""spend_after_death: any spending (card, cash or bank payment) on a day after the client's recorded death
(client_events.csv ``deceased``).

Parameters: none. Episode: one from the first such day; each later day's spending is a finding about it.
"""

from __future__ import annotations

import polars as pl

from screening.findings import Finding
from screening.rules.base import SPEND_KINDS, Rule, ScreenInput, to_findings
from screening.rules.episodes import episode_days
from screening.rules.frames import items_of
from screening.rules.text import gbp, kinds_text, plural


def spend_after_death(inp: ScreenInput) -> list[Finding]:
    """Any spending (card, cash or bank payment) on a day after the client's recorded death."""
    deaths = inp.events.filter(pl.col("event") == "deceased").group_by("client_id").agg(pl.col("date").min().alias("death"))
    sp = items_of(inp, SPEND_KINDS).filter(pl.col("out_pence") > 0).join(deaths, on="client_id")
    sp = sp.filter(pl.col("london_date") > pl.col("death"))
    df = episode_days(sp, ["client_id", "death"])

    def explain(r: dict) -> str:
        days = (r["detected_on"] - r["death"]).days
        return (
            f"{kinds_text(r['kinds'])} totalling {gbp(r['amount_pence'])} on {r['detected_on']}, "
            f"{plural(days, 'day')} after the client's recorded death on {r['death']} (client_events.csv)."
        )

    return to_findings(inp, RULE, df, explain, policy=lambda r: f"{r['council']}: client_events deceased", override=lambda r: None)


RULE = Rule("spend_after_death", severity="critical", params=(), find=spend_after_death)
