"""The DAGs load, have the expected shape, and stay thin (no heavy imports at parse time).

Airflow is imported at the top: tests/dags/conftest.py has configured it before pytest imports this file."""

from __future__ import annotations

import ast
import configparser
import datetime as dt
from pathlib import Path

import pendulum
import pytest
from airflow.configuration import conf
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.sdk import AssetOrTimeSchedule
from airflow.utils.file import list_py_file_paths

from careledger import airflow_runner
from tests.dags.conftest import AIRFLOW_HOME

DAGS_DIR = airflow_runner.DAGS_DIR

EXPECTED_TASKS = {
    "card_feeds_daily": {
        "locate_drop", "load_council_extract", "list_provider_files", "ingest_file", "screen_day",
        "mark_feed_A", "mark_feed_B", "mark_feed_C", "day_complete",
    },
    "reconciliation_nightly": {"reconcile", "write_report", "send_alerts"},
    "clawback_weekly": {"councils_due", "compute_schedule", "approve"},
    "contributions_weekly": {"councils_due", "check_contributions"},
}
HEAVY_MODULES = ("polars", "great_expectations", "sqlalchemy", "ledger", "feeds", "screening", "reconciliation",
                 "reports", "clawback", "simulator", "psycopg", "pandas")


def test_dagbag_has_no_import_errors_and_the_expected_tasks(dags):
    # Goal: every DAG file parses (load_dags raises on any import error) with exactly these tasks.
    assert set(dags) == set(EXPECTED_TASKS)
    for dag_id, tasks in EXPECTED_TASKS.items():
        assert set(dags[dag_id].task_dict) == tasks, dag_id


def test_dag_files_import_nothing_heavy_at_top_level():
    # Goal: parsing a DAG file never imports polars, GX, the database layer or a library area.
    for path in sorted(DAGS_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # top level only; task bodies may import what they need
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in HEAVY_MODULES, f"{path.name} imports {name} at top level"


def test_every_dag_takes_an_explicit_day_and_mails_finance_on_failure(dags):
    for dag_id, dag in dags.items():
        assert "day" in dag.params, dag_id
        assert dag.params["day"] is None, f"{dag_id}: day must default to empty (derived from the run)"
        assert dag.catchup is False
        assert str(dag.timezone) in ("Europe/London", "Timezone('Europe/London')"), (dag_id, dag.timezone)
        for task in dag.tasks:
            callbacks = task.on_failure_callback if isinstance(task.on_failure_callback, list) else [task.on_failure_callback]
            notifiers = [cb for cb in callbacks if isinstance(cb, SmtpNotifier)]
            assert notifiers, f"{dag_id}.{task.task_id} has no SMTP failure notifier"
            assert notifiers[0].to == "finance@localhost"


def test_schedules(dags):
    recon = dags["reconciliation_nightly"]
    assert isinstance(recon.timetable, AssetOrTimeSchedule)
    assert {a.name for a in recon.timetable.asset_condition.objects} == {"careledger_feed_A", "careledger_feed_B", "careledger_feed_C"}
    feeds = dags["card_feeds_daily"]
    outlets = {t.task_id: [a.name for a in t.outlets] for t in feeds.tasks if t.outlets}
    assert outlets == {f"mark_feed_{p}": [f"careledger_feed_{p}"] for p in "ABC"}
    # The deadline alert: finance hears if the nightly run is not done two hours after it was queued.
    deadlines = recon.deadline if isinstance(recon.deadline, list) else [recon.deadline]
    assert len(deadlines) == 1 and deadlines[0].interval == dt.timedelta(hours=2)
    assert deadlines[0].callback.path.endswith("SmtpNotifier")
    # Approval is a Param that defaults to "no": the schedule is computed, never issued on its own.
    claw = dags["clawback_weekly"]
    assert claw.params["approve"] is False and claw.params["approved_by"] == ""


def test_logical_dates_match_the_schedules(dags):
    # Goal: the in-process runs take their logical dates from the DAGs' own schedules (cron and
    # DAY_OFFSET, written once in each DAG file). The 02:00 London run on 30 March (BST) loads 29 March;
    # in winter 02:00 London is 02:00 UTC.
    feeds, claw = dags["card_feeds_daily"], dags["clawback_weekly"]
    assert airflow_runner.logical_date_for(feeds, dt.date(2026, 3, 29)) == dt.datetime(2026, 3, 30, 1, 0, tzinfo=dt.UTC)
    assert airflow_runner.logical_date_for(feeds, dt.date(2026, 1, 5)) == dt.datetime(2026, 1, 6, 2, 0, tzinfo=dt.UTC)
    assert airflow_runner.logical_date_for(claw, dt.date(2026, 1, 7)) == dt.datetime(2026, 1, 7, 7, 0, tzinfo=dt.UTC)
    assert airflow_runner.logical_date_for(dags["reconciliation_nightly"], dt.date(2026, 1, 5)) == dt.datetime(
        2026, 1, 6, 6, 0, tzinfo=dt.UTC
    )  # the time part of its Asset-or-time schedule
    assert {dag_id: airflow_runner.day_offset(dag) for dag_id, dag in dags.items()} == {
        "card_feeds_daily": 1, "reconciliation_nightly": 1, "clawback_weekly": 0, "contributions_weekly": 0,
    }


def test_airflow_cfg_in_the_repository():
    # Goal: the committed configuration says what the README promises.
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(airflow_runner.AIRFLOW_CFG)
    assert cfg["core"]["dags_folder"] == "${CARELEDGER_ROOT}/dags"
    assert cfg["core"]["load_examples"] == "False"
    assert cfg["core"]["executor"] == "LocalExecutor"
    assert cfg["core"]["default_timezone"] == "Europe/London"
    assert cfg["database"]["sql_alchemy_conn"].startswith("sqlite:///")


def test_airflow_reads_the_repository_cfg(dags):
    # Goal: the running Airflow resolved our file (not a default one) and points at dags/.
    assert Path(conf.get("core", "dags_folder")) == DAGS_DIR
    assert conf.getboolean("core", "load_examples") is False
    assert conf.get("core", "default_timezone") == "Europe/London"
    assert conf.get("database", "sql_alchemy_conn") == f"sqlite:///{AIRFLOW_HOME}/airflow.db"


def test_helpers_are_not_parsed_as_dag_files(dags):
    # Goal: dags/.airflowignore keeps _common.py out of the DAG processor's file list.
    names = {Path(p).name for p in list_py_file_paths(str(DAGS_DIR))}
    assert names == {f"{dag_id}.py" for dag_id in EXPECTED_TASKS}


def test_the_day_a_run_works_on(dags):
    # Goal: Param day wins; then the feed events' day; then the logical date in London minus the
    # DAG's offset — across the clock change (29 March 2026), never the wall clock.
    import _common  # on sys.path once the DAG folder is parsed (the dags fixture)

    utc = dt.UTC
    assert _common.resolve_day("2026-03-03", ["2026-03-09"], dt.datetime(2026, 3, 20, tzinfo=utc), 1) == dt.date(2026, 3, 3)
    assert _common.resolve_day(None, ["2026-03-02", "2026-03-04"], dt.datetime(2026, 3, 20, tzinfo=utc), 1) == dt.date(2026, 3, 4)
    # 02:00 London on 30 March (BST) is 01:00 UTC: the feeds run loads 29 March.
    assert _common.resolve_day(None, [], dt.datetime(2026, 3, 30, 1, 0, tzinfo=utc), 1) == dt.date(2026, 3, 29)
    # 23:30 UTC on 31 March is already 1 April in London: a weekly run (offset 0) works for 1 April.
    assert _common.resolve_day(None, [], dt.datetime(2026, 3, 31, 23, 30, tzinfo=utc), 0) == dt.date(2026, 4, 1)
    # The scheduler's logical date is a pendulum DateTime; the day must come out a plain date.
    day = _common.resolve_day(None, [], pendulum.datetime(2026, 3, 3, 2, 0, tz="Europe/London"), 1)
    assert type(day) is dt.date and day == dt.date(2026, 3, 2)
    for dag_id in airflow_runner.DAG_IDS:
        at = airflow_runner.logical_date_for(dags[dag_id], dt.date(2026, 3, 29))
        offset = airflow_runner.day_offset(dags[dag_id])
        assert _common.resolve_day(None, [], at, offset) == dt.date(2026, 3, 29), dag_id


def test_nightly_deadline_comes_from_one_setting(dags, monkeypatch):
    # Goal: the nightly deadline is read from $CARELEDGER_NIGHTLY_DEADLINE_SECONDS (default two hours)
    # and a bad value is refused when the DAG file is parsed rather than silently ignored.
    import _common  # on sys.path once the DAG folder is parsed (the dags fixture)

    monkeypatch.delenv("CARELEDGER_NIGHTLY_DEADLINE_SECONDS", raising=False)
    assert _common.nightly_deadline() == dt.timedelta(hours=2)
    monkeypatch.setenv("CARELEDGER_NIGHTLY_DEADLINE_SECONDS", "90")
    assert _common.nightly_deadline() == dt.timedelta(seconds=90)
    for bad in ("0", "-5", "2h"):
        monkeypatch.setenv("CARELEDGER_NIGHTLY_DEADLINE_SECONDS", bad)
        with pytest.raises(ValueError, match="CARELEDGER_NIGHTLY_DEADLINE_SECONDS"):
            _common.nightly_deadline()
    assert [_common.duration_text(dt.timedelta(seconds=s)) for s in (7200, 3600, 5400, 60, 8, 61)] == [
        "2 hours", "1 hour", "90 minutes", "1 minute", "8 seconds", "61 seconds"]

