"""Airflow for the DAG tests: a temporary AIRFLOW_HOME per test session, migrated once.

Airflow reads its configuration when first imported, so the environment is set here, at collection,
before any test imports airflow. The metadata database is SQLite under the temporary home; the
ledger database each test uses comes from the `db_url` fixture (SQLite and PostgreSQL).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from careledger import airflow_runner

AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="careledger-airflow-"))
atexit.register(shutil.rmtree, AIRFLOW_HOME, ignore_errors=True)  # even when no DAG test was selected
airflow_runner.configure(
    AIRFLOW_HOME,
    extra_env={"CARELEDGER_TASK_RETRIES": "0", "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"},
)
os.environ.pop("CARELEDGER_DB_URL", None)


@pytest.fixture(scope="session")
def airflow_db() -> float:
    """Migrate the session's Airflow metadata database; returns the seconds it took."""
    started = time.perf_counter()
    airflow_runner.migrate_metadata()
    return time.perf_counter() - started


@pytest.fixture(scope="session")
def dags(airflow_db) -> dict:
    return airflow_runner.load_dags()
