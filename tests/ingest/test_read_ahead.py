"""Goal: ingest reads and validates the next provider file while the current one is written, without
changing what is loaded, in what order, or how a failure surfaces; and never holds more than two files."""

from __future__ import annotations

import threading
import weakref

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import feeds.ingest as ingest
import feeds.readers as readers
from feeds.ingest import ingest_drop
from feeds.read_ahead import read_ahead
from tests.ingest import drops
from tests.ingest.test_ingest import DAY1

WAIT_S = 30  # generous bound on waiting for the worker: a failure, not a slow pass, if it never comes


@given(st.lists(st.integers(), max_size=12))
@settings(max_examples=50, deadline=None)
def test_results_come_in_the_order_of_the_items(items):
    assert list(read_ahead(lambda x: x * 3, items)) == [x * 3 for x in items]


def test_the_next_item_is_computed_while_the_caller_works_on_the_current_one():
    started = [threading.Event() for _ in range(4)]

    def fn(i: int) -> int:
        started[i].set()
        return i

    for i in read_ahead(fn, range(4)):
        if i + 1 < 4:  # the caller is "writing" item i: item i + 1 must be under way without it asking
            assert started[i + 1].wait(WAIT_S), f"item {i + 1} was not read ahead while item {i} was in hand"


def test_an_error_surfaces_at_its_own_item_after_the_earlier_ones():
    def fn(i: int) -> int:
        if i == 2:
            raise ValueError("item 2 is broken")
        return i

    seen = []
    with pytest.raises(ValueError, match="item 2 is broken"):
        for i in read_ahead(fn, range(5)):
            seen.append(i)
    assert seen == [0, 1]


def test_no_more_than_two_results_are_alive_at_once():
    class Big:  # stands in for a file's frames
        pass

    alive: set[int] = set()
    peak = 0

    def fn(i: int) -> Big:
        nonlocal peak
        obj = Big()
        alive.add(i)
        weakref.finalize(obj, alive.discard, i)
        peak = max(peak, len(alive))
        return obj

    for _ in read_ahead(fn, range(8)):
        pass
    assert peak <= 2, f"{peak} results alive at once"


def test_ingest_reads_the_next_file_while_the_previous_one_is_posted(db_url, tmp_path, monkeypatch):
    """The real nightly path: provider B's file is read while provider A's rows are being stored and
    posted (store_and_post waits for B's read to begin); the day still loads and ties as before."""
    folder = drops.write_drop(tmp_path, "20260302", drops.A_DAY1, drops.B_DAY1, DAY1)
    b_read_started = threading.Event()
    real_read, real_store = readers.read_provider_file, ingest.store_and_post

    def read(path):
        if path.name.startswith("B_"):
            b_read_started.set()
        return real_read(path)

    def store(conn, txns, ref, **kwargs):
        if kwargs["source"].startswith("A_"):
            assert b_read_started.wait(WAIT_S), "B's file was not read while A's was being posted"
        return real_store(conn, txns, ref, **kwargs)

    monkeypatch.setattr(readers, "read_provider_file", read)
    monkeypatch.setattr(ingest, "store_and_post", store)
    summary = ingest_drop(db_url, folder)
    assert b_read_started.is_set()
    assert not summary.refused, [f.message for f in summary.refused]
    assert [f.file_name for f in summary.files][1:] == sorted(
        (f.file_name for f in summary.files[1:]), key=lambda n: (0 if "transactions" in n or "events" in n else 1, n)
    )
    assert summary.total("rows_posted") > 0


def test_a_refused_file_between_good_ones_is_recorded_and_the_others_load(db_url, tmp_path):
    """A file the reader refuses whole, read ahead of its turn, is still registered as refused in its turn,
    and the files after it load."""
    folder = drops.write_drop(tmp_path, "20260302", drops.A_DAY1, drops.B_DAY1, DAY1)
    a_file = next(folder.glob("A_transactions_*"))
    a_file.write_text("Not,The,Header,Provider A,Sends\n1,2,3,4,5\n", encoding="utf-8")
    summary = ingest_drop(db_url, folder)
    status = {f.file_name: f.status for f in summary.files}
    assert status[a_file.name] == "refused", summary.files
    assert {s for n, s in status.items() if n != a_file.name} == {"loaded"}
    again = ingest_drop(db_url, folder)
    assert {f.status for f in again.files} == {"skipped"}
