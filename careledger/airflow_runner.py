"""Run careledger's Airflow DAGs in-process (``dag.test()``) against the repository's airflow.cfg.

Why this module: the demo, the tests and a developer's shell must all run the *real* DAGs with the
*same* configuration, without a scheduler. Airflow reads its configuration when ``airflow`` is
first imported, so :func:`configure` sets the environment first (``AIRFLOW_HOME``,
``AIRFLOW_CONFIG`` = the repository's airflow.cfg, ``CARELEDGER_ROOT`` for the DAG folder) and
only then is Airflow imported. ``dag.test()`` creates a DAG run in the metadata database and runs
each task in this process through the Task SDK's in-process execution API — the same task code a
worker runs.

Command line: ``python -m careledger.airflow_runner env`` prints the environment lines for a shell
(then ``airflow standalone`` gives the UI with this configuration); ``... standalone`` does both.

:class:`AirflowStack` starts the real services instead (API server, scheduler, DAG processor,
triggerer, Celery workers) as child processes, for the tests that need the scheduler itself
(Deadline Alerts, Celery scale-out).
"""

from __future__ import annotations

import datetime as dt
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

REPO_ROOT = Path(__file__).resolve().parents[1]
DAGS_DIR = REPO_ROOT / "dags"
AIRFLOW_CFG = REPO_ROOT / "airflow.cfg"
DEFAULT_AIRFLOW_HOME = REPO_ROOT / "airflow_home"
LONDON = ZoneInfo("Europe/London")

DAG_IDS = ("card_feeds_daily", "reconciliation_nightly", "clawback_weekly", "contributions_weekly")

# The London time each DAG is scheduled at, and which day it works on relative to that (the feeds
# of day D arrive overnight, so the 02:00 run on D+1 loads day D). Used to give dag.test() runs the
# same logical date a scheduled run would have, so a re-run replaces the same run.
SCHEDULE_LONDON: dict[str, tuple[dt.time, int]] = {
    "card_feeds_daily": (dt.time(2, 0), 1),
    "reconciliation_nightly": (dt.time(6, 0), 1),
    "clawback_weekly": (dt.time(7, 0), 0),
    "contributions_weekly": (dt.time(7, 30), 0),
}

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


def logical_date_for(dag_id: str, day: dt.date) -> dt.datetime:
    """The logical date a scheduled run working on ``day`` has (UTC), so re-runs hit the same run."""
    at, offset_days = SCHEDULE_LONDON[dag_id]
    local = dt.datetime.combine(day + dt.timedelta(days=offset_days), at, tzinfo=LONDON)
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
        dr = dag.test(logical_date=logical_date_for(dag_id, day), run_conf=run_conf, use_executor=use_executor)
    finally:
        dag.deadline = deadline
    seconds = time.perf_counter() - started
    return RunResult(dag_id, day, str(dr.state), seconds, *_run_details(dag_id, dr.run_id))


def _run_details(dag_id: str, run_id: str) -> tuple[dict[str, str], dict[str, Any]]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

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
    import json

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
    import json

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



# --- the services: scheduler, DAG processor, triggerer, API server, Celery workers -----------------
SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")


class AirflowStack:
    """Airflow's services as child processes sharing one configuration: the API server (UI, REST API
    and the execution API workers report to), the scheduler, the DAG processor, the triggerer (it
    runs Deadline Alert callbacks) and ``workers`` Celery workers; Redis as broker, the metadata
    database from ``metadata_url`` (PostgreSQL). Used by the scheduler-driven tests; in production
    the same commands run as services (docs/airflow.md).

    ``test_mode`` adds two settings a production deployment must not have: every REST caller is an
    admin (``simple_auth_manager_all_admins``, so the test needs no login), and the scheduler creates
    no runs on its own (``use_job_schedule = False``: no cron or Asset-triggered runs — the test
    triggers every run it wants, and nothing else competes for the workers).

    Only processes this object started are stopped, each by its own process group.
    """

    def __init__(self, airflow_home: Path, metadata_url: str, *, workers: int = 2, api_port: int = 18080,
                 broker_url: str = "redis://127.0.0.1:6379/0", result_backend: str = "redis://127.0.0.1:6379/1",
                 extra_env: Mapping[str, str] | None = None, test_mode: bool = True) -> None:
        self.home = Path(airflow_home)
        self.logs = self.home / "stack-logs"
        self.api_port = api_port
        self.workers = workers
        self.api_url = f"http://127.0.0.1:{api_port}"
        inherited = {k: v for k, v in os.environ.items() if k != "AIRFLOW__LOGGING__LOGGING_LEVEL"}
        self.env = {
            **inherited,
            **airflow_env(self.home, metadata_url=metadata_url, executor="CeleryExecutor"),
            **celery_settings(api_port, broker_url, result_backend),
            # Log servers on ports of their own (the defaults 8793/8794 may be taken by another stack).
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
            # A Celery queue of its own: the tasks it sends go to its own workers, never to another
            # stack's workers on the same Redis (a stranger's worker would fail them: wrong API server).
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": f"careledger_{secrets.token_hex(4)}",
            **({"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True", "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
               if test_mode else {}),
            **(extra_env or {}),
        }
        self.procs: dict[str, subprocess.Popen] = {}

    # -- lifecycle -----------------------------------------------------------------------------------
    def airflow(self, *args: str, timeout_s: float = 300) -> str:
        """Run one ``airflow`` command with the stack's environment; its output, or a clear failure."""
        proc = subprocess.run([_airflow_bin(), *args], env=self.env, cwd=self.home, capture_output=True, text=True,
                              timeout=timeout_s)
        if proc.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc.stdout

    def start(self, timeout_s: float = 150) -> AirflowStack:
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.airflow("db", "migrate")
        airflow = _airflow_bin()
        specs = {
            "api-server": [airflow, "api-server", "--port", str(self.api_port)],
            "scheduler": [airflow, "scheduler"],
            "dag-processor": [airflow, "dag-processor"],
            "triggerer": [airflow, "triggerer"],
        }
        specs |= {f"worker{i}": [airflow, "celery", "worker", "--concurrency", "1", "--skip-serve-logs",
                                 "--celery-hostname", f"careledger-w{i}@%h"] for i in range(1, self.workers + 1)}
        try:
            for name, cmd in specs.items():
                out = (self.logs / f"{name}.log").open("w")
                self.procs[name] = subprocess.Popen(cmd, env=self.env, cwd=self.home, stdout=out, stderr=subprocess.STDOUT,
                                                    start_new_session=True)
            self._wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout_s: float) -> None:
        """Until the API server says the scheduler, DAG processor and triggerer are healthy, every DAG
        file is parsed without import errors, and every worker has joined."""
        deadline = time.monotonic() + timeout_s
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                health = self.api("GET", "/api/v2/monitor/health")
                status = {k: (v or {}).get("status") for k, v in health.items()}
                dags = {d["dag_id"] for d in self.api("GET", "/api/v2/dags?limit=100")["dags"]}
                errors = self.api("GET", "/api/v2/importErrors")["import_errors"]
            except OSError:
                time.sleep(1)
                continue
            if errors:
                raise RuntimeError(f"DAG import errors under the DAG processor: {errors}")
            workers = sum(" ready." in self.log(f"worker{i}") for i in range(1, self.workers + 1))
            if all(s == "healthy" for s in status.values()) and set(DAG_IDS) <= dags and workers == self.workers:
                return
            time.sleep(1)
        raise TimeoutError(f"the Airflow services were not ready within {timeout_s:.0f} s (health {status}); "
                           f"logs:\n{self.diagnostics()}")

    def check_alive(self) -> None:
        dead = {name: p.returncode for name, p in self.procs.items() if p.poll() is not None}
        if dead:
            raise RuntimeError(f"Airflow service(s) exited: {dead}; logs:\n{self.diagnostics()}")

    def stop(self) -> None:
        import contextlib
        import signal

        for p in self.procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=15)  # graceful first; the runs are over by now
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        # A service's children (task supervisors, trigger runners) are in its process group: make sure
        # none outlives it, even if the service itself exited cleanly.
        for p in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
        self.procs.clear()

    def __enter__(self) -> AirflowStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the REST API (what the UI and `airflow dags trigger` use) ---------------------------------
    def api(self, method: str, path: str, body: Any = None, timeout_s: float = 10) -> Any:
        import json
        import urllib.error
        import urllib.request

        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.api_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path} -> HTTP {exc.code}: {exc.read().decode(errors='replace')[:2000]}") from None
        return json.loads(raw) if raw else None

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, run_id: str, conf: Mapping[str, Any]) -> dict:
        """A manual run (no logical date: the day is in ``conf``), queued now, as the UI's Trigger does."""
        return self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"dag_run_id": run_id, "logical_date": None, "conf": dict(conf)})

    def run(self, dag_id: str, run_id: str) -> dict:
        return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=500")["task_instances"]

    def wait_for_runs(self, dag_id: str, run_ids: list[str], timeout_s: float) -> dict[str, str]:
        """Until every run has finished; their states. On timeout: a clear message with the services' logs."""
        deadline = time.monotonic() + timeout_s
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            self.check_alive()
            states = {r: self.run(dag_id, r)["state"] for r in run_ids}
            if all(s in ("success", "failed") for s in states.values()):
                return states
            time.sleep(1)
        tis = {r: {t["task_id"] + (f"[{t['map_index']}]" if t["map_index"] >= 0 else ""): t["state"]
                   for t in self.task_instances(dag_id, r)} for r in run_ids}
        raise TimeoutError(f"{dag_id} runs not finished within {timeout_s:.0f} s: {states}; tasks {tis}; logs:\n"
                           f"{self.diagnostics()}")

    # -- logs ------------------------------------------------------------------------------------
    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def task_logs(self, dag_id: str, run_id: str) -> dict[str, str]:
        base = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
        return {str(p.relative_to(base)): p.read_text(errors="replace") for p in sorted(base.rglob("*.log"))}

    def diagnostics(self, lines: int = 40) -> str:
        """The last lines of every service's log (printed when a stack test fails)."""
        parts = []
        for name in [*SERVICES, *(f"worker{i}" for i in range(1, self.workers + 1))]:
            tail = "\n".join(self.log(name).splitlines()[-lines:])
            parts.append(f"----- {name} ({self.logs / (name + '.log')}) -----\n{tail}")
        return "\n".join(parts)


def _airflow_bin() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def celery_settings(api_port: int, broker_url: str, result_backend: str) -> dict[str, str]:
    """Environment for a CeleryExecutor deployment: broker, results, and where workers find the execution API."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
    }


if __name__ == "__main__":
    raise SystemExit(main())
