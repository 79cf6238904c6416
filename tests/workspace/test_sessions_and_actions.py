"""Goal: sign-in is throttled and locks after repeated failures and says so plainly; sessions end at
sign-out, when the user is disabled, when their password changes, and after the idle and absolute limits;
the session id changes at sign-in; each case action is recorded with the signed-in user in the case
history and the access log; the CLI's case commands write the same history. Both databases."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import text
from typer.testing import CliRunner

from careledger.cli import app as cli
from db.engine import get_engine
from tests.workspace.conftest import PASSWORD, pick_case
from workspace import access_log
from workspace.access_log import LogFilters
from workspace.users import disable_user, set_password


def _sql(url: str, sql: str, **params):
    with get_engine(url).begin() as conn:
        result = conn.execute(text(sql), params)
        return result.all() if result.returns_rows else []


def test_lock_out_after_repeated_failures_said_plainly(seeded, browser):
    b = browser(sign_in_failures_max=3, lock_minutes=15)
    for _ in range(3):
        wrong = b.sign_in("lead.b", "not the password at all")
        assert wrong.status_code == 401 and "do not match" in wrong.text
    locked = b.sign_in("lead.b", PASSWORD)  # the right password, but locked
    assert locked.status_code == 429
    assert "locked after 3 wrong passwords" in locked.text and "London time" in locked.text
    assert "ask an admin" in locked.text
    # An unknown name is locked the same way (a lock does not tell which names exist).
    for _ in range(3):
        b.sign_in("nobody.here", "whatever it is")
    assert "locked after 3" in b.sign_in("nobody.here", "whatever it is").text
    # A new password from an admin lifts the lock.
    with get_engine(seeded.url).begin() as conn:
        set_password(conn, "lead.b", PASSWORD + "!", actor="admin.a")
        set_password(conn, "lead.b", PASSWORD, actor="admin.a")
    assert b.sign_in("lead.b", PASSWORD).status_code == 303
    outcomes = [r[0] for r in _sql(seeded.url, "SELECT outcome FROM workspace_sign_in_attempts WHERE username = 'lead.b' ORDER BY attempt_id")]
    assert outcomes[-5:] == ["refused", "refused", "refused", "locked", "signed_in"]


def test_one_address_is_throttled(seeded, browser):
    b = browser(address_attempts_per_minute=4)
    b.get("/sign-in")
    answers = [b.sign_in(f"guess{i}", "wrong password here").status_code for i in range(6)]
    assert answers[-1] == 429 and "Too many sign-in attempts from this computer" in b.sign_in("lead.a").text


def test_session_id_rotates_at_sign_in_and_sign_out_ends_it(seeded, browser):
    first = browser("lead.a").http.cookies.get("careledger_session")
    # A browser carrying a session id from before (planted, or an earlier sign-in) gets a new one at sign-in,
    # and the earlier session ends.
    b = browser()
    b.get("/sign-in")
    b.http.cookies.set("careledger_session", first, domain="testserver.local")
    signed_in = b.post("/sign-in", {"username": "lead.a", "password": PASSWORD})
    assert signed_in.status_code == 303
    second = re.search(r"careledger_session=([^;]+)", signed_in.headers["set-cookie"]).group(1)
    assert first and second and first != second
    stale = browser()
    stale.http.cookies.set("careledger_session", first)
    assert stale.get("/cases").status_code == 303
    b.get("/account")
    out = b.post("/sign-out")
    assert out.status_code == 303 and out.headers["location"] == "/sign-in?signed_out=1"
    assert "You have signed out." in b.get("/sign-in?signed_out=1").text
    replay = browser()
    replay.http.cookies.set("careledger_session", second)
    assert replay.get("/cases").status_code == 303
    reasons = {r[0] for r in _sql(seeded.url, "SELECT ended_reason FROM workspace_sessions WHERE ended_at IS NOT NULL")}
    assert {"signed_in_again", "signed_out"} <= reasons


def test_disabled_user_and_changed_password_end_sessions(seeded, browser):
    b = browser("lead.a2")
    assert b.get("/cases").status_code == 200
    admin = browser("admin.a")
    admin.get("/admin/users")
    response = admin.post("/admin/users/lead.a2/password")
    assert response.status_code == 200 and "shown only this once" in response.text
    new_password = re.search(r'<code class="secret">([^<]+)</code>', response.text).group(1)
    assert b.get("/cases").status_code == 303  # the password changed: signed out
    b = browser()
    assert b.sign_in("lead.a2", new_password).status_code == 303
    assert b.get("/cases").status_code == 200
    with get_engine(seeded.url).begin() as conn:
        assert disable_user(conn, "lead.a2", actor="admin.a") == 1
    assert b.get("/cases").status_code == 303
    refused = browser().sign_in("lead.a2", new_password)
    assert refused.status_code == 403 and "disabled" in refused.text
    with get_engine(seeded.url).begin() as conn:  # put lead.a2 back for the other tests
        conn.execute(text("UPDATE workspace_users SET active = :t WHERE username = 'lead.a2'"), {"t": True})
        set_password(conn, "lead.a2", PASSWORD, actor="test")


def test_idle_and_absolute_timeouts(seeded, browser):
    b = browser("lead.b", session_idle_minutes=30, session_absolute_hours=10)
    assert b.get("/cases").status_code == 200
    idle = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
    _sql(seeded.url, "UPDATE workspace_sessions SET last_seen_at = :t WHERE ended_at IS NULL AND user_id ="
         " (SELECT user_id FROM workspace_users WHERE username = 'lead.b')", t=idle)
    assert b.get("/cases").status_code == 303
    b = browser("lead.b")
    _sql(seeded.url, "UPDATE workspace_sessions SET expires_at = :t WHERE ended_at IS NULL AND user_id ="
         " (SELECT user_id FROM workspace_users WHERE username = 'lead.b')", t=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    assert b.get("/cases").status_code == 303


def _history(url: str, case_id: int) -> list[tuple]:
    return [tuple(r) for r in _sql(url, "SELECT actor, action, from_status, to_status, outcome, note FROM case_events"
                                        " WHERE case_id = :c ORDER BY event_id", c=case_id)]


def test_each_action_is_recorded_with_the_user(seeded, browser):
    case_id = pick_case(seeded)
    b = browser("lead.a")
    page = b.get(f"/cases/{case_id}")
    assert page.status_code == 200
    steps = [
        ("acknowledge", {"note": ""}, "acknowledged"),
        ("assign", {"assignee": "lead.a2"}, "assigned"),
        ("assign", {"assignee": "me"}, "assigned"),
        ("note", {"note": "Rang the client's daughter; says the cash paid a cleaner."}, "noted"),
        ("refer", {"to_whom": "Adult Social Care safeguarding team", "note": "for a welfare visit"}, "referred"),
        ("suppress", {"until": (dt.date.today() + dt.timedelta(days=30)).isoformat(), "reason": "cleaner agreed at review"}, "suppressed"),
        ("close", {"outcome": "no_action_needed", "reason": "Cleaner is in the support plan."}, "closed"),
    ]
    for action, form, done in steps:
        response = b.post(f"/cases/{case_id}/{action}", form)
        assert response.status_code == 303, (action, response.text[:400])
        assert response.headers["location"] == f"/cases/{case_id}?done={done}#history"
    history = _history(seeded.url, case_id)
    mine = [h for h in history if h[0] == "lead.a"]
    assert [h[1] for h in mine] == ["acknowledged", "assigned", "assigned", "noted", "referred", "suppressed", "closed"]
    assert mine[1][5] == "assigned to lead.a2" and mine[2][5] == "assigned to lead.a"
    assert mine[4][5] == "referred to Adult Social Care safeguarding team: for a welfare visit"
    assert mine[-1][2:6] == ("referred", "closed", "no_action_needed", "Cleaner is in the support plan.")
    page = b.get(f"/cases/{case_id}?done=closed").text
    assert "Case closed." in page and "No action needed" in page and "Cleaner is in the support plan." in page
    logged = [r[0] for r in _sql(seeded.url, "SELECT what FROM access_log WHERE username = 'lead.a' AND what LIKE :w"
                                 " ORDER BY access_id", w=f"case {case_id}%")]
    assert {f"case {case_id}: {d}" for _, _, d in steps} <= set(logged) and f"case {case_id} page" in logged
    # A closed case cannot be closed again; the page says why and nothing is added.
    again = b.post(f"/cases/{case_id}/close", {"outcome": "confirmed", "reason": "x"})
    assert again.status_code == 400 and "it can be closed only from" in again.text
    assert len(_history(seeded.url, case_id)) == len(history)


def test_refused_actions_say_why_and_change_nothing(seeded, browser):
    case_id = pick_case(seeded)
    b = browser("lead.a")
    b.get(f"/cases/{case_id}")
    before = _history(seeded.url, case_id)
    for action, form, why in (
        ("assign", {"assignee": "lead.b"}, "only to a safeguarding lead of the client"),
        ("close", {"outcome": "", "reason": "x"}, "Choose an outcome"),
        ("close", {"outcome": "confirmed", "reason": ""}, "needs a note"),
        ("refer", {"to_whom": " "}, "whom the case is referred to"),
        ("note", {"note": "   "}, "needs some text"),
        ("suppress", {"until": "2020-01-01", "reason": "x"}, "between today and"),
        ("suppress", {"until": "soon", "reason": "x"}, "as a date"),
    ):
        response = b.post(f"/cases/{case_id}/{action}", form)
        assert response.status_code == 400 and why in response.text, (action, form, response.text[-800:])
    assert _history(seeded.url, case_id) == before


def test_cli_case_commands_write_the_same_history(seeded):
    case_id = pick_case(seeded)
    runner = CliRunner()
    env = {"CARELEDGER_DB_URL": seeded.url}
    for args in (["cases", "assign", str(case_id), "--to", "lead.a", "--by", "lead.a2"],
                 ["cases", "note", str(case_id), "--note", "from the command line", "--by", "lead.a2"],
                 ["cases", "refer", str(case_id), "--to", "police", "--by", "lead.a2"],
                 ["cases", "close", str(case_id), "--outcome", "confirmed", "--note", "confirmed by visit", "--by", "lead.a2"]):
        result = runner.invoke(cli, args, env=env)
        assert result.exit_code == 0, (args, result.output)
    history = [h for h in _history(seeded.url, case_id) if h[0] == "lead.a2"]
    assert [h[1] for h in history] == ["assigned", "noted", "referred", "closed"]
    assert history[2][5] == "referred to police"


def test_access_log_rows_and_export(seeded, browser):
    case_id = seeded.cases_of_team[-1]
    lead = browser("lead.a")
    lead.get("/cases")
    lead.get(f"/cases/{case_id}")
    rows = _sql(seeded.url, "SELECT username, role, council, client_id, what, path FROM access_log ORDER BY access_id DESC LIMIT 1")
    client = _sql(seeded.url, "SELECT client_id FROM safeguarding_cases WHERE case_id = :c", c=case_id)[0][0]
    assert tuple(rows[0]) == ("lead.a", "safeguarding", "Testshire", client, f"case {case_id} page", f"/cases/{case_id}")
    queue_rows = _sql(seeded.url, "SELECT count(DISTINCT client_id) FROM access_log WHERE what = 'case queue'")[0][0]
    assert queue_rows >= 1
    for who in ("audit.a", "admin.a"):
        b = browser(who)
        page = b.get(f"/access-log?client={client}")
        assert page.status_code == 200 and f"case {case_id} page" in page.text
        csv_text = b.get(f"/access-log.csv?client={client}").text
        assert csv_text.splitlines()[0] == "access_id,at_utc,username,role,council,client_id,what,path"
        assert f"lead.a,safeguarding,Testshire,{client},case {case_id} page" in csv_text
    assert _sql(seeded.url, "SELECT count(*) FROM access_log WHERE what = 'access log export' AND username = 'admin.a'")[0][0] >= 1
    # Another council's admin or auditor sees none of Testshire's rows.
    with get_engine(seeded.url).connect() as conn:
        theirs, n = access_log.read(conn, ["Otherton"], LogFilters(client_id=client))
        mine, m = access_log.read(conn, ["Testshire"], LogFilters(client_id=client))
    assert (theirs, n) == ([], 0) and m >= 1 and all(r["council"] == "Testshire" for r in mine)
