"""restricted_mcc: card purchases at a merchant category the client's council restricts.

Parameters: the council's ``restricted_mcc_groups`` (cash excepted: cash has its own rules) less the
client's ``allowed_mcc_by_client``. Episode: one finding per client and day.
"""

from __future__ import annotations

import polars as pl

from schemas.mcc import GROUPS
from screening.findings import Finding
from screening.rules.base import Rule, ScreenInput, to_findings
from screening.rules.frames import daily, items_of, with_params
from screening.rules.text import gbp, plural

_GROUP_OF = {m: g for g, ms in GROUPS.items() for m in ms}


def restricted_mcc(inp: ScreenInput) -> list[Finding]:
    """Card purchases at a merchant category the client's council restricts (minus the client's exceptions)."""
    it = items_of(inp, ["card_purchase"]).filter(pl.col("mcc").is_not_null() & (pl.col("out_pence") > 0))
    it = with_params(inp, it, ["restricted_mccs", "allowed_mcc"])
    it = it.filter(pl.col("restricted_mccs").list.contains(pl.col("mcc")))
    df = daily(it, [pl.struct("mcc", "out_pence").alias("parts"), pl.col("allowed_mcc").first().alias("allowed_mcc")])

    def explain(r: dict) -> str:
        by: dict[str, int] = {}
        for p in r["parts"]:
            key = f"{_GROUP_OF.get(p['mcc'], '?')} (MCC {p['mcc']})"
            by[key] = by.get(key, 0) + p["out_pence"]
        parts = "; ".join(f"{k} {gbp(v)}" for k, v in sorted(by.items()))
        return (
            f"{plural(r['n'], 'card purchase')} totalling {gbp(r['amount_pence'])} at restricted merchant categories "
            f"on {r['london_date']}: {parts}."
        )

    def policy(r: dict) -> str:
        pol = inp.councils.get(r["council"])
        groups = ", ".join(g for g in pol.restricted_mcc_groups if g != "cash") if pol else ""
        return f"{r['council']} restricted_mcc_groups: {groups}"

    def override(r: dict) -> str | None:
        return f"client {r['client_id']} allowed MCC {', '.join(r['allowed_mcc'])}" if r["allowed_mcc"] else None

    return to_findings(inp, RULE, df, explain, policy=policy, override=override)


RULE = Rule("restricted_mcc", severity="medium", params=(), find=restricted_mcc)
