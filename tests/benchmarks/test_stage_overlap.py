"""Goal: the benchmark's stage breakdown counts read and validate time that ran during a post once, not
twice (ingest reads the next file ahead while the current one is written: feeds/read_ahead.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.run import StageTimer, _overlap, _union

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
