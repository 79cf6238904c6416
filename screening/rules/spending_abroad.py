"""spending_abroad: card use at a merchant outside the UK (provider C gives no merchant country).

Parameters: none. Episode: one finding per client and day.
"""

from __future__ import annotations

import polars as pl

from screening.findings import Finding
from screening.rules.base import CARD_KINDS, Rule, ScreenInput, to_findings
from screening.rules.frames import daily, items_of
from screening.rules.text import gbp, kinds_text

HOME_COUNTRIES: tuple[str, ...] = ("GBR", "GB", "UK")


def spending_abroad(inp: ScreenInput) -> list[Finding]:
    """Card use at a merchant outside the UK (merchant_country not GBR/GB)."""
    it = items_of(inp, CARD_KINDS).filter(
        pl.col("merchant_country").is_not_null() & ~pl.col("merchant_country").str.to_uppercase().is_in(HOME_COUNTRIES)
    )
    df = daily(it, [pl.col("merchant_country").unique().sort().alias("countries"), pl.col("kind").alias("kinds")])

    def explain(r: dict) -> str:
        return (
            f"{kinds_text(r['kinds'])} totalling {gbp(r['amount_pence'])} outside the UK ({', '.join(r['countries'])}) "
            f"on {r['london_date']}."
        )

    return to_findings(inp, RULE, df, explain, policy=lambda r: f"{r['council']}: spending abroad is flagged", override=lambda r: None)


RULE = Rule("spending_abroad", severity="low", params=(), find=spending_abroad)
