"""Plain-English names of the rules, for people: the workspace's queue and case pages.

Why a table of titles and not the identifiers: a safeguarding lead reads "Card emptied soon after a load",
not ``drain_after_load``. The identifiers stay the key everywhere else (the database, the CLI, the
simulator's ground truth). Every rule has a title (a test checks it), and the window a case page charts
for it: which money to draw and over how many days up to the latest finding.
"""

from __future__ import annotations

from screening.rules import EXTERNAL_RULES, RULE_NAMES

RULE_TITLES: dict[str, str] = {
    "restricted_mcc": "Spending at a restricted kind of shop",
    "unapproved_payee": "Payment to someone not approved",
    "cash_not_allowed": "Cash taken where the plan allows none",
    "cash_over_limit": "Cash over the weekly limit",
    "spending_abroad": "Card used abroad",
    "spend_after_death": "Card used after the person died",
    "spend_in_hospital": "Card used during a hospital or respite stay",
    "drain_after_load": "Card emptied soon after a load",
    "cash_spike": "Sudden rise in cash",
    "new_payee_burst": "Many payments to a new payee",
    "dormant_card": "Card not used for weeks",
    "unusual_hours": "Card used at night",
    "velocity": "Many card uses in a short time",
    "contributions_stopped": "Contributions have stopped",
}

# What a case page charts for a rule: "cash" (cash and cash-like), "spend" (all money out) or "in_out"
# (money in and out), and the days up to the case's latest finding.
CHART: dict[str, tuple[str, int]] = {
    "cash_spike": ("cash", 91),
    "cash_over_limit": ("cash", 42),
    "cash_not_allowed": ("cash", 42),
    "drain_after_load": ("in_out", 21),
    "dormant_card": ("in_out", 56),
    "contributions_stopped": ("in_out", 91),
}
CHART_DEFAULT: tuple[str, int] = ("spend", 42)

assert set(RULE_TITLES) == set(RULE_NAMES) | set(EXTERNAL_RULES), "every rule needs a plain-English title"


def rule_title(rule: str) -> str:
    """The rule's plain-English name (an unknown rule, from a newer version, shows as itself)."""
    return RULE_TITLES.get(rule, rule.replace("_", " "))


def chart_for(rule: str) -> tuple[str, int]:
    """(what to chart, days) for a case of this rule."""
    return CHART.get(rule, CHART_DEFAULT)
