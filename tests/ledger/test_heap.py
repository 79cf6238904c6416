"""db.heap.bulk_gc: the cycle collector's thresholds raised for a night's bulk work, and put back."""

from __future__ import annotations

import gc
import threading

import pytest

from db.heap import BULK_GC_THRESHOLDS, bulk_gc


@pytest.fixture(autouse=True)
def _default_thresholds():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_raises_the_thresholds_inside_and_restores_them_after():
    with bulk_gc():
        assert gc.get_threshold() == BULK_GC_THRESHOLDS
    assert gc.get_threshold() == (700, 10, 10)


def test_restores_after_an_exception():
    with pytest.raises(RuntimeError), bulk_gc():
        raise RuntimeError("boom")
    assert gc.get_threshold() == (700, 10, 10)


def test_never_lowers_a_higher_threshold():
    gc.set_threshold(50_000, 5, 1_000)
    with bulk_gc():
        assert gc.get_threshold() == (50_000, 10, 1_000)
    assert gc.get_threshold() == (50_000, 5, 1_000)


def test_nested_and_concurrent_blocks_restore_once_the_last_ends():
    inner_started, release = threading.Event(), threading.Event()

    def other_thread():
        with bulk_gc():
            inner_started.set()
            release.wait(5)

    with bulk_gc():
        t = threading.Thread(target=other_thread)
        t.start()
        assert inner_started.wait(5)
        with bulk_gc():
            assert gc.get_threshold() == BULK_GC_THRESHOLDS
    # The outer block ended while the thread's block still runs: its thresholds stay raised.
    assert gc.get_threshold() == BULK_GC_THRESHOLDS
    release.set()
    t.join(5)
    assert gc.get_threshold() == (700, 10, 10)


_COUNT_FULL_COLLECTIONS = """
import gc, sys
from db.heap import bulk_gc

def full_collections_while_keeping(rows):
    full = []
    def count(phase, info):
        if phase == "start" and info["generation"] == 2:
            full.append(1)
    gc.collect()
    gc.callbacks.append(count)
    try:
        kept = [[i, str(i), None] for i in range(rows)]  # lists stay tracked, as SQLAlchemy rows and parsed JSON do
        assert len(kept) == rows
    finally:
        gc.callbacks.remove(count)
    return len(full)

gc.set_threshold(700, 10, 10)
outside = full_collections_while_keeping(300_000)
with bulk_gc():
    inside = full_collections_while_keeping(300_000)
print(outside, inside)
"""


def test_a_large_read_sets_off_no_full_collection_inside_the_block():
    """The reason for the module: with the default thresholds, keeping many new objects at once (a
    SELECT's rows, a parsed JSON file) sets off full collections, each walking every object the process
    holds. Run in a fresh interpreter: a full collection is set off when the new objects are a quarter of
    the old, so the count depends on how many objects the process already holds (a whole test run's)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", _COUNT_FULL_COLLECTIONS], cwd=root, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    outside, inside = int(out[0]), int(out[1])
    assert outside >= 1, "the default thresholds: the cost bulk_gc avoids"
    assert inside == 0


@pytest.mark.parametrize(
    "entry",
    ["feeds.ingest:ingest_drop", "screening.run:screen_days", "reconciliation.run:reconcile_day"],
)
def test_the_nightly_entry_points_run_inside_the_block(entry, monkeypatch):
    """Each night's stage raises the thresholds for its whole run (checked from inside its first step)."""
    import importlib

    module_name, fn_name = entry.split(":")
    module = importlib.import_module(module_name)
    seen = []

    def probe(*_a, **_k):
        seen.append(gc.get_threshold())
        raise RuntimeError("probe")

    monkeypatch.setattr(module, "get_engine", probe)
    fn = getattr(module, fn_name)
    import datetime as dt
    from pathlib import Path

    args = {"ingest_drop": ("sqlite://", Path(".")), "screen_days": ("sqlite://", dt.date(2026, 1, 1), dt.date(2026, 1, 1)),
            "reconcile_day": ("sqlite://", dt.date(2026, 1, 1))}[fn_name]
    with pytest.raises(RuntimeError, match="probe"):
        fn(*args)
    assert seen and seen[0] == BULK_GC_THRESHOLDS
    assert gc.get_threshold() == (700, 10, 10)
