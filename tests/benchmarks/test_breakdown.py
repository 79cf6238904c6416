"""Goal: the benchmark's breakdown is honest: read and validate time that ran during a post is counted once
not twice (feeds/read_ahead.py), and the ledger write floor carries exactly the night's rows through the guards."""

from __future__ import annotations

import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from benchmarks.generate import generate_day
from benchmarks.run import (
    LEDGER_WRITE_TABLES,
    StageTimer,
    _fresh_database,
    _overlap,
    _union,
    ledger_frames,
    orm_ledger_sample,
    run_ledger_write_floor,
    run_orm_ledger,
    write_markdown,
)
from db.engine import get_engine
from feeds.ingest import ingest_drop
from tests.conftest import require_pg

interval = st.tuples(st.integers(0, 40), st.integers(0, 40)).map(lambda t: (min(t), max(t)))


def _covered(intervals) -> set[int]:
    """Unit cells [k, k+1) inside any interval: the brute-force oracle."""
    return {k for a, b in intervals for k in range(a, b)}


@given(st.lists(interval, max_size=8), st.lists(interval, max_size=8))
@settings(max_examples=300, deadline=None)
def test_overlap_is_the_length_of_the_intersection_of_the_unions(a, b):
    merged = _union([(float(x), float(y)) for x, y in a])
    assert all(merged[i][1] < merged[i + 1][0] for i in range(len(merged) - 1))  # disjoint and sorted
    assert sum(y - x for x, y in merged) == len(_covered(a))
    got = _overlap(merged, _union([(float(x), float(y)) for x, y in b]))
    assert got == len(_covered(a) & _covered(b))


def test_stage_timer_counts_read_during_post_as_overlap():
    timer = StageTimer()
    timer.intervals += [("post", 0.0, 10.0), ("read", 8.0, 12.0), ("validate", 12.0, 13.0), ("post", 12.5, 20.0)]
    assert timer.overlap_s(("read", "validate"), during="post") == 2.5


@pytest.fixture(params=["sqlite", "postgresql"])
def night(request, tmp_path):
    """(database kind, URL) of a fresh database holding one generated night of 2,000 items, ingested."""
    kind = request.param
    if kind == "postgresql":
        require_pg()
    gen = generate_day(tmp_path / "drops", cards=200, transactions=2_000)
    url, cleanup = _fresh_database(kind, tmp_path)
    try:
        ingest_drop(url, gen.folder)
        yield kind, url
    finally:
        cleanup()


def test_the_ledger_write_floor_rewrites_every_row_the_night_wrote_through_the_guards(night, tmp_path):
    """The floor's copy passes the ledger's own guards (a posting without its balanced entry would be
    refused) and carries exactly the night's rows."""
    kind, url = night
    with get_engine(url).connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in LEDGER_WRITE_TABLES}
    got = run_ledger_write_floor(url, kind, tmp_path)
    assert got["rows"] == counts
    assert counts["transactions"] == 2_000 and counts["postings"] >= 2 * counts["journal_entries"]
    assert got["seconds"] > 0 and got["postings_per_s"] > 0


def test_the_doc_shows_the_ledger_write_floor_beside_the_post_stage(tmp_path):
    nightly = {"database": "postgresql", "cpu_count": 2, "cards": 1, "transactions": 10, "ours": {
        "stages_s": {"read": 1.0, "post": 20.0}, "total_s": 30.0, "postings_per_s": 5, "peak_rss_mb": 100,
        "postings": 2_200_000, "read_validate_overlapped_s": 7.5},
        "floor": {"total_s": 1.0}, "ratio_to_floor": 30.0, "ratio_to_orm": 0.5, "query_plans": {},
        "ledger_write_floor": {"rows": {}, "seconds": 10.0, "postings_per_s": 220_000}, "post_to_ledger_write_floor": 2.0,
        "ratio_to_orm_ledger": 1.25, "post_ratio_to_orm_ledger": 3.5}
    (tmp_path / "postgresql_1m.json").write_text(json.dumps(nightly))
    before_orm_ledger = {k: v for k, v in nightly.items() if "orm_ledger" not in k} | {"database": "sqlite"}
    (tmp_path / "sqlite_1m.json").write_text(json.dumps(before_orm_ledger))
    doc = tmp_path / "performance.md"
    write_markdown(doc, tmp_path)
    text_ = doc.read_text()
    assert "| postgresql (1M) | 2,200,000 | 10.0 | 220,000 | 20.0 | 2.00 | 7.5 |" in text_
    assert "| 30.00 | 5 | 0.50× | 1.25× / 3.50× | 100 |" in text_  # ORM ledger: end to end / post stage
    assert "| 30.00 | 5 | 0.50× | — | 100 |" in text_  # a result from before that baseline
    assert "5 (the ledger write floor alone: 220,000) | **no** |" in text_


def test_the_orm_baseline_writes_the_same_ledger_rows_through_the_guards(night, tmp_path):
    """The 'typical team' baseline writes a complete, balanced part of the night's own ledger rows, one ORM
    object per row, into the real schema: the guards accept it (an entry missing a posting would be
    refused), and every object reaches the database."""
    kind, url = night
    frames = ledger_frames(url)
    got = run_orm_ledger(frames, kind, tmp_path, items=500)
    sample = orm_ledger_sample(frames, 500)
    assert got["items"] == 500 and got["rows"] == {t: f.height for t, f in sample.items()}
    entries, postings = sample["journal_entries"], sample["postings"]
    # Every sampled item's entry is there with all its postings, and each entry balances.
    assert set(sample["transactions"]["entry_id"]) == set(entries["entry_id"])
    whole = frames["postings"].filter(pl.col("entry_id").is_in(entries["entry_id"].implode()))
    assert postings.height == whole.height >= 2 * entries.height
    assert postings.group_by("entry_id").agg(pl.col("amount_pence").sum())["amount_pence"].to_list() == [0] * entries.height
    assert got["seconds"] > 0 and got["items_per_s"] > 0


def test_orm_sample_leaves_no_entry_unbalanced_when_it_cuts_the_night():
    """Cut anywhere, the sample keeps whole entries: the ones its items name, with every posting."""
    frames = {
        "transactions": pl.DataFrame({"entry_id": [1, None, 2, 2, 3], "provider_txn_id": list("abcde")}),
        "journal_entries": pl.DataFrame({"entry_id": [1, 2, 3, 4]}),
        "postings": pl.DataFrame({"entry_id": [1, 1, 2, 2, 2, 3, 3, 4, 4], "amount_pence": [5, -5, 1, 1, -2, 7, -7, 3, -3]}),
    }
    sample = orm_ledger_sample(frames, 3)
    assert sample["transactions"]["provider_txn_id"].to_list() == ["a", "c", "d"]
    assert sample["journal_entries"]["entry_id"].to_list() == [1, 2]
    assert sample["postings"]["amount_pence"].to_list() == [5, -5, 1, 1, -2]
