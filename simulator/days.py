"""Days and times as the simulator counts them: London wall-clock, naive ``datetime`` (simulator.model)."""

from __future__ import annotations

import datetime as dt

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


def at(day: dt.date, seconds: int) -> dt.datetime:
    """The London wall-clock moment ``seconds`` after midnight of ``day``."""
    return dt.datetime(day.year, day.month, day.day) + dt.timedelta(seconds=seconds)


def next_weekday(day: dt.date, weekday: int) -> dt.date:
    """``day`` itself if it falls on ``weekday`` (0 = Monday), else the next such day."""
    return day + ((weekday - day.weekday()) % 7) * DAY
