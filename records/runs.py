"""The ``runs`` register: one row per nightly run of a command (reconcile, screen), with what it saw; its reads.

Why one writer: later runs read the register to do only what changed since (reconciliation's
changed days, screening's late clients), so every command records its runs the same way.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import polars as pl
from sqlalchemy import Connection, text

from db.bulk_read import rows_frame


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


def run_days(conn: Connection, command: str, date_from: dt.date, date_to: dt.date) -> set[dt.date]:
    """The days in [date_from, date_to] that a run of ``command`` has been recorded for."""
    rows = conn.execute(
        text("SELECT feed_date FROM runs WHERE command = :c AND feed_date >= :f AND feed_date <= :t"),
        {"c": command, "f": date_from, "t": date_to},
    ).all()
    return set(rows_frame(rows, {"feed_date": pl.Date})["feed_date"].to_list())


def last_run_summary(conn: Connection, command: str) -> dict[str, Any] | None:
    """The summary the latest finished run of ``command`` recorded, or None before the first (or when
    it recorded none)."""
    row = conn.execute(
        text("SELECT summary_json FROM runs WHERE command = :c ORDER BY finished_at DESC LIMIT 1"), {"c": command}
    ).one_or_none()
    if row is None or not row[0]:
        return None
    return json.loads(row[0])
