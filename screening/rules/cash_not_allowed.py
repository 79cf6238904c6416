"""cash_not_allowed: cash taken from a card whose support plan does not allow cash.

Parameters: the support plan's ``cash_allowed`` (cardholders.csv). Episode: one finding per client and day.
"""

from __future__ import annotations

import polars as pl

from screening.findings import Finding
from screening.rules.base import Rule, ScreenInput, to_findings
from screening.rules.frames import daily, items_of, with_params
from screening.rules.text import gbp, plural


def cash_not_allowed(inp: ScreenInput) -> list[Finding]:
    """Cash taken from a card whose support plan does not allow cash (cardholders.cash_allowed = N)."""
    it = with_params(inp, items_of(inp, ["cash"]).filter(pl.col("out_pence") > 0), ["cash_allowed"])
    df = daily(it.filter(~pl.col("cash_allowed").fill_null(False)))

    def explain(r: dict) -> str:
        return (
            f"{plural(r['n'], 'cash withdrawal')} totalling {gbp(r['amount_pence'])} on {r['london_date']}; "
            "the client's support plan does not allow cash."
        )

    return to_findings(
        inp, RULE, df, explain,
        policy=lambda r: "support plan (cardholders.csv): cash_allowed=N", override=lambda r: None,
    )


RULE = Rule("cash_not_allowed", severity="medium", params=(), find=cash_not_allowed)
