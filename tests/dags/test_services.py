"""The DAGs under Airflow's real services, started by the test: API server, scheduler, DAG processor,
triggerer and two Celery workers (CeleryExecutor), Redis as broker, PostgreSQL as the metadata
database and as the ledger. Runs are triggered through the REST API (what the UI's Trigger button
does) and the scheduler runs them; nothing is executed in the test process.

- A nightly reconciliation run that is not finished by its deadline e-mails finance: the real
  ``reconciliation_nightly`` DAG file, its Deadline Alert interval set to a few seconds through
  ``$CARELEDGER_NIGHTLY_DEADLINE_SECONDS`` (the one place it is configured); its ``reconcile`` task
  waits behind another ledger writer holding the ledger lock. The scheduler finds the deadline
  passed, the triggerer runs Airflow's SmtpNotifier, and the e-mail arrives at a local SMTP server.
- Two days of ``card_feeds_daily`` posted at the same time, their tasks spread over the two Celery
  workers, give the same ledger as the same two days run one after the other.

The services start once for the module (about 20-30 s); see docs/airflow.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import json
import os
import socket
import time
import uuid
from email import policy as email_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from careledger import airflow_runner
from db.engine import get_engine, take_ledger_lock
from ledger.verify import verify_ledger
from tests.conftest import PG_URL, drop_pg_database, make_pg_database, migrate, require_pg
from tests.dags.airflow_stack import AirflowStack, free_port
from tests.ingest import drops
from tests.ingest.test_concurrency import ledger_by_key

REDIS = ("127.0.0.1", 6379)
DEADLINE_SECONDS = 8  # the nightly run's deadline in this stack (production: 7200)
FINANCE = "finance@localhost"


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


class Mailbox:
    """What a local SMTP server (aiosmtpd) received, with the time each message arrived."""

    def __init__(self) -> None:
        self.messages: list[tuple[float, email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        msg = email.message_from_bytes(envelope.content, policy=email_policy.default)
        self.messages.append((time.time(), msg))
        return "250 Message accepted for delivery"

    def matching(self, needle: str) -> list[tuple[float, email.message.EmailMessage]]:
        return [(at, m) for at, m in self.messages if needle in str(m["Subject"])]


@contextlib.contextmanager
def fresh_pg_database(prefix: str):
    """A PostgreSQL database of its own (not a schema in the shared test database): its advisory
    locks and its connections are nobody else's. Dropped at the end."""
    require_pg()
    name = prefix + uuid.uuid4().hex[:10]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = f"{PG_URL.rsplit('/', 1)[0]}/{name}"
    try:
        yield url
    finally:
        get_engine(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(scope="module")
def metadata_db():
    """A fresh PostgreSQL database for Airflow's metadata (`airflow db migrate` fills it)."""
    with fresh_pg_database("careledger_af_") as url:
        yield url


@pytest.fixture(scope="module")
def mailbox():
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def services(metadata_db, mailbox, tmp_path_factory):
    """The running services (module-scoped: they start once, ~20-30 s) and the SMTP mailbox."""
    require_redis()
    box, smtp_port = mailbox
    # A Redis database of its own (2-15) and a Celery queue of its own (AirflowStack): another stack on
    # the same Redis cannot take its tasks.
    redis = f"redis://127.0.0.1:6379/{2 + uuid.uuid4().int % 14}"
    smtp = {"conn_type": "smtp", "host": "127.0.0.1", "port": smtp_port,
            "extra": {"disable_ssl": True, "disable_tls": True, "retry_limit": 0, "timeout": 10}}
    stack = AirflowStack(
        tmp_path_factory.mktemp("airflow-services"), metadata_db, workers=2, api_port=free_port(),
        broker_url=redis, result_backend=redis,
        extra_env={
            "CARELEDGER_TASK_RETRIES": "0",  # a failure shows at once instead of after a retry delay
            "CARELEDGER_NIGHTLY_DEADLINE_SECONDS": str(DEADLINE_SECONDS),
            "CARELEDGER_FINANCE_EMAIL": FINANCE,
            "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(smtp),
        },
    )
    started = time.perf_counter()
    with stack:
        print(f"\nAirflow services ready in {time.perf_counter() - started:.1f} s (db migrate included)")
        yield stack, box


@contextlib.contextmanager
def logs_on_failure(stack: AirflowStack, box: Mailbox, dag_id: str, run_ids: list[str]):
    """On a failed assertion, print the services' logs, the runs' task logs and the e-mails received."""
    try:
        yield
    except BaseException:
        print(stack.diagnostics())
        for run_id in run_ids:
            for name, log in stack.task_logs(dag_id, run_id).items():
                print(f"----- task log {run_id}/{name} -----\n{log[-4000:]}")
        for at, msg in box.messages:
            body = msg.get_body(("html", "plain"))
            print(f"----- e-mail at {at:.1f}: {msg['Subject']} -----\n{body.get_content()[-2000:] if body else ''}")
        raise


def _wait(what: str, probe, timeout_s: float, stack: AirflowStack):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stack.check_alive()
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout_s:.0f} s")


def _ti_states(stack, dag_id: str, run_id: str) -> dict[str, str]:
    return {t["task_id"] + (f"[{t['map_index']}]" if t["map_index"] >= 0 else ""): t["state"]
            for t in stack.task_instances(dag_id, run_id)}


@pytest.mark.slow
@pytest.mark.pg
def test_late_nightly_run_mails_finance_through_the_deadline_alert(services, tmp_path):
    # Goal: the real reconciliation_nightly DAG, run by the scheduler, not finished DEADLINE_SECONDS
    # after it was queued (its reconcile task waits for the ledger lock another writer holds) ->
    # the scheduler marks the deadline missed, the triggerer runs SmtpNotifier, finance gets one
    # e-mail naming the run. When the lock is released the run still finishes, and no second e-mail.
    stack, box = services
    dag_id, run_id = "reconciliation_nightly", f"late_nightly_{uuid.uuid4().hex[:8]}"
    # A ledger database of its own: the ledger lock is a PostgreSQL advisory lock, which is per
    # database, so holding it here blocks no other test's ledger in the shared test database.
    with fresh_pg_database("careledger_lg_") as url:
        migrate(url)
        with logs_on_failure(stack, box, dag_id, [run_id]):
            stack.unpause(dag_id)
            with get_engine(url).connect() as blocker:
                tx = blocker.begin()
                take_ledger_lock(blocker)  # another ledger writer, mid-transaction
                run = stack.trigger(dag_id, run_id, {"day": "2026-03-02", "db_url": url, "out_dir": str(tmp_path / "out")})
                queued_at = dt.datetime.fromisoformat(stack.run(dag_id, run_id)["queued_at"]).timestamp()
                assert run["state"] == "queued", run
                # The reconcile task starts on a worker and waits for the lock.
                _wait("reconcile running", lambda: _ti_states(stack, dag_id, run_id).get("reconcile") == "running", 90, stack)
                mails = _wait(f"the deadline e-mail for {run_id}", lambda: box.matching(run_id), 90, stack)
                arrived, msg = mails[0]
                # Still running when the alert came: the alert is about a late run, not a failed one.
                assert stack.run(dag_id, run_id)["state"] == "running"
                assert _ti_states(stack, dag_id, run_id)["reconcile"] == "running"
                tx.rollback()  # the other writer finishes; reconcile gets the lock
            states = stack.wait_for_runs(dag_id, [run_id], timeout_s=120)
            assert states == {run_id: "success"}, _ti_states(stack, dag_id, run_id)
            assert arrived >= queued_at + DEADLINE_SECONDS, "not before the deadline"
            assert msg["To"] == FINANCE
            assert msg["Subject"] == (f"[careledger] nightly reconciliation not finished within {DEADLINE_SECONDS} seconds "
                                      f"({run_id})")
            body = msg.get_body(("html", "plain")).get_content()
            assert run_id in body and "has not finished" in body, body
            time.sleep(3)  # the scheduler loop runs every second: a duplicate would show by now
            assert len(box.matching(run_id)) == 1, [m["Subject"] for _, m in box.messages]
            assert not [m for _, m in box.messages if "failed" in str(m["Subject"])], "no task failed"
        with get_engine(url).connect() as conn:
            raised = conn.execute(text("SELECT count(*) FROM exceptions WHERE exception_type = 'missing_file'")).scalar_one()
        assert raised == 3, "the late run did its work once unblocked: the day's three missing feeds raised"


@pytest.mark.slow
@pytest.mark.pg
def test_two_days_at_once_on_two_celery_workers_equal_one_after_the_other(services, dags, tmp_path):
    # Goal: two days of card_feeds_daily triggered together and run by the scheduler on two Celery
    # workers (their tasks overlapping in time, both workers busy) give the same ledger — every
    # item's postings, every balance, the file register — as the same days one after the other.
    stack, box = services
    dag_id = "card_feeds_daily"
    folders = drops.synthetic_days(tmp_path / "drops", days=2, purchases_per_day=20)
    days = [dt.date(int(f.name[:4]), int(f.name[4:6]), int(f.name[6:])) for f in folders]
    seq_url, seq_schema = make_pg_database()
    conc_url, conc_schema = make_pg_database()
    # GX validation off: this test is about where tasks run and what the ledger ends with.
    conf = {"drops_root": str(tmp_path / "drops"), "validate": False}
    run_ids = [f"feeds_{day:%Y%m%d}_{uuid.uuid4().hex[:6]}" for day in days]
    try:
        migrate(seq_url)
        migrate(conc_url)
        # One after the other: the same DAG in-process (dag.test), day by day.
        for day in days:
            res = airflow_runner.run_dag(dag_id, day, {**conf, "db_url": seq_url, "out_dir": str(tmp_path / "out-seq")},
                                         dags=dags)
            assert res.ok, (day, res.failed_tasks())
        # Both at once, through the services.
        with logs_on_failure(stack, box, dag_id, run_ids):
            stack.unpause(dag_id)
            for day, run_id in zip(days, run_ids, strict=True):
                stack.trigger(dag_id, run_id, {**conf, "day": day.isoformat(), "db_url": conc_url,
                                               "out_dir": str(tmp_path / "out-conc")})
            states = stack.wait_for_runs(dag_id, run_ids, timeout_s=240)
            assert set(states.values()) == {"success"}, {r: _ti_states(stack, dag_id, r) for r in run_ids}
            tis = {r: stack.task_instances(dag_id, r) for r in run_ids}
            queues = {t["queue"] for r in run_ids for t in tis[r]}
            assert queues == {stack.env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"]}, queues
            spans = {r: [(t["start_date"], t["end_date"]) for t in tis[r]] for r in run_ids}
            overlapping = [(a, b) for a in spans[run_ids[0]] for b in spans[run_ids[1]] if a[0] < b[1] and b[0] < a[1]]
            assert overlapping, f"the two days' tasks ran at the same time: {spans}"
            executed = {i: stack.log(f"worker{i}").count("Executing workload in Celery") for i in (1, 2)}
            assert all(n > 0 for n in executed.values()), f"both workers ran tasks: {executed}"
            assert sum(executed.values()) >= sum(len(t) for t in tis.values()), executed
        assert ledger_by_key(conc_url) == ledger_by_key(seq_url)
        with get_engine(conc_url).connect() as conn:
            assert verify_ledger(conn).ok
    finally:
        drop_pg_database(seq_url, seq_schema)
        drop_pg_database(conc_url, conc_schema)
