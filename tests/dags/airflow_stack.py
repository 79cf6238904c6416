"""Airflow's services as child processes, for the tests that need the scheduler itself (Deadline
Alerts, Celery scale-out): ``tests/dags/test_services.py``.

Why under tests/: only tests start the services this way; in production the same commands run as
services (docs/airflow.md). The in-process runs (``dag.test()``) the demo uses are in
``careledger/airflow_runner.py``; the environment both use comes from there (``airflow_env``).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from careledger.airflow_runner import DAG_IDS, airflow_env

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
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
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
