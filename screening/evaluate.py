"""Measure screening against the simulator's planted cases: recall and precision per rule.

Matching: a finding matches a planted case with the same rule and client whose date falls between the
finding's first day (``london_date``) and the day it was detected (``detected_on``), give or take
``tolerance_days``: a pattern spans days, and which of them a planted case names (its first day, or the
day the threshold was crossed) is the simulator's convention. Findings are counted once per (rule,
client, date): several nights' findings about one pattern are one finding here. Recall = planted cases matched / planted cases;
precision = findings matching some planted case / findings. A finding with no planted case is a false
positive, whatever it is.

Only rules this area raises are scored (the simulator's ground truth also holds finance and file cases);
contributions_stopped, handed over by the contributions module, is scored when any such finding was recorded.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db.bulk import to_date
from db.engine import get_engine
from screening.rules.registry import EXTERNAL_RULES, RULE_NAMES
from screening.tables import screening_findings


def score(
    cases: list[dict[str, Any]],
    findings: list[tuple[str, str, dt.date, dt.date | None]],
    *,
    tolerance_days: int = 3,
    rules: tuple[str, ...] | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> dict[str, Any]:
    """Pure scoring: ground-truth cases (dicts with rule, client_id, date) vs findings
    (rule, client, london_date, detected_on)."""
    if rules is None:
        rules = (*RULE_NAMES, *[r for r in EXTERNAL_RULES if any(f[0] == r for f in findings)])
    spans: dict[tuple[str, str, dt.date], dt.date] = {}
    for rule, client, day, detected in findings:
        if rule not in rules or (date_from is not None and day < date_from) or (date_to is not None and day > date_to):
            continue
        end = max(day, detected or day)
        key = (rule, client, day)
        spans[key] = min(spans.get(key, end), end)
    found = sorted(spans)
    planted = [
        (c["rule"], c["client_id"], dt.date.fromisoformat(c["date"]), c.get("description", ""))
        for c in cases
        if c["rule"] in rules and c.get("client_id")
    ]
    tol = dt.timedelta(days=tolerance_days)

    def matches(f: tuple[str, str, dt.date], p: tuple) -> bool:
        return f[0] == p[0] and f[1] == p[1] and f[2] - tol <= p[2] <= spans[f] + tol

    table: dict[str, dict[str, Any]] = {}
    missed, false_pos = [], []
    for rule in rules:
        p = [x for x in planted if x[0] == rule]
        f = [x for x in found if x[0] == rule]
        hit_cases = [x for x in p if any(matches(y, x) for y in f)]
        good = [y for y in f if any(matches(y, x) for x in p)]
        missed += [{"rule": r, "client_id": c, "date": d.isoformat(), "description": desc} for r, c, d, desc in p if (r, c, d, desc) not in hit_cases]
        false_pos += [{"rule": r, "client_id": c, "date": d.isoformat(), "detected_on": spans[(r, c, d)].isoformat()} for r, c, d in f if (r, c, d) not in good]
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


def load_findings(db_url: str | None) -> list[tuple[str, str, dt.date, dt.date | None]]:
    """Every recorded finding (suppressed ones too: suppression silences alerts, not detection)."""
    f = screening_findings.c
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(select(f.rule, f.client_id, f.london_date, f.detected_on)).all()
    return [(r, c, to_date(d), to_date(x)) for r, c, d, x in rows]


def evaluate(ground_truth: Path, db_url: str | None, *, tolerance_days: int = 3) -> dict[str, Any]:
    truth = json.loads(Path(ground_truth).read_text(encoding="utf-8"))
    start = dt.date.fromisoformat(truth["start"])
    end = start + dt.timedelta(days=int(truth["days"]) - 1)
    out = score(truth["cases"], load_findings(db_url), tolerance_days=tolerance_days, date_from=start, date_to=end)
    out.update({"council": truth.get("council"), "start": truth["start"], "days": truth["days"], "seed": truth.get("seed")})
    return out
