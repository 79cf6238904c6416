"""Realistic drop folders for providers A, B and C plus the council's extract, with planted cases.

``simulate(council, clients, start, days, seed, out)`` writes ``out/YYYYMMDD/`` per day and
``out/ground_truth.json`` (the planted cases; never read by the pipeline). Same seed, same bytes.
See docs/simulator.md for what is generated and how each planted case is defined.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SimResult", "simulate", "RULES"]


@dataclass
class SimResult:
    out: Path
    ground_truth: Path
    drops: list[Path] = field(default_factory=list)
    cases: int = 0
    items: int = 0


def simulate(
    council: str,
    clients: int,
    start: dt.date,
    days: int,
    seed: int,
    out: Path,
    *,
    planted: bool = True,
    progress: Callable[[str], None] | None = None,
) -> SimResult:
    """Simulate ``clients`` cards of ``council`` for ``days`` London days from ``start`` into ``out``."""
    from simulator.generate import generate
    from simulator.population import ALL_RULES, build_population
    from simulator.render import assign_ids, evidence_ids, write_drops

    if clients < 1 or days < 1:
        raise ValueError("clients and days must be at least 1")
    assert set(ALL_RULES) == set(RULES)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pop = build_population(council, clients, start, days, seed, planted)
    if progress:
        progress(f"population: {clients} clients")
    items, cases = generate(pop)
    assign_ids(pop, items)
    if progress:
        progress(f"generated {len(items)} items, {len(cases)} planted cases")
    drops, _balances = write_drops(pop, items, out, progress)

    gt_cases = []
    for case in cases:
        ids: list[str] = []
        for it in sorted(case.evidence, key=lambda i: (i.at, i.seq)):
            for e in evidence_ids(it):
                if e not in ids:
                    ids.append(e)
        gt_cases.append(_case_dict(case.rule, case.client.client_id if case.client else None, case.provider,
                                   case.account_id, case.date, ids, case.amount_pence, case.description))
    for c, day, delta in pop.discrepancies:
        gt_cases.append(_case_dict("balance_discrepancy", c.client_id, c.provider, c.account_id, day, [], delta,
                                   f"provider's closing balance for {day} differs from its own transactions by "
                                   f"{delta / 100:+.2f} (statement minus transactions)"))
    for rule, provider, day in pop.file_cases:
        desc = (f"provider {provider}'s files for {day} arrive only in the next day's drop folder"
                if rule == "late_file" else
                f"provider {provider}'s files for {day} never arrive; the next day's transactions file repeats that day's items")
        gt_cases.append(_case_dict(rule, None, provider, None, day, [], None, desc))
    gt_cases.sort(key=lambda c: (c["date"], c["rule"], c["client_id"] or "", c["provider"] or ""))
    doc = {"council": council, "start": start.isoformat(), "days": days, "seed": seed, "cases": gt_cases}
    gt = out / "ground_truth.json"
    gt.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return SimResult(out=out, ground_truth=gt, drops=drops, cases=len(gt_cases), items=len(items))


def _case_dict(rule, client_id, provider, account_id, day, ids, amount, description) -> dict:
    return {
        "rule": rule,
        "client_id": client_id,
        "provider": provider,
        "account_id": account_id,
        "date": day.isoformat() if day else None,
        "evidence_txn_ids": ids,
        "amount_pence": amount,
        "description": description,
    }


RULES: tuple[str, ...] = (
    "restricted_mcc", "unapproved_payee", "cash_not_allowed", "cash_over_limit", "spending_abroad",
    "spend_after_death", "spend_in_hospital", "drain_after_load", "cash_spike", "new_payee_burst",
    "dormant_card", "unusual_hours", "velocity", "contribution_shortfall", "contributions_stopped",
    "balance_discrepancy", "missing_load", "late_load", "duplicate_load", "wrong_amount_load",
    "unexpected_load", "late_file", "missing_file",
)
