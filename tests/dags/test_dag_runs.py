"""The real DAGs, run with dag.test() over simulated days, against the ledger on SQLite and PostgreSQL.

- A simulated week through every DAG gives the same ledger, exceptions and clawback schedule as the
  same days run through the command line.
- Clearing a finished day (and a weekly run) and running it again changes nothing, both straight
  away and after later days have loaded.
- A corrupt file fails only its own mapped task; the rest of the day loads and is screened, and
  finance gets an e-mail from Airflow's SMTP notifier.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from sqlalchemy import text
from typer.testing import CliRunner

from careledger import airflow_runner
from careledger.cli import app
from db.engine import get_engine
from records.reference import load_reference
from schemas.council_policy import parse_councils
from simulator import simulate
from tests.conftest import drop_pg_database, make_pg_database, migrate
from tests.dags import snapshots
from tests.dags.airflow_stack import free_port

COUNCIL = "Testshire"
START = dt.date(2026, 3, 2)  # a Monday; the simulated council's weekly day falls inside the week
DAYS = 5
CLIENTS = 10
SEED = 11


@pytest.fixture(scope="module")
def sim_drops(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    result = simulate(COUNCIL, CLIENTS, START, DAYS, SEED, out)
    assert len(result.drops) == DAYS
    return out


def _days() -> list[dt.date]:
    return [START + dt.timedelta(days=i) for i in range(DAYS)]


def _weekly_days(url: str) -> set[int]:
    with get_engine(url).connect() as conn:
        return {p.clawback_isoweekday for p in load_reference(conn).councils.values()}


def run_days_through_dags(url: str, drops: Path, out: Path, dags: dict, days: list[dt.date]) -> list:
    conf = {"db_url": url, "out_dir": str(out), "drops_root": str(drops)}
    runs = []
    for day in days:
        runs.append(airflow_runner.run_dag("card_feeds_daily", day, conf, dags=dags))
        runs.append(airflow_runner.run_dag("reconciliation_nightly", day, conf, dags=dags))
        if day.isoweekday() in _weekly_days(url):
            runs.append(airflow_runner.run_dag("clawback_weekly", day, conf, dags=dags))
            runs.append(airflow_runner.run_dag("contributions_weekly", day, conf, dags=dags))
    return runs


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code in (0, 2), f"careledger {' '.join(args)} exited {result.exit_code}:\n{result.output}"
    return result.output


def run_days_through_cli(url: str, drops: Path, out: Path, days: list[dt.date]) -> None:
    """The same days by hand, the way the runbook describes, one command per stage."""
    for day in days:
        week = f"{day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}"
        _cli("ingest", str(drops / day.strftime("%Y%m%d")), "--db", url, "--validation-dir", str(out / "validation"),
             "--archive-dir", str(out / "archive"))
        _cli("screen", "--from", day.isoformat(), "--to", day.isoformat(), "--db", url)
        _cli("reconcile", "--date", day.isoformat(), "--db", url)
        _cli("report", "--date", day.isoformat(), "--out", str(out / "reports" / day.isoformat()), "--db", url)
        _cli("alerts", "send", "--outbox", str(out / "outbox"), "--db", url)
        if day.isoweekday() in _weekly_days(url):
            _cli("clawback", "--week", week, "--out", str(out / "clawback" / week), "--db", url)
            _cli("contributions", "--week", week, "--as-of", day.isoformat(), "--db", url)


def _second_database(db_url: str, tmp_path: Path) -> tuple[str, str | None]:
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'cli.db'}"
        migrate(url)
        return url, None
    url, schema = make_pg_database()
    migrate(url)
    return url, schema


@pytest.mark.slow
def test_week_through_dags_matches_cli_and_reruns_change_nothing(db_url, sim_drops, dags, tmp_path):
    # Goal: clearing a finished day (feeds, reconciliation and the weekly runs) and running it again
    # changes nothing; and the DAGs are only wiring — the same days through the CLI give the same
    # books, exceptions, cases, alerts and clawback schedule.
    days = _days()
    policy = parse_councils((sim_drops / days[0].strftime("%Y%m%d") / "councils.yaml").read_text(encoding="utf-8"))[COUNCIL]
    weekly = next(i for i, d in enumerate(days) if d.isoweekday() == policy.clawback_isoweekday)
    first = run_days_through_dags(db_url, sim_drops, tmp_path / "out-dags", dags, days[: weekly + 1])
    assert {r.dag_id for r in first} == set(airflow_runner.DAG_IDS), "every DAG ran at least once"
    before = snapshots.snapshot(db_url)
    rerun = run_days_through_dags(db_url, sim_drops, tmp_path / "out-dags", dags, [days[weekly]])
    assert len(rerun) == 4
    problems = snapshots.diff(before, snapshots.snapshot(db_url))
    assert not problems, f"re-running {days[weekly]} changed:\n" + "\n".join(f"{k}: {v}" for k, v in problems.items())

    rest = run_days_through_dags(db_url, sim_drops, tmp_path / "out-dags", dags, days[weekly + 1 :])
    not_ok = [(r.dag_id, str(r.day), r.failed_tasks()) for r in first + rerun + rest if not r.ok]
    assert not not_ok, f"DAG runs not successful: {not_ok}"
    via_dags = snapshots.snapshot(db_url)
    assert via_dags["postings"], "the week posted something"
    assert via_dags["exceptions"], "the simulated week raises some exceptions"
    assert via_dags.get("clawback_lines"), "the weekly clawback computed a schedule"
    assert days[weekly] < days[-1], "the week has days after the weekly run"

    # Re-running an older day (the weekly day, with its clawback) after later days have loaded
    # changes nothing either: holds, balances and exceptions are read as they stood on that day.
    older = run_days_through_dags(db_url, sim_drops, tmp_path / "out-dags", dags, [days[weekly]])
    assert all(r.ok for r in older), [(r.dag_id, str(r.day), r.failed_tasks()) for r in older if not r.ok]
    problems = snapshots.diff(via_dags, snapshots.snapshot(db_url))
    assert not problems, f"re-running the older day {days[weekly]} changed:\n" + "\n".join(
        f"{k}: {v}" for k, v in problems.items()
    )

    cli_url, schema = _second_database(db_url, tmp_path)
    try:
        run_days_through_cli(cli_url, sim_drops, tmp_path / "out-cli", days)
        problems = snapshots.diff(via_dags, snapshots.snapshot(cli_url))
        assert not problems, "DAGs and CLI differ:\n" + "\n".join(f"{k}: {v}" for k, v in problems.items())
    finally:
        if schema:
            drop_pg_database(cli_url, schema)


@pytest.mark.slow
def test_clawback_is_never_approved_without_a_named_approver(sqlite_url, sim_drops, dags, tmp_path):
    # Goal: the schedule is computed by the weekly run but instructions wait for approval.
    days = _days()
    policy = parse_councils((sim_drops / days[0].strftime("%Y%m%d") / "councils.yaml").read_text(encoding="utf-8"))[COUNCIL]
    weekly = next(d for d in days if d.isoweekday() == policy.clawback_isoweekday)
    runs = run_days_through_dags(sqlite_url, sim_drops, tmp_path / "out", dags, [d for d in days if d <= weekly])
    assert [r.dag_id for r in runs if r.day == weekly][-2:] == ["clawback_weekly", "contributions_weekly"]
    assert all(r.ok for r in runs), [(r.dag_id, str(r.day), r.failed_tasks()) for r in runs if not r.ok]
    conf = {"db_url": sqlite_url, "out_dir": str(tmp_path / "out")}
    with get_engine(sqlite_url).connect() as conn:
        statuses = {s for (s,) in conn.execute(text("SELECT status FROM clawback_runs"))}
    assert statuses == {"computed"}
    no_name = airflow_runner.run_dag("clawback_weekly", weekly, {**conf, "approve": True}, dags=dags)
    assert no_name.task_states["approve"] == "failed"
    approved = airflow_runner.run_dag("clawback_weekly", weekly, {**conf, "approve": True, "approved_by": "A Finance"}, dags=dags)
    assert approved.ok, approved.failed_tasks()
    with get_engine(sqlite_url).connect() as conn:
        rows = conn.execute(text("SELECT status, approved_by FROM clawback_runs")).all()
    assert {tuple(r) for r in rows} == {("approved", "A Finance")}


@pytest.fixture
def smtp_sink():
    """A local SMTP server collecting what Airflow's SmtpNotifier sends (connection smtp_default)."""
    received = []

    class Collect(Message):
        def handle_message(self, message):
            received.append(message)

    port = free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": port,
            "extra": {"disable_ssl": True, "disable_tls": True, "retry_limit": 0, "timeout": 10}}
    old = os.environ.get("AIRFLOW_CONN_SMTP_DEFAULT")
    os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = json.dumps(conn)
    try:
        yield received
    finally:
        controller.stop()
        if old is None:
            os.environ.pop("AIRFLOW_CONN_SMTP_DEFAULT", None)
        else:
            os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = old


@pytest.mark.slow
def test_corrupt_file_fails_only_its_own_task_and_mails_finance(sqlite_url, sim_drops, dags, tmp_path, smtp_sink):
    # Goal: one unreadable provider file fails its mapped task; every other file of the day loads,
    # the day is screened, the other providers' assets are marked, and finance gets an e-mail.
    day = _days()[0]
    drops = tmp_path / "drops"
    shutil.copytree(sim_drops / day.strftime("%Y%m%d"), drops / day.strftime("%Y%m%d"))
    bad = drops / day.strftime("%Y%m%d") / f"A_transactions_{day:%Y%m%d}.csv"
    bad.write_bytes(b"this is not,the provider A header\r\n1,2\r\n")
    result = airflow_runner.run_dag(
        "card_feeds_daily", day, {"db_url": sqlite_url, "out_dir": str(tmp_path / "out"), "drops_root": str(drops)}, dags=dags
    )
    files = result.xcoms["list_provider_files"]
    bad_index = files.index(bad.name)
    assert result.task_states[f"ingest_file[{bad_index}]"] == "failed"
    others = [f"ingest_file[{i}]" for i in range(len(files)) if i != bad_index]
    assert others and all(result.task_states[k] == "success" for k in others), result.task_states
    assert result.task_states["screen_day"] == "success"
    assert result.task_states["mark_feed_A"] == "skipped"
    assert result.task_states["mark_feed_B"] == result.task_states["mark_feed_C"] == "success"
    assert result.state == "failed", "the day shows red while a file is refused"
    with get_engine(sqlite_url).connect() as conn:
        register = dict(conn.execute(text("SELECT file_name, status FROM feed_files WHERE file_name LIKE '%\\_%' ESCAPE '\\'")).all())
    assert register[bad.name] == "refused"
    assert sum(1 for name, s in register.items() if s == "loaded" and name != bad.name) == len(files) - 1
    subjects = [m["Subject"] for m in smtp_sink]
    assert any("card_feeds_daily.ingest_file failed" in s and day.isoformat() in s for s in subjects), subjects
    assert all(m["To"] == "finance@localhost" for m in smtp_sink)
    body = "".join(
        part.get_payload(decode=True).decode("utf-8", "replace") for part in smtp_sink[0].walk() if not part.is_multipart()
    )
    assert bad.name in body and "refused" in body, "the e-mail names the refused file and says what happened"
