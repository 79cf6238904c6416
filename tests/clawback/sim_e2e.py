"""End to end: simulate a council, ingest every day, run contributions and clawback weekly, and compare
with the simulator's ground truth. Run: ``.venv/bin/python -m tests.clawback.sim_e2e --clients 200 --weeks 8``.

Per day: ingest the drop folder. The day before each council's clawback day: compute the week's
schedule and approve it; with ``--action-unloads`` the provider is assumed to carry the instructions
out the next day (an ``unload`` posted through the real ledger path, with the instruction's
reference), so later weeks match them. Each Sunday: the week's contributions run.

Reports: scheduled and recovered amounts as a share of loads (weekly and cumulative), and the
contribution exceptions / contributions_stopped findings against the ground truth's
``contribution_shortfall`` and ``contributions_stopped`` cases.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import polars as pl
from sqlalchemy import select

from clawback import calc, run
from clawback.contributions import run_contributions
from clawback.tables import clawback_instructions
from db.engine import get_engine
from reconciliation.exceptions import list_exceptions


def _action_unloads(url: str, week: str, day: dt.date) -> int:
    """Post the approved week's instructions as the provider's unloads on ``day`` (real ledger path)."""
    from feeds.ingest import store_and_post
    from records.reference import load_reference
    from schemas.canonical import CANONICAL_SCHEMA, conform
    from tests.clawback.builders import txn

    with get_engine(url).begin() as conn:
        rows = conn.execute(
            select(clawback_instructions).where((clawback_instructions.c.iso_week == week) & (clawback_instructions.c.status == "issued"))
        ).mappings().all()
        if not rows:
            return 0
        items = [
            txn(r["provider"], r["account_id"], r["client_id"], "unload", -int(r["amount_pence"]), day,
                reference=r["reference"], txn_id=f"CLAWBACK-{r['instruction_id']}", council=r["council"])
            for r in rows
        ]
        frame = conform(pl.DataFrame(items, schema={k: CANONICAL_SCHEMA[k] for k in items[0]}))
        store_and_post(conn, frame, load_reference(conn), source=f"e2e unloads {week}")
    return len(rows)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--weeks", type=int, default=8)
    ap.add_argument("--council", default="Testshire")
    ap.add_argument("--start", default="2026-03-02")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=Path("/tmp/clawback_e2e"))
    ap.add_argument("--db", default=None)
    ap.add_argument("--action-unloads", action="store_true")
    args = ap.parse_args(argv)

    from feeds.ingest import ingest_drop
    from migrations.migrate import upgrade
    from simulator import simulate

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    url = args.db or f"sqlite:///{out / 'e2e.db'}"
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    with get_engine(url).begin() as conn:
        upgrade(conn)
    start = dt.date.fromisoformat(args.start)
    t0 = time.perf_counter()
    sim = simulate(args.council, args.clients, start, args.weeks * 7, args.seed, out / "sim")
    timings = {"simulate_s": round(time.perf_counter() - t0, 1), "ingest_s": 0.0, "clawback_s": 0.0, "contributions_s": 0.0}
    truth = json.loads(Path(sim.ground_truth).read_text())
    weekly: list[dict] = []
    contrib_runs: list[dict] = []
    pending_action: tuple[str, dt.date] | None = None
    stopped_found: set[str] = set()
    for drop in sorted(sim.drops):
        day = dt.datetime.strptime(drop.name, "%Y%m%d").date()
        t = time.perf_counter()
        ingest_drop(url, drop, validation_root=None, archive_root=None)
        timings["ingest_s"] += time.perf_counter() - t
        if pending_action and pending_action[1] == day:
            _action_unloads(url, pending_action[0], day)
            pending_action = None
        next_day = day + dt.timedelta(days=1)
        week = calc.iso_week_of(next_day)
        with get_engine(url).connect() as conn:
            from records.reference import load_reference

            policy = load_reference(conn).councils[args.council]
        if policy.clawback_date(week) == next_day:
            t = time.perf_counter()
            s = run.compute_schedule(url, week, out / "clawback")["councils"][args.council]
            a = run.approve(url, week, out / "clawback", "e2e")["councils"][args.council]
            timings["clawback_s"] += time.perf_counter() - t
            weekly.append({k: s[k] for k in (
                "run_date", "lines", "lines_to_recover", "lines_excluded", "total_to_recover_pence", "total_client_excess_pence",
                "loads_week_pence", "loads_to_date_pence", "recovered_week_pence", "recovered_to_date_pence",
                "scheduled_to_date_pence", "scheduled_share_of_week_loads", "scheduled_share_of_loads_to_date",
                "recovered_share_of_loads_to_date", "unload_matching")} | {"week": week, "issued": a["issued"]})
            if args.action_unloads:
                pending_action = (week, next_day)
        if day.isoweekday() == 7:
            t = time.perf_counter()
            c = run_contributions(url, calc.iso_week_of(day))
            timings["contributions_s"] += time.perf_counter() - t
            contrib_runs.append({"week": c["week"], **{k: v for k, v in c["councils"][args.council].items()},
                                 "findings": c["findings"]["count"], "findings_recorded": c["findings"].get("recorded")})
            stopped_found.update(f["client_id"] for f in c["findings"].get("findings", []))
            stopped_found.update(c["findings"].get("client_ids", []))

    # Compare with ground truth.
    with get_engine(url).connect() as conn:
        exc = list_exceptions(conn)
    arrears_clients = set(exc.filter(pl.col("exception_type") == "contribution_arrears")["client_id"].to_list())
    cases = truth["cases"]
    shortfall = {c["client_id"] for c in cases if c["rule"] == "contribution_shortfall"}
    stopped = {c["client_id"] for c in cases if c["rule"] == "contributions_stopped"}
    last_sunday = start + dt.timedelta(days=args.weeks * 7 - 1)
    # Detectable under the threshold: the third affected week (the case's date) is within the data.
    truth_by_client = {c["client_id"]: c for c in cases if c["rule"] in ("contribution_shortfall", "contributions_stopped")}
    detectable = {cid for cid, c in truth_by_client.items() if dt.date.fromisoformat(c["date"]) <= last_sunday}
    expected_all = shortfall | stopped
    result = {
        "clients": args.clients,
        "weeks": args.weeks,
        "timings": {k: round(v, 1) for k, v in timings.items()},
        "weekly": weekly,
        "contributions": contrib_runs,
        "contribution_cases_in_truth": {"contribution_shortfall": sorted(shortfall), "contributions_stopped": sorted(stopped)},
        "arrears_exception_clients": sorted(arrears_clients),
        "contribution_recall": {
            "shortfall_found": len(shortfall & arrears_clients), "shortfall_cases": len(shortfall),
            "stopped_found_by_exception": len(stopped & arrears_clients), "stopped_cases": len(stopped),
            "stopped_findings_clients": len(stopped_found),
            "stopped_findings_true": len(stopped & stopped_found),
            "detectable_cases": len(detectable), "detectable_found": len(detectable & arrears_clients),
        },
        "false_positive_clients": sorted(arrears_clients - expected_all),
    }
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=1, default=str))
