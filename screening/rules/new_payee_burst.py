"""new_payee_burst: ``new_payee_burst_count`` or more bank payments within ``new_payee_window_days`` to one
new or unapproved payee.

"New": not approved on the payment day, or approved within the window before it. Payees approved as an
agency, payroll bureau or supplier are organisations, not the individuals this rule is about. Episode: a
burst (episodes.bursts) per payee account; payments in it are also unapproved_payee findings when the
payee is not approved (two questions: who is this payee, and why so many payments so fast).
"""

from __future__ import annotations

import polars as pl

from screening.findings import Finding
from screening.rules.base import Rule, ScreenInput, to_findings
from screening.rules.episodes import burst_dates, bursts
from screening.rules.frames import with_params
from screening.rules.payees import payments_with_approval
from screening.rules.text import gbp, last4, plural

PARAMS = ("new_payee_burst_count", "new_payee_window_days")
ORGANISATION_KINDS = ("agency", "payroll_bureau", "supplier")  # payees.csv kinds that are not individuals


def new_payee_burst(inp: ScreenInput) -> list[Finding]:
    """new_payee_burst_count or more bank payments within new_payee_window_days to one new or unapproved payee."""
    window = pl.duration(days=pl.col("new_payee_window_days"))
    pay = with_params(inp, payments_with_approval(inp), PARAMS)
    new = ~pl.col("approved") | (pl.col("approved_since") > pl.col("london_date") - window)
    org = pl.col("payee_kind").is_in(list(ORGANISATION_KINDS)).fill_null(False) & pl.col("approved")
    pay = pay.filter(new & ~org)
    keys = ["client_id", "payee_sort_code", "payee_account_number"]
    b = bursts(pay, keys, window, pl.col("new_payee_burst_count"))
    b = with_params(inp, burst_dates(b), PARAMS)

    def explain(r: dict) -> str:
        days = (r["detected_on"] - r["london_date"]).days + 1
        return (
            f"{plural(r['n'], 'bank payment')} totalling {gbp(r['amount_pence'])} to one new or unapproved payee "
            f"(account ending {last4(r['payee_account_number'])}) within {plural(days, 'day')} from {r['london_date']} "
            f"(threshold {r['new_payee_burst_count']} within {r['new_payee_window_days']} days)."
        )

    return to_findings(inp, RULE, b, explain)


RULE = Rule("new_payee_burst", severity="high", params=PARAMS, find=new_payee_burst)
