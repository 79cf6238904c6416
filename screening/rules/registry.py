"""The rules, in the order they run, and what follows from them: their names, the thresholds they read,
and ``run_rules``.

To add a rule: a module ``screening/rules/<name>.py`` with the rule's function and its ``RULE``
(``base.Rule``: name, severity, thresholds read), listed here; its parameters' defaults in
``schemas.council_policy.THRESHOLD_DEFAULTS``; a row in docs/screening.md.
"""

from __future__ import annotations

from collections.abc import Iterable

from schemas.council_policy import THRESHOLD_DEFAULTS
from screening.findings import Finding, finding_sort_key
from screening.rules import (
    cash_not_allowed,
    cash_over_limit,
    cash_spike,
    dormant_card,
    drain_after_load,
    new_payee_burst,
    restricted_mcc,
    spend_after_death,
    spend_in_hospital,
    spending_abroad,
    unapproved_payee,
    unusual_hours,
    velocity,
)
from screening.rules.base import Rule, ScreenInput

RULES: tuple[Rule, ...] = (
    restricted_mcc.RULE,
    unapproved_payee.RULE,
    cash_not_allowed.RULE,
    cash_over_limit.RULE,
    spending_abroad.RULE,
    spend_after_death.RULE,
    spend_in_hospital.RULE,
    drain_after_load.RULE,
    cash_spike.RULE,
    new_payee_burst.RULE,
    dormant_card.RULE,
    unusual_hours.RULE,
    velocity.RULE,
)
BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}
RULE_NAMES: tuple[str, ...] = tuple(BY_NAME)
assert len(RULE_NAMES) == len(RULES), "rule names are unique"
# Findings other areas hand over through ``screening.cases.record_findings`` (not computed here).
EXTERNAL_RULES: tuple[str, ...] = ("contributions_stopped",)

# The council thresholds each rule reads, and all of them: the parameters a client may override.
PARAMS_BY_RULE: dict[str, tuple[str, ...]] = {r.name: r.params for r in RULES if r.params}
NUMERIC_PARAMS: tuple[str, ...] = tuple(p for ps in PARAMS_BY_RULE.values() for p in ps)
# A parameter's type is its default's (schemas.council_policy): drain_share 0.8, not 1.
FLOAT_PARAMS: frozenset[str] = frozenset(p for p in NUMERIC_PARAMS if isinstance(THRESHOLD_DEFAULTS[p], float))
assert set(NUMERIC_PARAMS) <= set(THRESHOLD_DEFAULTS), "every rule parameter has a default"


def run_rules(inp: ScreenInput, rules: Iterable[str] | None = None) -> list[Finding]:
    """Every rule over the input (or those named), findings in a stable order.

    Rules are independent: payments in a new_payee_burst to an unapproved payee are also unapproved_payee
    findings (two questions, two cases: who is this payee, and why so many payments so fast).
    """
    names = list(rules) if rules is not None else list(RULE_NAMES)
    unknown = sorted(set(names) - set(BY_NAME))
    assert not unknown, f"unknown rule(s) {unknown}"
    out: list[Finding] = []
    for name in names:
        out.extend(BY_NAME[name].find(inp))
    return sorted(out, key=finding_sort_key)
