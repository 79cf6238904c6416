"""Compute the next item of a sequence in a worker thread while the caller works on the current one.

Why: a night's provider files are written one after another, each in its own transaction, and while a
file's rows are being written the database server does most of the work and this process waits on it
(the wait releases Python's global lock). Reading and validating the next file in that wait takes its
read off the critical path. One worker and one item ahead: the order of results is the order of the
items, and at most two results are alive at once (the one the caller holds and the one read ahead), so
memory stays bounded by two files, never the whole folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def read_ahead(fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
    """Yield ``fn(item)`` for each item, in order, computing the next one in a worker thread while the
    caller works on the current one. An exception raised by ``fn`` is raised here, at the item it
    belongs to; if the caller stops early, the item being read ahead is finished and dropped."""
    if len(items) <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="careledger-read-ahead") as worker:
        ahead: Future[R] = worker.submit(fn, items[0])
        for item in items[1:]:
            current = ahead.result()
            ahead = worker.submit(fn, item)
            yield current
            del current  # the caller has finished with it: let it go before the next one is waited for
        yield ahead.result()
