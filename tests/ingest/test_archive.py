"""Goal: any day can be re-run from the Parquet archive — the restored files are the files that
arrived (byte for byte, card numbers aside) and re-running them gives the same ledger."""

from __future__ import annotations

import datetime as dt
import shutil

from feeds.archive import archived_days, restore_day
from feeds.ingest import ingest_drop
from tests.conftest import migrate
from tests.ingest import drops
from tests.ingest.test_ingest import DAY1, _fingerprint


def test_a_day_rerun_from_the_archive_gives_the_same_ledger(tmp_path):
    folder = drops.write_drop(tmp_path / "drops", "20260302", drops.A_DAY1, drops.B_DAY1, DAY1)
    first = f"sqlite:///{tmp_path / 'first.db'}"
    migrate(first)
    ingest_drop(first, folder, archive_root=tmp_path / "archive")
    archived = archived_days(tmp_path / "archive")
    assert {(p, d) for p, d, _ in archived} == {("A", dt.date(2026, 3, 2)), ("B", dt.date(2026, 3, 2))}
    assert len(archived) == 4  # transactions and balances for A and B

    # Restore into a new drop folder beside the council's extract, and re-run into a fresh ledger.
    rerun_dir = tmp_path / "rerun" / "20260302"
    restored = restore_day(tmp_path / "archive", dt.date(2026, 3, 2), rerun_dir)
    for path in restored:
        assert path.read_bytes() == (folder / path.name).read_bytes(), path.name
    for name in ("councils.yaml", "cardholders.csv", "payees.csv", "contributions.csv", "load_schedule.csv",
                 "client_events.csv", "commitments.csv"):
        shutil.copy(folder / name, rerun_dir / name)
    second = f"sqlite:///{tmp_path / 'second.db'}"
    migrate(second)
    ingest_drop(second, rerun_dir)
    assert _fingerprint(second) == _fingerprint(first)
