"""Measure screening against the simulator's planted cases: recall and precision per rule.

Matching: a finding matches a planted case with the same rule and client whose date is within
``tolerance_days`` of the finding's date. Findings are counted once per (rule, client, date): several
nights' findings about one pattern are one finding here. Recall = planted cases matched / planted cases;
precision = findings matching some planted case / findings. A finding with no planted case is a false
positive, whatever it is.

Only rules this area raises are scored (the simulator's ground truth also holds finance and file cases).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ledger.bulk import to_date
from ledger.db import get_engine
from screening.rules import EXTERNAL_RULES, RULE_NAMES
from screening.tables import screening_findings

SCORED_RULES: tuple[str, ...] = (*RULE_NAMES, *EXTERNAL_RULES)


def score(
    cases: list[dict[str, Any]],
    findings: list[tuple[str, str, dt.date]],
    *,
    tolerance_days: int = 3,
    rules: tuple[str, ...] = SCORED_RULES,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> dict[str, Any]:
    """Pure scoring: ground-truth cases (dicts with rule, client_id, date) vs findings (rule, client, date)."""
    planted = [
        (c["rule"], c["client_id"], dt.date.fromisoformat(c["date"]), c.get("description", ""))
        for c in cases
        if c["rule"] in rules and c.get("client_id")
    ]
    found = sorted({f for f in findings if f[0] in rules and (date_from is None or f[2] >= date_from) and (date_to is None or f[2] <= date_to)})
    by_rc: dict[tuple[str, str], list[dt.date]] = {}
    for rule, client, day in found:
        by_rc.setdefault((rule, client), []).append(day)
    planted_by_rc: dict[tuple[str, str], list[dt.date]] = {}
    for rule, client, day, _ in planted:
        planted_by_rc.setdefault((rule, client), []).append(day)

    def near(days: list[dt.date], day: dt.date) -> bool:
        return any(abs((d - day).days) <= tolerance_days for d in days)

    table: dict[str, dict[str, Any]] = {}
    missed, false_pos = [], []
    for rule in rules:
        p = [x for x in planted if x[0] == rule]
        f = [x for x in found if x[0] == rule]
        hit_cases = [x for x in p if near(by_rc.get((rule, x[1]), []), x[2])]
        good = [x for x in f if near(planted_by_rc.get((rule, x[1]), []), x[2])]
        missed += [{"rule": r, "client_id": c, "date": d.isoformat(), "description": desc} for r, c, d, desc in p if (r, c, d, desc) not in hit_cases]
        false_pos += [{"rule": r, "client_id": c, "date": d.isoformat()} for r, c, d in f if (r, c, d) not in good]
        table[rule] = {
            "planted": len(p),
            "found": len(f),
            "recall": round(len(hit_cases) / len(p), 3) if p else None,
            "precision": round(len(good) / len(f), 3) if f else None,
            "true_positive_findings": len(good),
            "matched_cases": len(hit_cases),
        }
    tp_cases = sum(t["matched_cases"] for t in table.values())
    tp_findings = sum(t["true_positive_findings"] for t in table.values())
    n_planted = sum(t["planted"] for t in table.values())
    n_found = sum(t["found"] for t in table.values())
    overall = {
        "planted": n_planted,
        "found": n_found,
        "recall": round(tp_cases / n_planted, 3) if n_planted else None,
        "precision": round(tp_findings / n_found, 3) if n_found else None,
    }
    return {"tolerance_days": tolerance_days, "rules": table, "overall": overall, "missed": missed, "false_positives": false_pos}


def load_findings(db_url: str | None) -> list[tuple[str, str, dt.date]]:
    """Every recorded finding (suppressed ones too: suppression silences alerts, not detection)."""
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(select(screening_findings.c.rule, screening_findings.c.client_id, screening_findings.c.london_date)).all()
    return [(r, c, to_date(d)) for r, c, d in rows]


def evaluate(ground_truth: Path, db_url: str | None, *, tolerance_days: int = 3) -> dict[str, Any]:
    truth = json.loads(Path(ground_truth).read_text(encoding="utf-8"))
    start = dt.date.fromisoformat(truth["start"])
    end = start + dt.timedelta(days=int(truth["days"]) - 1)
    out = score(truth["cases"], load_findings(db_url), tolerance_days=tolerance_days, date_from=start, date_to=end)
    out.update({"council": truth.get("council"), "start": truth["start"], "days": truth["days"], "seed": truth.get("seed")})
    return out
