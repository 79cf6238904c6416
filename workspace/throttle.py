"""Sign-in throttling and lock-out, computed from the record of attempts.

Why from the record and not a counter on the user: unknown names are throttled exactly like known ones
(so a lock does not reveal which names exist), and the record is what an investigation needs anyway.

- An account locks after ``sign_in_failures_max`` wrong passwords within ``sign_in_window_minutes`` (since
  its last successful sign-in or password change) and stays locked for ``lock_minutes`` from the last of
  them. Attempts while locked are refused without checking the password and do not extend the lock.
- One address may try ``address_attempts_per_minute`` times a minute, whatever the names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from db.bulk import to_utc
from workspace.config import WorkspaceConfig
from workspace.tables import sign_in_attempts as attempts

FAILED = "refused"


@dataclass(frozen=True)
class Refusal:
    outcome: str  # "locked" or "throttled"
    until: dt.datetime  # UTC
    message: str


def record_attempt(conn: Connection, username: str, remote_addr: str | None, outcome: str, *, now: dt.datetime) -> None:
    assert outcome in ("signed_in", FAILED, "locked", "throttled", "disabled"), outcome
    conn.execute(attempts.insert().values(username=username[:100], at=now, outcome=outcome, remote_addr=(remote_addr or "")[:64]))


def refusal(conn: Connection, config: WorkspaceConfig, username: str, remote_addr: str | None, *, now: dt.datetime,
            reset_at: dt.datetime | None = None) -> Refusal | None:
    """Why this attempt must be refused before the password is checked, or None. ``reset_at``: the user's
    last password change (failures before it do not count)."""
    minute_ago = now - dt.timedelta(minutes=1)
    from_addr = conn.execute(
        select(func.count()).select_from(attempts).where(attempts.c.remote_addr == (remote_addr or "")[:64], attempts.c.at > minute_ago)
    ).scalar_one()
    if from_addr >= config.address_attempts_per_minute:
        return Refusal("throttled", now + dt.timedelta(minutes=1),
                       "Too many sign-in attempts from this computer. Wait a minute, then try again.")
    since = now - dt.timedelta(minutes=config.sign_in_window_minutes)
    last_ok = to_utc(conn.execute(
        select(func.max(attempts.c.at)).where(attempts.c.username == username, attempts.c.outcome == "signed_in")
    ).scalar())
    since = max(t for t in (since, last_ok, reset_at) if t is not None)
    rows = conn.execute(
        select(attempts.c.at).where(attempts.c.username == username, attempts.c.outcome == FAILED, attempts.c.at > since)
        .order_by(attempts.c.at.desc()).limit(config.sign_in_failures_max)
    ).all()
    if len(rows) < config.sign_in_failures_max:
        return None
    until = to_utc(rows[0][0]) + dt.timedelta(minutes=config.lock_minutes)  # type: ignore[operator]
    if until <= now:
        return None
    return Refusal("locked", until, "")
