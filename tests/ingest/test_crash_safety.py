"""Goal: killing ingest with SIGKILL anywhere — mid-file, mid-batch, mid-commit — and re-running it
leaves the ledger identical to an uninterrupted run: no partial batch, no file marked loaded that was not.

Each seeded run picks a crash point and an occurrence (db/faults.py), kills the child
process there, checks nothing partial is visible, then re-runs to completion and compares.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from db.engine import get_engine
from ledger.verify import verify_ledger
from tests.conftest import migrate
from tests.ingest import drops

ROOT = Path(__file__).resolve().parents[2]
POINTS = ("after_read", "mid_post", "before_commit", "after_commit")
SEEDS = range(20)


def fingerprint(url: str) -> tuple:
    with get_engine(url).connect() as conn:
        return (
            conn.execute(
                text(
                    "SELECT e.entry_id, e.idempotency_key, e.entry_hash, p.account_code, p.amount_pence"
                    " FROM journal_entries e JOIN postings p ON p.entry_id = e.entry_id ORDER BY p.posting_id"
                )
            ).all(),
            conn.execute(text("SELECT sha256, status FROM feed_files ORDER BY sha256")).all(),
            conn.execute(
                text("SELECT provider, provider_txn_id, status, hold_open, entry_id FROM transactions ORDER BY 1, 2")
            ).all(),
            conn.execute(text("SELECT provider, account_id, balance_date, closing_balance_pence FROM provider_balances ORDER BY 1, 2, 3")).all(),
        )


def run_child(url: str, folders: list[Path], crash_at: str | None) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CARELEDGER_CRASH_AT", None)
    if crash_at:
        env["CARELEDGER_CRASH_AT"] = crash_at
    proc = subprocess.run(
        [sys.executable, "-m", "tests.ingest.run_ingest", url, *map(str, folders)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    if crash_at is None:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.returncode


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    folders = drops.synthetic_days(root / "drops", days=3, purchases_per_day=40)
    ref_url = f"sqlite:///{root / 'reference.db'}"
    migrate(ref_url)
    run_child(ref_url, folders, None)
    return root, folders, fingerprint(ref_url)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_sigkill_then_rerun_equals_uninterrupted(world, seed):
    root, folders, expected = world
    rng = random.Random(seed)
    point = POINTS[seed % len(POINTS)]
    nth = rng.randint(1, 6)  # 3 days × (A, B, balances) files: up to ~12 hits per point
    url = f"sqlite:///{root / f'crash_{seed}.db'}"
    migrate(url)
    code = run_child(url, folders, f"{point}:{nth}")
    assert code in (-signal.SIGKILL, 0), f"child exited {code}"
    with get_engine(url).connect() as conn:
        # Whatever survived the kill is whole: every entry balances, every loaded file's rows are in.
        assert verify_ledger(conn).ok
        # No file is marked loaded whose entries are not all there, and no entries exist from a file
        # that is not marked loaded (take-on entries are the end-of-run step, keyed by card).
        per_file = conn.execute(
            text(
                "SELECT f.file_name, f.rows_posted, (SELECT count(*) FROM journal_entries e"
                "  WHERE e.source_file = f.file_name AND e.entry_type <> 'take_on')"
                " FROM feed_files f WHERE f.status = 'loaded' AND f.file_kind = 'transactions'"
            )
        ).all()
        orphans = conn.execute(
            text(
                "SELECT count(*) FROM journal_entries e WHERE e.entry_type <> 'take_on' AND NOT EXISTS"
                " (SELECT 1 FROM feed_files f WHERE f.file_name = e.source_file AND f.status = 'loaded')"
            )
        ).scalar_one()
    assert all(posted == found for _, posted, found in per_file), per_file
    assert orphans == 0
    run_child(url, folders, None)
    assert fingerprint(url) == expected
    get_engine(url).dispose()
