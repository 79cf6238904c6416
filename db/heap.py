"""CPython's cycle collector held back while a night's bulk work runs (``bulk_gc``).

Why: a nightly process holds about 340,000 objects that live as long as it does (the modules, classes
and functions of polars, SQLAlchemy, pandas and Great Expectations). CPython's full collection walks
every one of them, and with the default thresholds (700, 10, 10) a night sets one off each time it
keeps many new objects at once: a provider's JSON file parsed, a SELECT's rows fetched, Great
Expectations turning a column into Python values. Measured on a 60-day SQLite history (10,000 cards,
50,000 items a night): 5 full collections of about 0.2 s each, and 1.0-1.1 s of a 10-11 s night in the
collector all told (0.8 s on the first night).

Almost everything a night allocates is freed by reference counting the moment it is dropped (rows,
tuples, strings, frames); the collector is only needed for reference cycles, which the night makes
few of. So while a night runs the thresholds are raised (``BULK_GC_THRESHOLDS``): the young generation
is collected after 10,000 allocations instead of 700, and a full collection is considered after 100
middle-generation collections instead of 10. The collector still runs; cycles are still freed, later.
The thresholds are put back when the work ends, and a threshold already higher is never lowered.

Why not ``gc.freeze()`` after the imports: frozen objects are never collected again, so it is safe only
once, at a process's start, in a process that does nothing else. These functions also run inside a
test process, an Airflow worker and a notebook; a scoped change of thresholds is safe in all of them.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# (young allocations, young collections per middle one, middle collections per full one considered).
BULK_GC_THRESHOLDS: tuple[int, int, int] = (10_000, 10, 100)

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] = ()


@contextmanager
def bulk_gc() -> Iterator[None]:
    """Run the block with the collector's thresholds at least ``BULK_GC_THRESHOLDS``; restore them after.

    Nested and concurrent blocks (a night's stages calling one another, two threads) share one change:
    the thresholds in force before the outermost block come back when the last block ends."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*(max(now, bulk) for now, bulk in zip(_saved, BULK_GC_THRESHOLDS, strict=True)))
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
