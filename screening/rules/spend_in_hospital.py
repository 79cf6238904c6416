"""spend_in_hospital: card or cash use strictly inside a hospital stay or residential respite
(client_events.csv admission/discharge, respite start/end; open-ended while no end is recorded).

Parameters: none. Episode: one per stay from its first day with card use.
"""

from __future__ import annotations

import polars as pl

from screening.findings import Finding
from screening.rules.base import CARD_KINDS, Rule, ScreenInput, to_findings
from screening.rules.episodes import episode_days
from screening.rules.frames import items_of, stays
from screening.rules.text import gbp, kinds_text


def spend_in_hospital(inp: ScreenInput) -> list[Finding]:
    """Card or cash use strictly inside a hospital stay or residential respite (client_events).

    Bank payments are left out on purpose: a personal assistant's retainer during a stay is usual and is
    checked by unapproved_payee; it is the card itself being used that suggests someone else has it.
    """
    sp = items_of(inp, CARD_KINDS).filter(pl.col("out_pence") > 0).join(stays(inp.events), on="client_id")
    sp = sp.filter((pl.col("london_date") > pl.col("start")) & (pl.col("end").is_null() | (pl.col("london_date") < pl.col("end"))))
    df = episode_days(sp, ["client_id", "stay", "start", "end"])

    def explain(r: dict) -> str:
        until = f"until {r['end']}" if r["end"] else "with no end recorded"
        return (
            f"{kinds_text(r['kinds'])} totalling {gbp(r['amount_pence'])} on {r['detected_on']} while the client was "
            f"in a {r['stay']} from {r['start']} {until} (client_events.csv)."
        )

    return to_findings(inp, RULE, df, explain, policy=lambda r: f"{r['council']}: client_events {r['stay']}", override=lambda r: None)


RULE = Rule("spend_in_hospital", severity="high", params=(), find=spend_in_hospital)
