"""Scale-out: the same DAGs under the CeleryExecutor, Redis as broker, PostgreSQL for Airflow's
metadata and for the ledger, two Celery worker processes started by the test.

Two days posted concurrently (two runs at once, their tasks spread over the two workers) give the
same ledger as the same two days one after the other.

What drives the runs: ``dag.test(use_executor=True)`` in a driver process — Airflow's own minimal
scheduling loop, which hands each task to the configured executor (here Celery) exactly as the
scheduler does; the workers execute them through the API server's execution API. The scheduler and
DAG-processor services themselves are not started (docs/airflow.md says how to run them).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from careledger import airflow_runner
from ledger.db import get_engine
from ledger.verify import verify_ledger
from tests.conftest import PG_URL, drop_pg_database, make_pg_database, migrate, require_pg
from tests.ingest import drops
from tests.ingest.test_concurrency import ledger_by_key

REDIS = ("127.0.0.1", 6379)


def require_redis() -> None:
    try:
        with socket.create_connection(REDIS, timeout=3) as s:
            s.sendall(b"PING\r\n")
            if not s.recv(16).startswith(b"+PONG"):
                raise OSError("no PONG")
    except OSError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis must be reachable under CI at {REDIS}: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS}: {exc}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def metadata_db():
    """A fresh PostgreSQL database for Airflow's metadata (Airflow migrates it)."""
    require_pg()
    name = "careledger_af_" + uuid.uuid4().hex[:10]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    base = PG_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _driver(env: dict, day: str, url: str, drops_root: Path, out: Path) -> subprocess.Popen:
    # GX validation off: this test is about where tasks run and what the ledger ends with.
    conf = json.dumps({"db_url": url, "drops_root": str(drops_root), "out_dir": str(out), "validate": False})
    return subprocess.Popen(
        [sys.executable, "-m", "careledger.airflow_runner", "run", "card_feeds_daily", day, conf, "--executor"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _result(proc: subprocess.Popen, timeout_s: float = 600) -> dict:
    output, _ = proc.communicate(timeout=timeout_s)
    lines = [ln for ln in output.splitlines() if ln.startswith("RUN-RESULT ")]
    assert lines, f"driver printed no result (exit {proc.returncode}):\n{output[-4000:]}"
    return json.loads(lines[-1].removeprefix("RUN-RESULT "))


def _runs_interleaved(worker_logs) -> bool:
    """True if, in the workers' logs, the last two runs' tasks interleave (they ran at the same time)."""
    import re

    pattern = re.compile(r"^(\S+Z) .*Executing workload in Celery.*?run_id='([^']+)'", re.M)
    started = sorted(m.groups() for log in worker_logs for m in pattern.finditer(log))
    order = [run_id for _, run_id in started]
    runs = list(dict.fromkeys(order))[-2:]  # the concurrent pair: the last two runs to start
    assert len(runs) == 2, runs
    spans = {r: (order.index(r), len(order) - 1 - order[::-1].index(r)) for r in runs}
    (a0, a1), (b0, b1) = spans[runs[0]], spans[runs[1]]
    return a0 < b1 and b0 < a1


@pytest.mark.slow
@pytest.mark.pg
def test_two_days_on_two_celery_workers_equal_one_after_the_other(metadata_db, tmp_path):
    require_redis()
    folders = drops.synthetic_days(tmp_path / "drops", days=2, purchases_per_day=20)
    days = [f"{f.name[:4]}-{f.name[4:6]}-{f.name[6:]}" for f in folders]
    seq_url, seq_schema = make_pg_database()
    conc_url, conc_schema = make_pg_database()
    home = tmp_path / "airflow"
    # A Redis database of its own (2-15), so another stack on the same Redis cannot take its tasks.
    redis_db = 2 + uuid.uuid4().int % 14
    stack = airflow_runner.CeleryStack(home, metadata_db, workers=2, api_port=_free_port(),
                                       broker_url=f"redis://127.0.0.1:6379/{redis_db}",
                                       result_backend=f"redis://127.0.0.1:6379/{redis_db}")
    stack.env["CARELEDGER_TASK_RETRIES"] = "0"  # a failure shows at once instead of after a retry delay
    # The drivers are quiet; the services keep INFO logs (the test reads "ready" from them).
    env = {**stack.env, "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"}
    try:
        migrate(seq_url)
        migrate(conc_url)
        subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=300)
        with stack:
            # One after the other ...
            for day in days:
                res = _result(_driver(env, day, seq_url, tmp_path / "drops", tmp_path / "out-seq"))
                assert res["state"] == "success", res
            # ... and both at once.
            procs = [_driver(env, day, conc_url, tmp_path / "drops", tmp_path / "out-conc") for day in days]
            results = [_result(p) for p in procs]
            assert [r["state"] for r in results] == ["success", "success"], results
        logs = {i: (home / "stack-logs" / f"worker{i}.log").read_text(errors="replace") for i in (1, 2)}
        executed = {i: log.count("Executing workload in Celery") for i, log in logs.items()}
        assert all(n > 0 for n in executed.values()), f"both workers ran tasks: {executed}"
        assert _runs_interleaved(logs.values()), "the two concurrent days' tasks overlapped in time"
        assert ledger_by_key(conc_url) == ledger_by_key(seq_url)
        with get_engine(conc_url).connect() as conn:
            assert verify_ledger(conn).ok
    finally:
        stack.stop()
        drop_pg_database(seq_url, seq_schema)
        drop_pg_database(conc_url, conc_schema)
