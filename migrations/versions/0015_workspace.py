"""The workspace: users and their roles, councils and teams; sessions; sign-in attempts; the access log.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08

Also: a case can be assigned to a user (``safeguarding_cases.assigned_to``); the database refuses UPDATE
and DELETE on the access log and on the case history (``case_events``), on both databases
(the triggers ``db/append_only.py`` writes, frozen below); the reference extract gets indexes for a client's row, a team's clients and a
client's life events (the workspace reads them per page). The statements are frozen here, as the
declarations and db/append_only.py produced them on 2026-12-08 for each database (tables, their comments
and indexes, the new column, the triggers): a revision means the same whatever the code becomes.
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

UPGRADE_SQL: dict[str, tuple[str, ...]] = {
    "sqlite": (
        'CREATE TABLE workspace_users (\n\tuser_id INTEGER NOT NULL, \n\tusername VARCHAR(100) NOT NULL, \n\tdisplay_name TEXT NOT NULL, \n\temail TEXT, \n\tpassword_hash TEXT NOT NULL, \n\tactive BOOLEAN NOT NULL, \n\tcreated_at DATETIME NOT NULL, \n\tcreated_by VARCHAR(100) NOT NULL, \n\tpassword_changed_at DATETIME NOT NULL, \n\tdisabled_at DATETIME, \n\tdisabled_by VARCHAR(100), \n\tPRIMARY KEY (user_id), \n\tUNIQUE (username)\n)',
        'CREATE TABLE workspace_sign_in_attempts (\n\tattempt_id INTEGER NOT NULL, \n\tusername VARCHAR(100) NOT NULL, \n\tat DATETIME NOT NULL, \n\toutcome VARCHAR(20) NOT NULL, \n\tremote_addr VARCHAR(64), \n\tPRIMARY KEY (attempt_id)\n)',
        'CREATE INDEX ix_workspace_sign_in_attempts_user ON workspace_sign_in_attempts (username, at)',
        'CREATE INDEX ix_workspace_sign_in_attempts_addr ON workspace_sign_in_attempts (remote_addr, at)',
        'CREATE TABLE access_log (\n\taccess_id INTEGER NOT NULL, \n\tat DATETIME NOT NULL, \n\tuser_id INTEGER NOT NULL, \n\tusername VARCHAR(100) NOT NULL, \n\trole VARCHAR(20) NOT NULL, \n\tcouncil VARCHAR(100), \n\tclient_id VARCHAR(100), \n\twhat TEXT NOT NULL, \n\tpath TEXT NOT NULL, \n\tPRIMARY KEY (access_id)\n)',
        'CREATE INDEX ix_access_log_client ON access_log (client_id, at)',
        'CREATE INDEX ix_access_log_user ON access_log (user_id, at)',
        'CREATE INDEX ix_access_log_at ON access_log (at)',
        'CREATE TABLE workspace_user_roles (\n\tuser_id INTEGER NOT NULL, \n\trole VARCHAR(20) NOT NULL, \n\tPRIMARY KEY (user_id, role), \n\tFOREIGN KEY(user_id) REFERENCES workspace_users (user_id)\n)',
        'CREATE TABLE workspace_user_councils (\n\tuser_id INTEGER NOT NULL, \n\tcouncil VARCHAR(100) NOT NULL, \n\tPRIMARY KEY (user_id, council), \n\tFOREIGN KEY(user_id) REFERENCES workspace_users (user_id)\n)',
        'CREATE TABLE workspace_user_teams (\n\tuser_id INTEGER NOT NULL, \n\tcouncil VARCHAR(100) NOT NULL, \n\tteam VARCHAR(100) NOT NULL, \n\tPRIMARY KEY (user_id, council, team), \n\tFOREIGN KEY(user_id) REFERENCES workspace_users (user_id)\n)',
        'CREATE TABLE workspace_sessions (\n\tsession_hash VARCHAR(64) NOT NULL, \n\tuser_id INTEGER NOT NULL, \n\tcsrf_token VARCHAR(64) NOT NULL, \n\tcreated_at DATETIME NOT NULL, \n\tlast_seen_at DATETIME NOT NULL, \n\texpires_at DATETIME NOT NULL, \n\tended_at DATETIME, \n\tended_reason VARCHAR(40), \n\tPRIMARY KEY (session_hash), \n\tFOREIGN KEY(user_id) REFERENCES workspace_users (user_id)\n)',
        'CREATE INDEX ix_workspace_sessions_user ON workspace_sessions (user_id)',
        'ALTER TABLE safeguarding_cases ADD COLUMN assigned_to VARCHAR(100)',
        'CREATE INDEX ix_ref_cardholders_client ON ref_cardholders (client_id)',
        'CREATE INDEX ix_ref_cardholders_team ON ref_cardholders (council, team, client_id)',
        'CREATE INDEX ix_ref_client_events_client ON ref_client_events (client_id, date)',
        "CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log BEGIN SELECT RAISE(ABORT, 'careledger: UPDATE on access_log is refused: the access log is append-only'); END",
        "CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log BEGIN SELECT RAISE(ABORT, 'careledger: DELETE on access_log is refused: the access log is append-only'); END",
        "CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events BEGIN SELECT RAISE(ABORT, 'careledger: UPDATE on case_events is refused: the case history is append-only; record a further event instead'); END",
        "CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events BEGIN SELECT RAISE(ABORT, 'careledger: DELETE on case_events is refused: the case history is append-only; record a further event instead'); END",
    ),
    "postgresql": (
        'CREATE TABLE workspace_users (\n\tuser_id SERIAL NOT NULL, \n\tusername VARCHAR(100) NOT NULL, \n\tdisplay_name TEXT NOT NULL, \n\temail TEXT, \n\tpassword_hash TEXT NOT NULL, \n\tactive BOOLEAN NOT NULL, \n\tcreated_at TIMESTAMP WITH TIME ZONE NOT NULL, \n\tcreated_by VARCHAR(100) NOT NULL, \n\tpassword_changed_at TIMESTAMP WITH TIME ZONE NOT NULL, \n\tdisabled_at TIMESTAMP WITH TIME ZONE, \n\tdisabled_by VARCHAR(100), \n\tPRIMARY KEY (user_id), \n\tUNIQUE (username)\n)',
        "COMMENT ON TABLE workspace_users IS 'People who may sign in to the workspace. Roles, councils and teams in the three tables below.'",
        "COMMENT ON COLUMN workspace_users.user_id IS 'surrogate id'",
        "COMMENT ON COLUMN workspace_users.username IS 'what the user signs in with (lower case)'",
        "COMMENT ON COLUMN workspace_users.display_name IS 'the name shown in case histories'",
        "COMMENT ON COLUMN workspace_users.email IS 'work e-mail address, if given'",
        "COMMENT ON COLUMN workspace_users.password_hash IS 'argon2id hash (PHC string); never the password'",
        "COMMENT ON COLUMN workspace_users.active IS 'false once disabled: cannot sign in, sessions ended'",
        "COMMENT ON COLUMN workspace_users.created_at IS 'when the user was added (UTC)'",
        "COMMENT ON COLUMN workspace_users.created_by IS 'who added the user'",
        "COMMENT ON COLUMN workspace_users.password_changed_at IS 'when the password was last set (UTC)'",
        "COMMENT ON COLUMN workspace_users.disabled_at IS 'when the user was disabled (UTC)'",
        "COMMENT ON COLUMN workspace_users.disabled_by IS 'who disabled the user'",
        'CREATE TABLE workspace_sign_in_attempts (\n\tattempt_id SERIAL NOT NULL, \n\tusername VARCHAR(100) NOT NULL, \n\tat TIMESTAMP WITH TIME ZONE NOT NULL, \n\toutcome VARCHAR(20) NOT NULL, \n\tremote_addr VARCHAR(64), \n\tPRIMARY KEY (attempt_id)\n)',
        'CREATE INDEX ix_workspace_sign_in_attempts_user ON workspace_sign_in_attempts (username, at)',
        'CREATE INDEX ix_workspace_sign_in_attempts_addr ON workspace_sign_in_attempts (remote_addr, at)',
        "COMMENT ON TABLE workspace_sign_in_attempts IS 'Every sign-in attempt: the record throttling and lock-out are computed from.'",
        "COMMENT ON COLUMN workspace_sign_in_attempts.username IS 'the name as typed (lower case), known or not'",
        "COMMENT ON COLUMN workspace_sign_in_attempts.at IS 'when (UTC)'",
        "COMMENT ON COLUMN workspace_sign_in_attempts.outcome IS 'signed_in, refused (wrong name or password), locked, throttled or disabled'",
        "COMMENT ON COLUMN workspace_sign_in_attempts.remote_addr IS 'the client''s address as the server saw it'",
        'CREATE TABLE access_log (\n\taccess_id SERIAL NOT NULL, \n\tat TIMESTAMP WITH TIME ZONE NOT NULL, \n\tuser_id INTEGER NOT NULL, \n\tusername VARCHAR(100) NOT NULL, \n\trole VARCHAR(20) NOT NULL, \n\tcouncil VARCHAR(100), \n\tclient_id VARCHAR(100), \n\twhat TEXT NOT NULL, \n\tpath TEXT NOT NULL, \n\tPRIMARY KEY (access_id)\n)',
        'CREATE INDEX ix_access_log_client ON access_log (client_id, at)',
        'CREATE INDEX ix_access_log_user ON access_log (user_id, at)',
        'CREATE INDEX ix_access_log_at ON access_log (at)',
        "COMMENT ON TABLE access_log IS 'Append-only (the database refuses UPDATE and DELETE): one row per client whose data a page or download showed, and per action on a case. Admin and audit read and export it in the workspace.'",
        "COMMENT ON COLUMN access_log.access_id IS 'order of access'",
        "COMMENT ON COLUMN access_log.at IS 'when (UTC)'",
        "COMMENT ON COLUMN access_log.user_id IS 'workspace_users.user_id'",
        "COMMENT ON COLUMN access_log.username IS 'who (as at the time)'",
        "COMMENT ON COLUMN access_log.role IS 'the role the page was opened under'",
        "COMMENT ON COLUMN access_log.council IS 'the client''s council (null for pages about no one client)'",
        "COMMENT ON COLUMN access_log.client_id IS 'whose data was shown (null for pages about no one client)'",
        "COMMENT ON COLUMN access_log.what IS 'what was shown or done, e.g. ''case 15 page'', ''case queue'', ''closed case 15'''",
        "COMMENT ON COLUMN access_log.path IS 'the page''s path and query'",
        'CREATE TABLE workspace_user_roles (\n\tuser_id INTEGER NOT NULL, \n\trole VARCHAR(20) NOT NULL, \n\tPRIMARY KEY (user_id, role), \n\tFOREIGN KEY(user_id) REFERENCES workspace_users (user_id)\n)',
        "COMMENT ON TABLE workspace_user_roles IS 'A user''s roles: what kinds of page they may open.'",
        "COMMENT ON COLUMN workspace_user_roles.role IS 'safeguarding, audit, finance or admin'",
        'CREATE TABLE workspace_user_councils (\n\tuser_id INTEGER NOT NULL, \n\tcouncil VARCHAR(100) NOT NULL, \n\tPRIMARY KEY (user_id, council), \n\tFOREIGN KEY(user_id) REFERENCES workspace_users (user_id)\n)',
        "COMMENT ON TABLE workspace_user_councils IS 'The councils whose data a user sees, whatever the role (one installation may serve several).'",
        "COMMENT ON COLUMN workspace_user_councils.council IS 'a council whose data the user sees'",
        'CREATE TABLE workspace_user_teams (\n\tuser_id INTEGER NOT NULL, \n\tcouncil VARCHAR(100) NOT NULL, \n\tteam VARCHAR(100) NOT NULL, \n\tPRIMARY KEY (user_id, council, team), \n\tFOREIGN KEY(user_id) REFERENCES workspace_users (user_id)\n)',
        "COMMENT ON TABLE workspace_user_teams IS 'A safeguarding lead''s teams: they see the cases of these teams'' clients only.'",
        "COMMENT ON COLUMN workspace_user_teams.council IS 'the team''s council'",
        "COMMENT ON COLUMN workspace_user_teams.team IS 'a team as in cardholders.csv `team`'",
        'CREATE TABLE workspace_sessions (\n\tsession_hash VARCHAR(64) NOT NULL, \n\tuser_id INTEGER NOT NULL, \n\tcsrf_token VARCHAR(64) NOT NULL, \n\tcreated_at TIMESTAMP WITH TIME ZONE NOT NULL, \n\tlast_seen_at TIMESTAMP WITH TIME ZONE NOT NULL, \n\texpires_at TIMESTAMP WITH TIME ZONE NOT NULL, \n\tended_at TIMESTAMP WITH TIME ZONE, \n\tended_reason VARCHAR(40), \n\tPRIMARY KEY (session_hash), \n\tFOREIGN KEY(user_id) REFERENCES workspace_users (user_id)\n)',
        'CREATE INDEX ix_workspace_sessions_user ON workspace_sessions (user_id)',
        "COMMENT ON TABLE workspace_sessions IS 'Server-side sessions: a cookie names one; signing out or disabling the user ends it at once.'",
        "COMMENT ON COLUMN workspace_sessions.session_hash IS 'SHA-256 of the session cookie''s value (never the value)'",
        "COMMENT ON COLUMN workspace_sessions.csrf_token IS 'the token every form of this session carries'",
        "COMMENT ON COLUMN workspace_sessions.created_at IS 'signed in at (UTC)'",
        "COMMENT ON COLUMN workspace_sessions.last_seen_at IS 'last request (UTC): the idle timeout runs from here'",
        "COMMENT ON COLUMN workspace_sessions.expires_at IS 'absolute end, however busy (UTC)'",
        "COMMENT ON COLUMN workspace_sessions.ended_at IS 'when it ended early (UTC)'",
        "COMMENT ON COLUMN workspace_sessions.ended_reason IS 'signed_out, user_disabled, password_changed or signed_in_again'",
        "COMMENT ON COLUMN case_events.action IS 'opened, finding_added, alert_raised, alert_sent, acknowledged, assigned, noted, referred, suppressed, closed'",
        'ALTER TABLE safeguarding_cases ADD COLUMN assigned_to VARCHAR(100)',
        "COMMENT ON COLUMN safeguarding_cases.assigned_to IS 'the workspace user (username) the case is assigned to; null = the team''s'",
        'CREATE INDEX ix_ref_cardholders_client ON ref_cardholders (client_id)',
        'CREATE INDEX ix_ref_cardholders_team ON ref_cardholders (council, team, client_id)',
        'CREATE INDEX ix_ref_client_events_client ON ref_client_events (client_id, date)',
        "CREATE OR REPLACE FUNCTION careledger_refuse_edit() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  RAISE EXCEPTION 'careledger: % on % is refused: %', TG_OP, TG_TABLE_NAME, TG_ARGV[0]\n    USING ERRCODE = 'restrict_violation';\nEND $$",
        "CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON access_log FOR EACH STATEMENT EXECUTE FUNCTION careledger_refuse_edit('the access log is append-only')",
        "CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON case_events FOR EACH STATEMENT EXECUTE FUNCTION careledger_refuse_edit('the case history is append-only; record a further event instead')",
    ),
}
DROP_TRIGGERS_SQL: dict[str, tuple[str, ...]] = {
    "sqlite": tuple(f"DROP TRIGGER IF EXISTS {t}_no_{o}" for t in ("access_log", "case_events") for o in ("update", "delete")),
    "postgresql": tuple(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}" for t in ("access_log", "case_events")),
}
REF_INDEXES = (("ix_ref_cardholders_client", "ref_cardholders"), ("ix_ref_cardholders_team", "ref_cardholders"),
               ("ix_ref_client_events_client", "ref_client_events"))
TABLES = (  # in the order they can be dropped
    "access_log", "workspace_sign_in_attempts", "workspace_sessions", "workspace_user_teams",
    "workspace_user_councils", "workspace_user_roles", "workspace_users",
)


def upgrade() -> None:
    for ddl in UPGRADE_SQL[op.get_bind().dialect.name]:
        op.execute(ddl)


def downgrade() -> None:
    for ddl in DROP_TRIGGERS_SQL[op.get_bind().dialect.name]:
        op.execute(ddl)
    for name, table in REF_INDEXES:
        op.drop_index(name, table_name=table)
    op.execute("ALTER TABLE safeguarding_cases DROP COLUMN assigned_to")
    for table in TABLES:
        op.drop_table(table)
