"""Workspace users: add, disable, set a password, list; and what one user may see.

Why in the database and with a CLI as well as a page: the first admin of a new installation has only the
command line (``careledger users add``); after that admins use the Users page. Both call these functions.
Disabling a user or setting their password ends every session they hold, at once (sessions are
server-side: ``workspace/sessions.py``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from db.bulk import to_utc
from workspace.passwords import check_policy, hash_password
from workspace.sessions import end_user_sessions
from workspace.tables import (
    ROLES,
    workspace_user_councils,
    workspace_user_roles,
    workspace_user_teams,
    workspace_users,
)

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,99}$")


class UserError(ValueError):
    """A change to users that cannot be made; the message says why and what to do."""


@dataclass(frozen=True)
class User:
    user_id: int
    username: str
    display_name: str
    email: str | None
    active: bool
    roles: frozenset[str]
    councils: frozenset[str]
    teams: frozenset[tuple[str, str]]  # (council, team): a safeguarding lead's teams

    def has(self, role: str) -> bool:
        return role in self.roles


def normal_username(username: str) -> str:
    return (username or "").strip().lower()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def add_user(conn: Connection, username: str, display_name: str, password: str, *, roles: Iterable[str],
             councils: Iterable[str], teams: Iterable[tuple[str, str]] = (), email: str | None = None,
             actor: str) -> int:
    """Add a user with roles, councils and (for safeguarding) teams; returns the user id."""
    username = normal_username(username)
    roles, councils, teams = sorted(set(roles)), sorted(set(councils)), sorted(set(teams))
    if not USERNAME.match(username):
        raise UserError("a user name is 2-100 characters: lower-case letters, digits and . _ @ -")
    if not display_name.strip():
        raise UserError("give the person's name as it should appear in case histories")
    if not actor:
        raise UserError("say who is adding the user (--by)")
    unknown = sorted(set(roles) - set(ROLES))
    if not roles or unknown:
        raise UserError(f"roles must be one or more of {', '.join(ROLES)}" + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
    if not councils:
        raise UserError("a user belongs to at least one council (--council)")
    if "safeguarding" in roles and not teams:
        raise UserError("a safeguarding lead needs at least one team (--team, as in cardholders.csv)")
    if teams and "safeguarding" not in roles:
        raise UserError("teams are for safeguarding leads only")
    outside = sorted({c for c, _ in teams} - set(councils))
    if outside:
        raise UserError(f"a team's council must be one of the user's councils: {', '.join(outside)}")
    check_policy(password, username=username)
    if conn.execute(select(workspace_users.c.user_id).where(workspace_users.c.username == username)).first():
        raise UserError(f"there is already a user {username!r}")
    now = _now()
    user_id = int(conn.execute(
        workspace_users.insert().values(
            username=username, display_name=display_name.strip(), email=(email or "").strip() or None,
            password_hash=hash_password(password), active=True, created_at=now, created_by=actor, password_changed_at=now,
        )
    ).inserted_primary_key[0])
    for role in roles:
        conn.execute(workspace_user_roles.insert().values(user_id=user_id, role=role))
    for council in councils:
        conn.execute(workspace_user_councils.insert().values(user_id=user_id, council=council))
    for council, team in teams:
        conn.execute(workspace_user_teams.insert().values(user_id=user_id, council=council, team=team))
    return user_id


def _user_id(conn: Connection, username: str) -> int:
    found = conn.execute(select(workspace_users.c.user_id).where(workspace_users.c.username == normal_username(username))).first()
    if found is None:
        raise UserError(f"no user {normal_username(username)!r} (`careledger users list` shows them)")
    return int(found[0])


def disable_user(conn: Connection, username: str, *, actor: str) -> int:
    """Disable a user: they cannot sign in, and the sessions they hold end now. Returns sessions ended."""
    if not actor:
        raise UserError("say who is disabling the user (--by)")
    user_id = _user_id(conn, username)
    conn.execute(
        workspace_users.update().where(workspace_users.c.user_id == user_id).values(active=False, disabled_at=_now(), disabled_by=actor)
    )
    return end_user_sessions(conn, user_id, "user_disabled")


def set_password(conn: Connection, username: str, password: str, *, actor: str) -> int:
    """Set a user's password (this also lifts a sign-in lock); their sessions end. Returns sessions ended."""
    if not actor:
        raise UserError("say who is setting the password (--by)")
    user_id = _user_id(conn, username)
    check_policy(password, username=normal_username(username))
    conn.execute(
        workspace_users.update().where(workspace_users.c.user_id == user_id).values(
            password_hash=hash_password(password), password_changed_at=_now()
        )
    )
    return end_user_sessions(conn, user_id, "password_changed")


def _scopes(conn: Connection, user_ids: list[int]) -> dict[int, dict[str, set]]:
    out: dict[int, dict[str, set]] = {u: {"roles": set(), "councils": set(), "teams": set()} for u in user_ids}
    if not user_ids:
        return out
    for uid, role in conn.execute(select(workspace_user_roles).where(workspace_user_roles.c.user_id.in_(user_ids))):
        out[uid]["roles"].add(role)
    for uid, council in conn.execute(select(workspace_user_councils).where(workspace_user_councils.c.user_id.in_(user_ids))):
        out[uid]["councils"].add(council)
    for uid, council, team in conn.execute(select(workspace_user_teams).where(workspace_user_teams.c.user_id.in_(user_ids))):
        out[uid]["teams"].add((council, team))
    return out


def _users(conn: Connection, where: list) -> list[User]:
    rows = conn.execute(select(workspace_users).where(*where).order_by(workspace_users.c.username)).mappings().all()
    scopes = _scopes(conn, [int(r["user_id"]) for r in rows])
    return [
        User(user_id=int(r["user_id"]), username=r["username"], display_name=r["display_name"], email=r["email"],
             active=bool(r["active"]), roles=frozenset(scopes[r["user_id"]]["roles"]),
             councils=frozenset(scopes[r["user_id"]]["councils"]), teams=frozenset(scopes[r["user_id"]]["teams"]))
        for r in rows
    ]


def load_user(conn: Connection, user_id: int) -> User | None:
    found = _users(conn, [workspace_users.c.user_id == user_id])
    return found[0] if found else None


def user_for_sign_in(conn: Connection, username: str) -> tuple[User, str] | None:
    """(the user, their password hash) for a sign-in, or None for an unknown name."""
    row = conn.execute(select(workspace_users.c.user_id, workspace_users.c.password_hash)
                       .where(workspace_users.c.username == normal_username(username))).first()
    if row is None:
        return None
    user = load_user(conn, int(row[0]))
    assert user is not None
    return user, str(row[1])


def password_changed_at(conn: Connection, user_id: int) -> dt.datetime | None:
    return to_utc(conn.execute(select(workspace_users.c.password_changed_at).where(workspace_users.c.user_id == user_id)).scalar())


def list_users(conn: Connection, *, councils: Iterable[str] | None = None) -> list[User]:
    """Every user, or those belonging to any of ``councils`` (an admin sees the users of their councils)."""
    if councils is None:
        return _users(conn, [])
    members = select(workspace_user_councils.c.user_id).where(workspace_user_councils.c.council.in_(sorted(set(councils))))
    return _users(conn, [workspace_users.c.user_id.in_(members)])


def team_colleagues(conn: Connection, council: str, team: str) -> list[User]:
    """Active safeguarding leads of this team: whom a case of its client may be assigned to."""
    members = select(workspace_user_teams.c.user_id).where(workspace_user_teams.c.council == council,
                                                           workspace_user_teams.c.team == team)
    return [u for u in _users(conn, [workspace_users.c.user_id.in_(members), workspace_users.c.active]) if u.has("safeguarding")]


def count_users(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(workspace_users)).scalar_one())


def describe(user: User) -> dict[str, Any]:
    """A user as the CLI's --json and the Users page show them (never the hash)."""
    return {"user_id": user.user_id, "username": user.username, "display_name": user.display_name, "email": user.email,
            "active": user.active, "roles": sorted(user.roles), "councils": sorted(user.councils),
            "teams": [f"{c}/{t}" for c, t in sorted(user.teams)]}
