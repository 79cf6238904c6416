"""Tables of the workspace (the web UI): users and what they may see, sessions, sign-in attempts, access log.

Why these and no more: the workspace keeps who may sign in (a user, their roles, the councils whose data
they see and, for safeguarding leads, the teams whose clients they see), the sessions signed in users hold
(server-side, so signing out or disabling a user ends them at once), the sign-in attempts that drive
throttling and lock-out, and the access log: who saw which client's data, when and on what page. Everything
else it shows belongs to the areas and is read through their functions.

``access_log`` is append-only: the database refuses UPDATE and DELETE on it (``db/append_only.py``,
migration 0015). Passwords are argon2 hashes (``workspace/passwords.py``); session ids are stored as
SHA-256 digests, so a copy of this table does not let anyone sign in.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from db.metadata import TZ, metadata

ROLES: tuple[str, ...] = ("safeguarding", "audit", "finance", "admin")

workspace_users = Table(
    "workspace_users",
    metadata,
    Column("user_id", Integer, primary_key=True, autoincrement=True, comment="surrogate id"),
    Column("username", String(100), nullable=False, unique=True, comment="what the user signs in with (lower case)"),
    Column("display_name", Text, nullable=False, comment="the name shown in case histories"),
    Column("email", Text, comment="work e-mail address, if given"),
    Column("password_hash", Text, nullable=False, comment="argon2id hash (PHC string); never the password"),
    Column("active", Boolean, nullable=False, comment="false once disabled: cannot sign in, sessions ended"),
    Column("created_at", TZ, nullable=False, comment="when the user was added (UTC)"),
    Column("created_by", String(100), nullable=False, comment="who added the user"),
    Column("password_changed_at", TZ, nullable=False, comment="when the password was last set (UTC)"),
    Column("disabled_at", TZ, comment="when the user was disabled (UTC)"),
    Column("disabled_by", String(100), comment="who disabled the user"),
    comment="People who may sign in to the workspace. Roles, councils and teams in the three tables below.",
)

workspace_user_roles = Table(
    "workspace_user_roles",
    metadata,
    Column("user_id", Integer, ForeignKey("workspace_users.user_id"), primary_key=True),
    Column("role", String(20), primary_key=True, comment="safeguarding, audit, finance or admin"),
    comment="A user's roles: what kinds of page they may open.",
)

workspace_user_councils = Table(
    "workspace_user_councils",
    metadata,
    Column("user_id", Integer, ForeignKey("workspace_users.user_id"), primary_key=True),
    Column("council", String(100), primary_key=True, comment="a council whose data the user sees"),
    comment="The councils whose data a user sees, whatever the role (one installation may serve several).",
)

workspace_user_teams = Table(
    "workspace_user_teams",
    metadata,
    Column("user_id", Integer, ForeignKey("workspace_users.user_id"), primary_key=True),
    Column("council", String(100), primary_key=True, comment="the team's council"),
    Column("team", String(100), primary_key=True, comment="a team as in cardholders.csv `team`"),
    comment="A safeguarding lead's teams: they see the cases of these teams' clients only.",
)

workspace_sessions = Table(
    "workspace_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True, comment="SHA-256 of the session cookie's value (never the value)"),
    Column("user_id", Integer, ForeignKey("workspace_users.user_id"), nullable=False),
    Column("csrf_token", String(64), nullable=False, comment="the token every form of this session carries"),
    Column("created_at", TZ, nullable=False, comment="signed in at (UTC)"),
    Column("last_seen_at", TZ, nullable=False, comment="last request (UTC): the idle timeout runs from here"),
    Column("expires_at", TZ, nullable=False, comment="absolute end, however busy (UTC)"),
    Column("ended_at", TZ, comment="when it ended early (UTC)"),
    Column("ended_reason", String(40), comment="signed_out, user_disabled, password_changed or signed_in_again"),
    comment="Server-side sessions: a cookie names one; signing out or disabling the user ends it at once.",
)
Index("ix_workspace_sessions_user", workspace_sessions.c.user_id)

sign_in_attempts = Table(
    "workspace_sign_in_attempts",
    metadata,
    Column("attempt_id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(100), nullable=False, comment="the name as typed (lower case), known or not"),
    Column("at", TZ, nullable=False, comment="when (UTC)"),
    Column("outcome", String(20), nullable=False, comment="signed_in, refused (wrong name or password), locked, throttled or disabled"),
    Column("remote_addr", String(64), comment="the client's address as the server saw it"),
    comment="Every sign-in attempt: the record throttling and lock-out are computed from.",
)
Index("ix_workspace_sign_in_attempts_user", sign_in_attempts.c.username, sign_in_attempts.c.at)
Index("ix_workspace_sign_in_attempts_addr", sign_in_attempts.c.remote_addr, sign_in_attempts.c.at)

access_log = Table(
    "access_log",
    metadata,
    Column("access_id", Integer, primary_key=True, autoincrement=True, comment="order of access"),
    Column("at", TZ, nullable=False, comment="when (UTC)"),
    Column("user_id", Integer, nullable=False, comment="workspace_users.user_id"),
    Column("username", String(100), nullable=False, comment="who (as at the time)"),
    Column("role", String(20), nullable=False, comment="the role the page was opened under"),
    Column("council", String(100), comment="the client's council (null for pages about no one client)"),
    Column("client_id", String(100), comment="whose data was shown (null for pages about no one client)"),
    Column("what", Text, nullable=False, comment="what was shown or done, e.g. 'case 15 page', 'case queue', 'closed case 15'"),
    Column("path", Text, nullable=False, comment="the page's path and query"),
    comment=(
        "Append-only (the database refuses UPDATE and DELETE): one row per client whose data a page or download "
        "showed, and per action on a case. Admin and audit read and export it in the workspace."
    ),
)
Index("ix_access_log_client", access_log.c.client_id, access_log.c.at)
Index("ix_access_log_at", access_log.c.at)
Index("ix_access_log_user", access_log.c.user_id, access_log.c.at)

APPEND_ONLY = {"access_log": "the access log is append-only"}
