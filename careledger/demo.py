"""The README's main job: simulate a month for a council and run it day by day through the real DAGs.

Why through Airflow and not by calling the library directly: the demo then proves what production
runs — the same DAG files, the same tasks, the same configuration (the repository's airflow.cfg),
executed in-process with ``dag.test()`` on the embedded SQLite default. Nothing to install or start.

Per simulated day D: ``card_feeds_daily`` loads D's drop folder and screens it, then
``reconciliation_nightly`` reconciles D, writes the exception report and sends the alerts (to an
outbox folder of .eml files); on the council's weekly day ``clawback_weekly`` computes the
surplus-recovery schedule (left awaiting approval, as in production) and ``contributions_weekly``
checks contributions.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from careledger import airflow_runner
from db.engine import get_engine
from migrations.migrate import upgrade
from records.reference import load_reference
from simulator import simulate

DEMO_DIR = Path("out/demo")
DEMO_COUNCIL = "Testshire"
DEMO_START = dt.date(2026, 3, 2)  # a Monday


@dataclass
class DemoResult:
    db_url: str
    outputs: dict[str, Path] = field(default_factory=dict)
    runs: list[airflow_runner.RunResult] = field(default_factory=list)  # one per DAG run
    seconds: float = 0.0

    @property
    def failed_runs(self) -> list:
        return [r for r in self.runs if not r.ok]


def run_demo(
    out_dir: Path = DEMO_DIR,
    *,
    clients: int = 60,
    days: int = 28,
    seed: int = 7,
    council: str = DEMO_COUNCIL,
    start: dt.date = DEMO_START,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Simulate ``days`` days from ``start`` and run each through the DAGs; returns where everything is.

    Starts from scratch each time (database, Airflow home, outputs under ``out_dir``) so the demo is
    repeatable: same seed, same results.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir).resolve()
    for sub in ("sim", "airflow_home", "out"):
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    db_path = out_dir / "careledger.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)
    url = f"sqlite:///{db_path}"

    # Airflow reads its configuration on first import: point it at the repository's airflow.cfg
    # with a home under the demo folder before anything imports airflow.
    airflow_runner.configure(
        out_dir / "airflow_home",
        extra_env={"CARELEDGER_TASK_RETRIES": "0", "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"},
    )

    with get_engine(url).begin() as conn:
        upgrade(conn)

    say(f"Simulating {clients} clients of {council} for {days} days from {start} (seed {seed}) ...")
    sim = simulate(council, clients, start, days, seed, out_dir / "sim")
    say(f"  {len(sim.drops)} drop folders in {out_dir / 'sim'}")

    migrate_s = airflow_runner.migrate_metadata()
    say(f"Airflow metadata database ready ({migrate_s:.1f} s); running the DAGs day by day with dag.test()")
    dags = airflow_runner.load_dags()
    conf = {"db_url": url, "out_dir": str(out_dir / "out"), "drops_root": str(out_dir / "sim")}
    result = DemoResult(url)
    for i in range(days):
        day = start + dt.timedelta(days=i)
        runs = [airflow_runner.run_dag("card_feeds_daily", day, conf, dags=dags)]
        recon_conf = {k: v for k, v in conf.items() if k != "drops_root"}
        runs.append(airflow_runner.run_dag("reconciliation_nightly", day, recon_conf, dags=dags))
        # The weekly DAGs run every day in production and act for councils whose weekday it is;
        # the demo skips the days when no council is due (same outcome, less time).
        if day.isoweekday() in _weekly_days(url):
            runs.append(airflow_runner.run_dag("clawback_weekly", day, recon_conf, dags=dags))
            runs.append(airflow_runner.run_dag("contributions_weekly", day, recon_conf, dags=dags))
        result.runs.extend(runs)
        say(f"  {day} {day:%a}  " + "  ".join(_describe(r) for r in runs))

    result.seconds = time.perf_counter() - started
    result.outputs = _outputs(out_dir, db_path, sim)
    say(f"Done in {result.seconds:.0f} s: {len(result.runs)} DAG runs, {len(result.failed_runs)} not successful.")
    return result


def _weekly_days(url: str) -> set[int]:
    """ISO weekdays on which some council runs its weekly clawback and contributions check."""
    with get_engine(url).connect() as conn:
        ref = load_reference(conn)
    return {pol.clawback_isoweekday for pol in ref.councils.values()}


def _describe(run) -> str:
    short = {"card_feeds_daily": "feeds", "reconciliation_nightly": "recon", "clawback_weekly": "clawback",
             "contributions_weekly": "contrib"}[run.dag_id]
    text = f"{short}:{run.state}({run.seconds:.0f}s)"
    if not run.ok:
        text += f" failed={','.join(run.failed_tasks())}"
    return text


def _outputs(out_dir: Path, db_path: Path, sim) -> dict[str, Path]:
    out = out_dir / "out"
    outputs: dict[str, Path] = {"database": db_path, "drop folders": out_dir / "sim"}
    if getattr(sim, "ground_truth", None):
        outputs["planted cases"] = Path(sim.ground_truth)
    reports = sorted((out / "reports").glob("*")) if (out / "reports").exists() else []
    outputs["exception report"] = reports[-1] if reports else out / "reports (not written)"
    schedules = sorted((out / "clawback").glob("*")) if (out / "clawback").exists() else []
    outputs["clawback schedule"] = schedules[-1] if schedules else out / "clawback (not written)"
    outbox = out / "outbox"
    n_eml = len(list(outbox.rglob("*.eml"))) if outbox.exists() else 0
    outputs[f"alerts sent ({n_eml} .eml)"] = outbox
    docs = sorted((out / "validation").rglob("index.html")) if (out / "validation").exists() else []
    # One Data Docs site per ingest run (one per file and day); point at the folder holding them all.
    outputs[f"GX Data Docs ({len(docs)} sites)"] = out / "validation" if docs else out / "validation (no Data Docs written)"
    outputs["Airflow home"] = out_dir / "airflow_home"
    return outputs
