"""Goal: the access log and the case history are records the database itself refuses to edit, on both
databases, whichever path the statement comes by (raw SQL here, as an auditor's script would); and a
downgrade past migration 0015 removes the workspace cleanly and an upgrade brings it back."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from db.engine import get_engine
from migrations.migrate import current_revision, upgrade

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _seed(conn) -> None:
    conn.execute(
        text(
            "INSERT INTO safeguarding_cases (case_id, council, client_id, rule, status, severity, opened_on, last_finding_on,"
            " findings, evidence, explanation, created_at, updated_at, updated_by)"
            " VALUES (1, 'Testshire', 'C001', 'drain_after_load', 'open', 'high', '2026-03-02', '2026-03-02', 1, 'A:1',"
            " 'x', :t, :t, 'screening')"
        ),
        {"t": NOW},
    )
    conn.execute(
        text("INSERT INTO case_events (case_id, at, actor, action, to_status) VALUES (1, :t, 'screening', 'opened', 'open')"),
        {"t": NOW},
    )
    conn.execute(
        text(
            "INSERT INTO access_log (at, user_id, username, role, council, client_id, what, path)"
            " VALUES (:t, 1, 'lead', 'safeguarding', 'Testshire', 'C001', 'case 1 page', '/cases/1')"
        ),
        {"t": NOW},
    )


EDITS = {
    "access_log": ("UPDATE access_log SET client_id = 'C999'", "DELETE FROM access_log"),
    "case_events": ("UPDATE case_events SET actor = 'someone else'", "DELETE FROM case_events"),
}


@pytest.mark.parametrize("table", sorted(EDITS))
def test_database_refuses_update_and_delete(db_url, table):
    engine = get_engine(db_url)
    with engine.begin() as conn:
        _seed(conn)
    statements = list(EDITS[table])
    if engine.dialect.name == "postgresql":
        statements.append(f"TRUNCATE {table} CASCADE")
    for sql in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 1
    with engine.begin() as conn:  # appending is still allowed
        _seed_more = {"access_log": "INSERT INTO access_log (at, user_id, username, role, what, path) VALUES (:t, 1, 'a', 'admin', 'x', '/')",
                      "case_events": "INSERT INTO case_events (case_id, at, actor, action) VALUES (1, :t, 'lead', 'noted')"}[table]
        conn.execute(text(_seed_more), {"t": NOW})


def test_downgrade_past_0015_and_back(db_url):
    from alembic import command

    from migrations.migrate import alembic_config

    engine = get_engine(db_url)
    with engine.begin() as conn:
        head = current_revision(conn)
        command.downgrade(alembic_config(conn), "0014")
    with engine.connect() as conn:
        insp = inspect(conn)
        assert not insp.has_table("access_log") and not insp.has_table("workspace_users")
        assert "assigned_to" not in {c["name"] for c in insp.get_columns("safeguarding_cases")}
    with engine.begin() as conn:
        _seed_case = "DELETE FROM case_events"  # no guard below 0015
        conn.execute(text(_seed_case))
        upgrade(conn)
    with engine.connect() as conn:
        assert current_revision(conn) == head
        assert inspect(conn).has_table("access_log")
    with engine.begin() as conn:
        _seed(conn)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM case_events"))
