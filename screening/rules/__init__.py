"""Safeguarding and restricted-spending rules: pure functions from card items to findings.

Why this shape (STYLE.md, "Small pure core"): a rule reads a ``ScreenInput`` (the policy: each client's
effective parameters and the council's reference data; every client's card items; their summarised
history) and returns ``Finding`` records. It opens no database, sends no mail and reads no clock, so it can
be tested on hand-built frames and replayed over any history.

Why vectorised: a night holds up to a million items for 100,000 cards. Each rule is a handful of polars
joins and group-bys over *all* clients at once; Python only touches the rows that fire (to write the
plain-English explanation), which are a tiny share.

Where things are:

- one module per rule (``restricted_mcc.py`` ... ``velocity.py``): its parameters, its episode handling,
  its explanation, and its ``RULE``; ``registry.py`` lists them in order and runs them (``run_rules``);
- ``base.py``: ``ScreenInput``, ``Rule``, the item schema, and rows -> findings (``to_findings``, with the
  detection-window semantics);
- ``inputs.py``: canonical transactions and reference data -> ``ScreenInput`` (``prepare_items``,
  ``client_params``, ``build_input``); ``lookback.py``: how much history the rules need;
- shared steps: ``frames.py`` (items of some kinds, parameters joined, per day, stays), ``episodes.py``
  (bursts and multi-day episodes), ``payees.py`` (approval status, tolerant name match), ``text.py``
  (pounds, last 4 digits, counted nouns).

This module is the package's public face: the names other packages use.
"""

from __future__ import annotations

from screening.rules.base import CARD_KINDS, SPEND_KINDS, Rule, ScreenInput
from screening.rules.inputs import build_input, client_overrides, client_params, prepare_items
from screening.rules.lookback import lookback_days, near_days, night_utc_hours, velocity_window
from screening.rules.payees import names_match
from screening.rules.registry import EXTERNAL_RULES, RULE_NAMES, RULES, run_rules

__all__ = [
    "CARD_KINDS",
    "EXTERNAL_RULES",
    "RULES",
    "RULE_NAMES",
    "SPEND_KINDS",
    "Rule",
    "ScreenInput",
    "build_input",
    "client_overrides",
    "client_params",
    "lookback_days",
    "names_match",
    "near_days",
    "night_utc_hours",
    "prepare_items",
    "run_rules",
    "velocity_window",
]
