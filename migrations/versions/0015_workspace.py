"""The workspace: users and their roles, councils and teams; sessions; sign-in attempts; the access log.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08

Also: a case can be assigned to a user (``safeguarding_cases.assigned_to``); the database refuses UPDATE
and DELETE on the access log and on the case history (``case_events``), on both databases
(``db/append_only.py``); the reference extract gets indexes for a client's row, a team's clients and a
client's life events (the workspace reads them per page). Explicit operations, each only where missing:
a database made before this revision has none of it, one whose baseline created the declared tables has
the tables and indexes already.
"""

import sqlalchemy as sa
from alembic import op

from db.append_only import append_only_ddl, drop_append_only_ddl
from migrations import add_columns_if_missing, create_index_if_missing, create_table_if_missing

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
USERS_FK = "workspace_users.user_id"
APPEND_ONLY = {
    "access_log": "the access log is append-only",
    "case_events": "the case history is append-only; record a further event instead",
}
INDEXES = (
    ("ix_workspace_sessions_user", "workspace_sessions", ["user_id"]),
    ("ix_workspace_sign_in_attempts_user", "workspace_sign_in_attempts", ["username", "at"]),
    ("ix_workspace_sign_in_attempts_addr", "workspace_sign_in_attempts", ["remote_addr", "at"]),
    ("ix_access_log_client", "access_log", ["client_id", "at"]),
    ("ix_access_log_at", "access_log", ["at"]),
    ("ix_access_log_user", "access_log", ["user_id", "at"]),
    ("ix_ref_cardholders_client", "ref_cardholders", ["client_id"]),
    ("ix_ref_cardholders_team", "ref_cardholders", ["council", "team", "client_id"]),
    ("ix_ref_client_events_client", "ref_client_events", ["client_id", "date"]),
)
TABLES = (  # in the order they can be dropped
    "access_log", "workspace_sign_in_attempts", "workspace_sessions", "workspace_user_teams",
    "workspace_user_councils", "workspace_user_roles", "workspace_users",
)


def _create_tables() -> None:
    create_table_if_missing(
        op, "workspace_users",
        sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("email", sa.Text),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("password_changed_at", TZ, nullable=False),
        sa.Column("disabled_at", TZ),
        sa.Column("disabled_by", sa.String(100)),
    )
    create_table_if_missing(
        op, "workspace_user_roles",
        sa.Column("user_id", sa.Integer, sa.ForeignKey(USERS_FK), primary_key=True),
        sa.Column("role", sa.String(20), primary_key=True),
    )
    create_table_if_missing(
        op, "workspace_user_councils",
        sa.Column("user_id", sa.Integer, sa.ForeignKey(USERS_FK), primary_key=True),
        sa.Column("council", sa.String(100), primary_key=True),
    )
    create_table_if_missing(
        op, "workspace_user_teams",
        sa.Column("user_id", sa.Integer, sa.ForeignKey(USERS_FK), primary_key=True),
        sa.Column("council", sa.String(100), primary_key=True),
        sa.Column("team", sa.String(100), primary_key=True),
    )
    create_table_if_missing(
        op, "workspace_sessions",
        sa.Column("session_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey(USERS_FK), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_seen_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("ended_at", TZ),
        sa.Column("ended_reason", sa.String(40)),
    )
    create_table_if_missing(
        op, "workspace_sign_in_attempts",
        sa.Column("attempt_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("remote_addr", sa.String(64)),
    )
    create_table_if_missing(
        op, "access_log",
        sa.Column("access_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("council", sa.String(100)),
        sa.Column("client_id", sa.String(100)),
        sa.Column("what", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
    )


def upgrade() -> None:
    _create_tables()
    add_columns_if_missing(op, "safeguarding_cases", (sa.Column("assigned_to", sa.String(100)),))
    for name, table, columns in INDEXES:
        create_index_if_missing(op, name, table, columns)
    dialect = op.get_bind().dialect.name
    for table, why in APPEND_ONLY.items():
        for ddl in append_only_ddl(dialect, table, why):
            op.execute(ddl)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        for ddl in drop_append_only_ddl(dialect, table):
            op.execute(ddl)
    for name, table, _ in INDEXES:
        if table.startswith("ref_"):
            op.drop_index(name, table_name=table)
    op.execute("ALTER TABLE safeguarding_cases DROP COLUMN assigned_to")
    for table in TABLES:
        op.drop_table(table)
