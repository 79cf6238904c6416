"""Server-side sessions: a random cookie value names a row; the row says who, until when, and its CSRF token.

Why server-side and not a signed cookie: signing out, disabling a user or changing their password must
end their sessions at once, which a self-contained cookie cannot do. The row holds an HMAC of the
cookie's value (keyed with the workspace's secret key), so neither a copy of the table nor the key alone
lets anyone sign in. A session ends after ``session_idle_minutes`` without a request and after
``session_absolute_hours`` however busy. Signing in always starts a new session (a new id), and ends the
one the browser held before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, select

from db.bulk import to_utc
from workspace.config import WorkspaceConfig
from workspace.tables import workspace_sessions as sessions
from workspace.tables import workspace_users as users

TOUCH_EVERY = dt.timedelta(seconds=60)  # last_seen_at is written at most this often (a write per page otherwise)


@dataclass(frozen=True)
class Session:
    session_hash: str
    user_id: int
    csrf_token: str
    created_at: dt.datetime
    expires_at: dt.datetime


def session_hash(config: WorkspaceConfig, token: str) -> str:
    return hmac.new(config.secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def start_session(conn: Connection, config: WorkspaceConfig, user_id: int, *, now: dt.datetime,
                  replacing: str | None = None) -> tuple[str, Session]:
    """A new session for the user: (the cookie's value, the session). ``replacing``: the cookie the browser
    sent, whose session ends now (the id changes at sign-in)."""
    if replacing:
        end_session(conn, config, replacing, "signed_in_again", now=now)
    token = secrets.token_urlsafe(32)
    s = Session(session_hash(config, token), user_id, secrets.token_urlsafe(32), now,
                now + dt.timedelta(hours=config.session_absolute_hours))
    conn.execute(sessions.insert().values(session_hash=s.session_hash, user_id=user_id, csrf_token=s.csrf_token,
                                          created_at=now, last_seen_at=now, expires_at=s.expires_at))
    return token, s


def current_session(conn: Connection, config: WorkspaceConfig, token: str | None, *, now: dt.datetime) -> Session | None:
    """The live session the cookie names, or None: unknown, ended, past its absolute or idle limit, or its user
    disabled. A live one's last-seen time moves on (at most once a minute)."""
    if not token or len(token) > 200:
        return None
    key = session_hash(config, token)
    row = conn.execute(
        select(sessions, users.c.active).join(users, users.c.user_id == sessions.c.user_id).where(sessions.c.session_hash == key)
    ).mappings().first()
    if row is None or row["ended_at"] is not None or not row["active"]:
        return None
    expires, last_seen = to_utc(row["expires_at"]), to_utc(row["last_seen_at"])
    assert expires is not None and last_seen is not None
    if now >= expires or now - last_seen >= dt.timedelta(minutes=config.session_idle_minutes):
        return None
    if now - last_seen >= TOUCH_EVERY:
        conn.execute(sessions.update().where(sessions.c.session_hash == key).values(last_seen_at=now))
    created = to_utc(row["created_at"])
    assert created is not None
    return Session(key, int(row["user_id"]), row["csrf_token"], created, expires)


def end_session(conn: Connection, config: WorkspaceConfig, token: str, reason: str, *, now: dt.datetime) -> None:
    conn.execute(
        sessions.update().where(sessions.c.session_hash == session_hash(config, token), sessions.c.ended_at.is_(None))
        .values(ended_at=now, ended_reason=reason)
    )


def end_user_sessions(conn: Connection, user_id: int, reason: str) -> int:
    """End every live session of the user (disabled, password changed); returns how many."""
    result = conn.execute(
        sessions.update().where(sessions.c.user_id == user_id, sessions.c.ended_at.is_(None))
        .values(ended_at=dt.datetime.now(dt.UTC), ended_reason=reason)
    )
    return int(result.rowcount or 0)
