"""The ``runs`` register: one row per nightly run of a command (reconcile, screen), with what it saw.

Why one writer: later runs read the register to do only what changed since (reconciliation's
changed days, screening's late clients), so every command records its runs the same way.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, text


def record_run(
    conn: Connection,
    *,
    run_id: str,
    command: str,
    feed_date: dt.date,
    started_at: dt.datetime,
    summary: Mapping[str, Any],
    finished_at: dt.datetime | None = None,
) -> None:
    """Record a finished run (status ok), replacing an earlier row with the same ``run_id``."""
    conn.execute(text("DELETE FROM runs WHERE run_id = :r"), {"r": run_id})
    conn.execute(
        text(
            "INSERT INTO runs (run_id, command, feed_date, started_at, finished_at, status, summary_json)"
            " VALUES (:r, :c, :d, :s, :f, 'ok', :j)"
        ),
        {"r": run_id, "c": command, "d": feed_date, "s": started_at, "f": finished_at or dt.datetime.now(dt.UTC),
         "j": json.dumps(dict(summary))},
    )
