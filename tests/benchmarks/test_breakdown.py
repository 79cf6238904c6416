"""Goal: the benchmark's breakdown is honest: read and validate time that ran during a post is counted once
not twice (feeds/read_ahead.py), and the ledger write floor carries exactly the night's rows through the guards."""

from __future__ import annotations

import json

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
    run_ledger_write_floor,
    write_markdown,
)
from feeds.ingest import ingest_drop
from ledger.db import get_engine
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


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_ledger_write_floor_rewrites_every_row_the_night_wrote_through_the_guards(kind, tmp_path):
    """The floor's copy passes the ledger's own guards (a posting without its balanced entry would be
    refused) and carries exactly the night's rows."""
    if kind == "postgresql":
        require_pg()
    gen = generate_day(tmp_path / "drops", cards=200, transactions=2_000)
    url, cleanup = _fresh_database(kind, tmp_path)
    try:
        ingest_drop(url, gen.folder)
        with get_engine(url).connect() as conn:
            counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in LEDGER_WRITE_TABLES}
        got = run_ledger_write_floor(url, kind, tmp_path)
    finally:
        cleanup()
    assert got["rows"] == counts
    assert counts["transactions"] == 2_000 and counts["postings"] >= 2 * counts["journal_entries"]
    assert got["seconds"] > 0 and got["postings_per_s"] > 0


def test_the_doc_shows_the_ledger_write_floor_beside_the_post_stage(tmp_path):
    nightly = {"database": "postgresql", "cpu_count": 2, "cards": 1, "transactions": 10, "ours": {
        "stages_s": {"read": 1.0, "post": 20.0}, "total_s": 30.0, "postings_per_s": 5, "peak_rss_mb": 100,
        "postings": 2_200_000, "read_validate_overlapped_s": 7.5},
        "floor": {"total_s": 1.0}, "ratio_to_floor": 30.0, "ratio_to_orm": 0.5, "query_plans": {},
        "ledger_write_floor": {"rows": {}, "seconds": 10.0, "postings_per_s": 220_000}, "post_to_ledger_write_floor": 2.0}
    (tmp_path / "postgresql_1m.json").write_text(json.dumps(nightly))
    doc = tmp_path / "performance.md"
    write_markdown(doc, tmp_path)
    text_ = doc.read_text()
    assert "| postgresql (1M) | 2,200,000 | 10.0 | 220,000 | 20.0 | 2.00 | 7.5 |" in text_
    assert "5 (the ledger write floor alone: 220,000) | **no** |" in text_
