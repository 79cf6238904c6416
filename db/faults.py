"""Fault injection for crash-safety tests: die with SIGKILL at a named point.

``CARELEDGER_CRASH_AT=point:n`` makes the process kill itself (no clean-up, no rollback handlers:
exactly what a power cut or the OOM killer does) the n-th time it reaches ``point``. Unset, this
costs one dictionary lookup per call. Points: after_read, mid_post (postings written, entries
not), before_commit, after_commit.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def crash_point(name: str) -> None:
    spec = os.environ.get("CARELEDGER_CRASH_AT")
    if not spec:
        return
    point, _, nth = spec.partition(":")
    if point != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
