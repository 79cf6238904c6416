"""A finding: what a screening rule (or another area, such as contributions) says about a client.

Why a plain record: rules are pure functions (STYLE.md, Beancount's habit) that return findings;
storage, case handling, e-mail and reports take findings as input. Other areas hand findings to
screening through the same record (contributions hands over "contributions_stopped").
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class Finding:
    rule: str  # named rule, e.g. "drain_after_load"; matches the simulator's ground-truth names
    council: str
    client_id: str
    london_date: dt.date  # the day the finding is about (first day of the pattern)
    severity: str  # one of SEVERITIES
    explanation: str  # plain English with the numbers in it, no names, last 4 digits of accounts only
    evidence_txn_ids: tuple[str, ...] = ()  # "provider:provider_txn_id"
    amount_pence: int | None = None  # the money concerned, when there is one
    provider: str | None = None
    account_id: str | None = None
    policy: str | None = None  # which policy / threshold applied ("Testshire restricted_mcc_groups")
    override: str | None = None  # which client-level override applied, if any
    details: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        assert self.severity in SEVERITIES, f"unknown severity {self.severity!r}"
        assert self.rule and self.client_id, "a finding names its rule and client"


def finding_key(f: Finding) -> str:
    """Natural key: rule + client + date + evidence. Recording the same finding twice adds nothing."""
    return json.dumps([f.rule, f.client_id, f.london_date.isoformat(), sorted(f.evidence_txn_ids)], separators=(",", ":"))


def finding_sort_key(f: Finding) -> tuple:
    """The order findings are listed in: by day, council, client, rule, evidence."""
    return (f.london_date, f.council, f.client_id, f.rule, f.evidence_txn_ids)
