"""Goal: admins at the command line add, list, disable and re-key users, with roles, councils and teams
checked; passwords are stored as argon2 hashes only; the demo's users are made only on a database without
real users. Both databases."""

from __future__ import annotations

import json

from sqlalchemy import text
from typer.testing import CliRunner

from careledger.cli import app as cli
from db.engine import get_engine
from workspace.demo import ensure_demo_users
from workspace.passwords import verify_password
from workspace.users import add_user


def _run(db_url: str, *args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, list(args), env={"CARELEDGER_DB_URL": db_url, "USER": "amina"}, input=stdin)


def test_users_add_list_disable_set_password(db_url):
    made = _run(db_url, "users", "add", "Sam.Lee", "--name", "Sam Lee", "--role", "safeguarding", "--council", "Testshire",
                "--team", "North", "--team", "South", "--generate-password", "--json")
    assert made.exit_code == 0, made.output
    password = json.loads(made.output)["password"]
    piped = _run(db_url, "users", "add", "ops", "--name", "Ops", "--role", "audit", "--role", "finance", "--council", "Testshire",
                 "--council", "Otherton", "--password-stdin", stdin="a long enough passphrase\n")
    assert piped.exit_code == 0, piped.output
    listed = json.loads(_run(db_url, "users", "list", "--json").output)
    assert [(u["username"], u["roles"], u["teams"]) for u in listed] == [
        ("ops", ["audit", "finance"], []), ("sam.lee", ["safeguarding"], ["Testshire/North", "Testshire/South"])]
    with get_engine(db_url).connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM workspace_users WHERE username = 'sam.lee'")).scalar_one()
    assert stored.startswith("$argon2id$") and password not in stored and verify_password(stored, password)
    assert _run(db_url, "users", "disable", "sam.lee").exit_code == 0
    assert json.loads(_run(db_url, "users", "list", "--json").output)[1]["active"] is False
    reset = _run(db_url, "users", "set-password", "ops", "--password-stdin", stdin="another long passphrase\n")
    assert reset.exit_code == 0, reset.output


def test_users_add_refuses_what_cannot_be_right(db_url):
    cases = [
        (["x", "--name", "X", "--role", "safeguarding", "--council", "Testshire"], "user name is 2-100"),
        (["lead", "--name", "L", "--role", "safeguarding", "--council", "Testshire"], "needs at least one team"),
        (["aud", "--name", "A", "--role", "audit", "--council", "Testshire", "--team", "North"], "teams are for safeguarding"),
        (["who", "--name", "W", "--role", "boss", "--council", "Testshire"], "roles must be one or more"),
        (["two", "--name", "T", "--role", "safeguarding", "--council", "A", "--council", "B", "--team", "North"], "COUNCIL/TEAM"),
    ]
    for args, message in cases:
        result = _run(db_url, "users", "add", *args, "--generate-password")
        assert result.exit_code == 1 and message in result.output, (args, result.output)
    short = _run(db_url, "users", "add", "pat", "--name", "Pat", "--role", "audit", "--council", "Testshire", "--password-stdin",
                 stdin="short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    assert _run(db_url, "users", "list", "--json").output.strip() == "[]"


def test_demo_users_only_on_a_database_without_real_users(db_url):
    engine = get_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO ref_councils (name, policy_yaml) VALUES ('Testshire', 'councils: []')"))
        conn.execute(text(
            "INSERT INTO ref_cardholders (client_id, council, provider, account_id, opened, weekly_budget_pence, cash_allowed,"
            " contribution_model, team) VALUES ('C1', 'Testshire', 'A', '10000001', '2026-01-01', 30000, :f, 'none', 'North')"
        ), {"f": False})
        first = ensure_demo_users(conn)
        again = ensure_demo_users(conn)
    assert [u for u, _, _ in first] == ["demo.lead", "demo.audit", "demo.finance", "demo.admin"]
    with engine.connect() as conn:
        teams = conn.execute(text("SELECT council, team FROM workspace_user_teams t JOIN workspace_users u"
                                  " ON u.user_id = t.user_id WHERE u.username = 'demo.lead'")).all()
    assert [tuple(t) for t in teams] == [("Testshire", "North")]
    assert all(a[2] != b[2] for a, b in zip(first, again, strict=True))  # new passwords every start
    with engine.begin() as conn:
        add_user(conn, "real.person", "Real Person", "a real long passphrase", roles=["audit"], councils=["Testshire"], actor="t")
    with engine.begin() as conn:
        try:
            ensure_demo_users(conn)
            raise AssertionError("demo users on a database with real users")
        except ValueError as exc:
            assert "real users" in str(exc)
