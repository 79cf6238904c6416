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

from simulator import generate, population, render, truth
from simulator.population import ALL_RULES

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
    if clients < 1 or days < 1:
        raise ValueError("clients and days must be at least 1")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pop = population.build_population(council, clients, start, days, seed, planted)
    if progress:
        progress(f"population: {clients} clients")
    items, cases = generate.generate(pop)
    render.assign_ids(pop, items)
    if progress:
        progress(f"generated {len(items)} items, {len(cases)} planted cases")
    drops, _balances = render.write_drops(pop, items, out, progress)

    gt_cases = truth.truth_cases(pop, cases)
    doc = {"council": council, "start": start.isoformat(), "days": days, "seed": seed, "cases": gt_cases}
    gt = out / "ground_truth.json"
    gt.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return SimResult(out=out, ground_truth=gt, drops=drops, cases=len(gt_cases), items=len(items))


# Every rule the simulator plants (safeguarding, finance, file), the names the pipeline's findings use.
RULES: tuple[str, ...] = ALL_RULES
