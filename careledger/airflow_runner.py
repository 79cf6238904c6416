"""Run careledger's Airflow DAGs in-process (``dag.test()``) against the repository's airflow.cfg.

Why this module: the demo, the tests and a developer's shell must all run the *real* DAGs with the
*same* configuration, without a scheduler. Airflow reads its configuration when ``airflow`` is
first imported, so :func:`configure` sets the environment first (``AIRFLOW_HOME``,
``AIRFLOW_CONFIG`` = the repository's airflow.cfg, ``CARELEDGER_ROOT`` for the DAG folder) and
only then is Airflow imported. ``dag.test()`` creates a DAG run in the metadata database and runs
each task in this process through the Task SDK's in-process execution API — the same task code a
worker runs.

Airflow's own modules are imported inside the functions that use them, never at the top: importing
this module must not read Airflow's configuration before :func:`configure` has set it.

A run's logical date comes from the DAG itself: its timetable's daily time and its file's
``DAY_OFFSET`` (which day a run works on), the same values the scheduler and the tasks use.

Command line: ``python -m careledger.airflow_runner env`` prints the environment lines for a shell
(then ``airflow standalone`` gives the UI with this configuration); ``... standalone`` does both.

The real services (API server, scheduler, DAG processor, triggerer, Celery workers) are started by
the tests that need them with ``tests/dags/airflow_stack.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

REPO_ROOT = Path(__file__).resolve().parents[1]
DAGS_DIR = REPO_ROOT / "dags"
AIRFLOW_CFG = REPO_ROOT / "airflow.cfg"
DEFAULT_AIRFLOW_HOME = REPO_ROOT / "airflow_home"
LONDON = ZoneInfo("Europe/London")

# Every DAG file's DAG is named after the file (tests/dags/test_dagbag.py checks it); _common.py is not one.
DAG_IDS: tuple[str, ...] = tuple(sorted(p.stem for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_")))

_configured_home: Path | None = None


def airflow_env(
    airflow_home: Path | None = None,
    *,
    metadata_url: str | None = None,
    executor: str | None = None,
) -> dict[str, str]:
    """The environment variables that make Airflow use this repository's configuration."""
    home = Path(airflow_home or os.environ.get("AIRFLOW_HOME") or DEFAULT_AIRFLOW_HOME).resolve()
    env = {
        "CARELEDGER_ROOT": str(REPO_ROOT),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW_CONFIG": str(AIRFLOW_CFG),
        # Processes that share a metadata database must share the JWT secret the execution API
        # signs task tokens with; keep one per AIRFLOW_HOME rather than one per process.
        "AIRFLOW__API_AUTH__JWT_SECRET": _home_secret(home, "jwt_secret"),
        "AIRFLOW__API__SECRET_KEY": _home_secret(home, "api_secret_key"),
    }
    if metadata_url:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = metadata_url
        if metadata_url.startswith("postgresql+psycopg://"):
            # Airflow also opens an async engine; with psycopg 3 (no asyncpg installed) say so.
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = metadata_url.replace("+psycopg://", "+psycopg_async://", 1)
    if executor:
        env["AIRFLOW__CORE__EXECUTOR"] = executor
    return env


def _home_secret(home: Path, name: str) -> str:
    home.mkdir(parents=True, exist_ok=True)
    path = home / f".{name}"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


def configure(
    airflow_home: Path | None = None,
    *,
    metadata_url: str | None = None,
    executor: str | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> Path:
    """Point this process's Airflow at the repository configuration; call before importing airflow.

    Airflow's configuration is read once per process, so a second call with a different home is
    refused rather than silently ignored.
    """
    global _configured_home
    env = airflow_env(airflow_home, metadata_url=metadata_url, executor=executor)
    home = Path(env["AIRFLOW_HOME"])
    if "airflow.configuration" in sys.modules and _configured_home not in (None, home):
        raise RuntimeError(
            f"Airflow is already configured in this process for {_configured_home}; "
            f"it cannot be re-pointed at {home} (start a new process)"
        )
    if "airflow.configuration" in sys.modules and _configured_home is None and os.environ.get("AIRFLOW_HOME") != str(home):
        raise RuntimeError("airflow was imported before careledger.airflow_runner.configure(); configure first")
    os.environ.update(env)
    os.environ.update(extra_env or {})
    (home / "logs").mkdir(parents=True, exist_ok=True)
    _configured_home = home
    return home


def migrate_metadata() -> float:
    """Create or upgrade the Airflow metadata database; returns the seconds it took (about 3 s on SQLite)."""
    started = time.perf_counter()
    from airflow.utils.db import initdb

    initdb()
    return time.perf_counter() - started


def load_dags() -> dict[str, Any]:
    """Parse dags/ the way the DAG processor does; raise if any file fails to import."""
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=str(DAGS_DIR), bundle_path=DAGS_DIR, bundle_name="dags-folder")
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return dict(bag.dags)


def day_offset(dag: Any) -> int:
    """The DAG file's ``DAY_OFFSET``: how many days before its logical date's London day a run works on
    (the 02:00 feeds run on D+1 loads day D: 1). Read from the module the DAG was parsed from (its tasks
    pass the same constant to ``_common.run_day``), so it is written once."""
    module = next((m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == dag.fileloc), None)
    offset = getattr(module, "DAY_OFFSET", None)
    if not isinstance(offset, int):
        raise RuntimeError(f"{dag.dag_id}: {dag.fileloc} defines no DAY_OFFSET (load the DAGs with load_dags first)")
    return offset


def daily_schedule(dag: Any) -> tuple[dt.time, ZoneInfo]:
    """The time of day and the timezone of the DAG's daily cron schedule (an Asset-or-time schedule's time
    part), as the DAG declares it."""
    timetable = getattr(dag.timetable, "timetable", dag.timetable)
    fields = timetable.expression.split()
    minute, hour, rest = fields[0], fields[1], fields[2:]
    if not (minute.isdigit() and hour.isdigit() and rest == ["*", "*", "*"]):
        raise ValueError(f"{dag.dag_id}: expected a daily cron 'M H * * *', found {timetable.expression!r}")
    zone = getattr(timetable.timezone, "name", timetable.timezone)
    return dt.time(int(hour), int(minute)), ZoneInfo(str(zone))


def logical_date_for(dag: Any, day: dt.date) -> dt.datetime:
    """The logical date a scheduled run working on ``day`` has (UTC), so re-runs hit the same run."""
    at, zone = daily_schedule(dag)
    local = dt.datetime.combine(day + dt.timedelta(days=day_offset(dag)), at, tzinfo=zone)
    return local.astimezone(dt.UTC)


@dataclass
class RunResult:
    dag_id: str
    day: dt.date
    state: str
    seconds: float
    task_states: dict[str, str] = field(default_factory=dict)
    xcoms: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state == "success"

    def failed_tasks(self) -> list[str]:
        return sorted(k for k, v in self.task_states.items() if v in ("failed", "upstream_failed"))


def run_dag(
    dag_id: str,
    day: dt.date,
    conf: Mapping[str, Any] | None = None,
    *,
    dags: Mapping[str, Any] | None = None,
    use_executor: bool = False,
) -> RunResult:
    """Run one DAG for one London day with ``dag.test()``; the day is passed explicitly as Param ``day``.

    Running the same DAG and day again replaces that run (same logical date): that is how the tests
    prove that clearing a finished day and re-running it changes nothing.
    """
    dags = dags or load_dags()
    dag = dags[dag_id]
    run_conf = {"day": day.isoformat(), **(conf or {})}
    started = time.perf_counter()
    # Airflow 3.3.2's dag.test() crashes when a DAG with a Deadline Alert *succeeds*: it hands the
    # serialized alert (a dict) to DeadlineAlertModel.get_by_id where the scheduler passes the
    # alert's id. dag.test() never evaluates deadlines anyway (that is the scheduler's and the
    # triggerer's job), so the in-process run goes without it; the DAG file keeps it.
    deadline, dag.deadline = dag.deadline, None
    try:
        dr = dag.test(logical_date=logical_date_for(dag, day), run_conf=run_conf, use_executor=use_executor)
    finally:
        dag.deadline = deadline
    seconds = time.perf_counter() - started
    return RunResult(dag_id, day, str(dr.state), seconds, *_run_details(dag_id, dr.run_id))


def _run_details(dag_id: str, run_id: str) -> tuple[dict[str, str], dict[str, Any]]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    states: dict[str, str] = {}
    xcoms: dict[str, Any] = {}
    with create_session() as session:
        for ti in session.scalars(select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)):
            key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
            states[key] = str(ti.state)
        rows = session.execute(
            select(XComModel.task_id, XComModel.map_index, XComModel.value).where(
                XComModel.dag_id == dag_id, XComModel.run_id == run_id, XComModel.key == "return_value"
            )
        ).all()
        for task_id, map_index, value in rows:
            key = task_id if map_index < 0 else f"{task_id}[{map_index}]"
            xcoms[key] = _decode_xcom(value)
    return states, xcoms


def _decode_xcom(value: Any) -> Any:
    if isinstance(value, (bytes, str)):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def shell_exports(airflow_home: Path | None = None) -> str:
    """Shell lines that reproduce this configuration; secrets are read from their files, not printed."""
    env = airflow_env(airflow_home)
    home = Path(env["AIRFLOW_HOME"])
    lines = [f"export {k}={v}" for k, v in env.items() if "SECRET" not in k]
    jwt_file, key_file = home / ".jwt_secret", home / ".api_secret_key"
    lines.append(f'export AIRFLOW__API_AUTH__JWT_SECRET="$(cat {jwt_file})"')
    lines.append(f'export AIRFLOW__API__SECRET_KEY="$(cat {key_file})"')
    # `airflow standalone` starts its components as `airflow ...` from the PATH.
    lines.append(f'export PATH="{Path(sys.executable).parent}:$PATH"')
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``env``: print the exports; ``standalone``: ``airflow standalone`` with this configuration;
    ``run DAG_ID YYYY-MM-DD [CONF_JSON] [--executor]``: one dag.test() run, result as JSON on stdout
    (``--executor`` sends the tasks to the configured executor, e.g. Celery workers)."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = args[0] if args else "env"
    if command == "env":
        print(shell_exports())
        return 0
    if command == "standalone":
        env = {**os.environ, **airflow_env()}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        airflow = str(Path(sys.executable).with_name("airflow"))
        return subprocess.call([airflow, "standalone"], env=env)
    if command == "run" and len(args) >= 3:
        use_executor = "--executor" in args
        rest = [a for a in args[1:] if a != "--executor"]
        configure()
        conf = json.loads(rest[2]) if len(rest) > 2 else {}
        result = run_dag(rest[0], dt.date.fromisoformat(rest[1]), conf, use_executor=use_executor)
        print("RUN-RESULT " + json.dumps({"dag_id": result.dag_id, "day": str(result.day), "state": result.state,
                                          "seconds": result.seconds, "task_states": result.task_states}))
        return 0 if result.ok else 1
    print("usage: python -m careledger.airflow_runner [env|standalone|run DAG_ID DAY [CONF_JSON] [--executor]]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
