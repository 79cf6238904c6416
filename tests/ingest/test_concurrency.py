"""Goal: on PostgreSQL, ingests started at the same moment — the same day twice, or two different
days — end with the same ledger as running them one after the other (real processes).

How: every ledger write holds a transaction-scoped advisory lock and re-checks the file's hash
under it (docs/architecture.md, Concurrency).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from db.engine import get_engine
from ledger.verify import verify_ledger
from tests.conftest import drop_pg_database, make_pg_database, migrate
from tests.ingest import drops

ROOT = Path(__file__).resolve().parents[2]


def ledger_by_key(url: str) -> tuple:
    """The ledger independent of entry ids: each provider item's postings, every account's balance,
    the files loaded. Take-on entries are compared through the balances: when a later day happens to
    load first, its take-on is corrected once the earlier day arrives (docs/ledger.md), so the
    entries differ while every balance is the same."""
    with get_engine(url).connect() as conn:
        postings = conn.execute(
            text(
                "SELECT e.idempotency_key, p.account_code, p.amount_pence FROM journal_entries e"
                " JOIN postings p ON p.entry_id = e.entry_id"
                " WHERE e.entry_type NOT IN ('take_on', 'correction') ORDER BY 1, 2, 3"
            )
        ).all()
        balances = conn.execute(text("SELECT account_code, sum(amount_pence) FROM postings GROUP BY 1 ORDER BY 1")).all()
        files = conn.execute(text("SELECT sha256, status FROM feed_files ORDER BY 1")).all()
        assert verify_ledger(conn).ok
    return postings, balances, files


def start(url: str, folders: list[Path]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.ingest.run_ingest", url, *map(str, folders)],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.fixture
def pg_pair():
    made = [make_pg_database() for _ in range(2)]
    for url, _ in made:
        migrate(url)
    yield [url for url, _ in made]
    for url, schema in made:
        drop_pg_database(url, schema)


@pytest.mark.parametrize("case", ["same day twice", "two different days"])
def test_concurrent_ingests_equal_sequential(pg_pair, tmp_path, case):
    sequential, concurrent = pg_pair
    folders = drops.synthetic_days(tmp_path / "drops", days=2, purchases_per_day=60)
    runs = [[folders[0]], [folders[0]]] if case == "same day twice" else [[folders[0]], [folders[1]]]
    for folder_list in runs:
        proc = start(sequential, folder_list)
        assert proc.wait(timeout=300) == 0, proc.stderr.read()[-3000:]
    procs = [start(concurrent, folder_list) for folder_list in runs]
    for proc in procs:
        assert proc.wait(timeout=300) == 0, proc.stderr.read()[-3000:]
    assert ledger_by_key(concurrent) == ledger_by_key(sequential)
