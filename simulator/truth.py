"""The ground truth: every planted case as ``ground_truth.json`` lists it (docs/simulator.md, "Planted
cases"), with its evidence as the providers' ids. Never read by the pipeline; tests and
``careledger evaluate`` compare what the pipeline found against it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from simulator.model import Case
from simulator.population import Population
from simulator.render import evidence_ids


def _case_dict(rule: str, client_id: str | None, provider: str | None, account_id: str | None, day: dt.date | None,
               ids: list[str], amount: int | None, description: str) -> dict[str, Any]:
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


def _evidence(case: Case) -> list[str]:
    """The case's evidence ids in time order, each once (a B card payment: authorisation and clearing)."""
    ids: list[str] = []
    for it in sorted(case.evidence, key=lambda i: (i.at, i.seq)):
        for e in evidence_ids(it):
            if e not in ids:
                ids.append(e)
    return ids


def truth_cases(pop: Population, cases: list[Case]) -> list[dict[str, Any]]:
    """Planted card cases, statement discrepancies and file cases, sorted by date, rule, client, provider.
    Call after ids are assigned (render.assign_ids)."""
    out = [
        _case_dict(case.rule, case.client.client_id if case.client else None, case.provider, case.account_id,
                   case.date, _evidence(case), case.amount_pence, case.description)
        for case in cases
    ]
    for c, day, delta in pop.discrepancies:
        out.append(_case_dict("balance_discrepancy", c.client_id, c.provider, c.account_id, day, [], delta,
                              f"provider's closing balance for {day} differs from its own transactions by "
                              f"{delta / 100:+.2f} (statement minus transactions)"))
    for rule, provider, day in pop.file_cases:
        desc = (f"provider {provider}'s files for {day} arrive only in the next day's drop folder"
                if rule == "late_file" else
                f"provider {provider}'s files for {day} never arrive; the next day's transactions file repeats that day's items")
        out.append(_case_dict(rule, None, provider, None, day, [], None, desc))
    out.sort(key=lambda c: (c["date"], c["rule"], c["client_id"] or "", c["provider"] or ""))
    return out
