"""How much history the rules need before the first screened day, from the clients' parameters:
``screening.run.load_input`` reads that much and no more.

Why here, beside the rules: each bound follows from a rule's window (dormant_days, the burst windows, the
drain window, the spike baseline), so a rule's window and the history read for it change together.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from schemas.council_policy import THRESHOLD_DEFAULTS


def _largest(clients: pl.DataFrame, param: str) -> float:
    """The largest value of a screening parameter over the clients (the council default when none)."""
    v = clients[param].max() if clients.height and param in clients.columns else None
    return float(v) if v is not None else float(THRESHOLD_DEFAULTS[param])


def lookback_days(clients: pl.DataFrame) -> tuple[int, int]:
    """(days of complete history, days of cash/payment history) the rules need before the first screened day."""
    complete = int(
        max(
            _largest(clients, "dormant_days"),
            _largest(clients, "new_payee_window_days"),
            _largest(clients, "unusual_hours_window_days"),
            _largest(clients, "drain_window_hours") / 24 + 1,
        )
    ) + 7
    baseline = int(_largest(clients, "spike_baseline_weeks") + 2) * 7
    return complete, max(complete, baseline)


def near_days(clients: pl.DataFrame) -> int:
    """Days before the first screened day over which the rules need every item, not only what
    ``screening.run.load_input`` selects from older history: a drain window (a load's spending within
    hours) or a velocity window that starts before the first screened day, and a clearing whose
    authorisation came a day or two earlier."""
    drain_days = -(-_largest(clients, "drain_window_hours") // 24)
    velocity_days = -(-_largest(clients, "velocity_window_minutes") // 1440)
    return int(max(drain_days, velocity_days, 1)) + 1


def velocity_window(clients: pl.DataFrame) -> dt.timedelta:
    """The longest velocity window of any client: how far before the first screened day a burst's
    first item can lie."""
    return dt.timedelta(minutes=_largest(clients, "velocity_window_minutes"))


def night_utc_hours(clients: pl.DataFrame) -> set[int]:
    """UTC hours in which any client's night (unusual_hours_start..end, London time) can fall: London
    is UTC or UTC+1, so a London hour h is UTC hour h or h-1. The unusual-hours rule needs older card
    use only at these hours."""
    pairs = (
        clients.select("unusual_hours_start", "unusual_hours_end").unique().rows()
        if clients.height
        else [(THRESHOLD_DEFAULTS["unusual_hours_start"], THRESHOLD_DEFAULTS["unusual_hours_end"])]
    )
    london: set[int] = set()
    for start, end in pairs:
        if start is None or end is None:
            continue
        start, end = int(start), int(end)
        london |= set(range(start, end)) if start <= end else set(range(start, 24)) | set(range(0, end))
    return london | {(h - 1) % 24 for h in london}
