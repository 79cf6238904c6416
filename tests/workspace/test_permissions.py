"""Goal: over HTTP, every page and every action lets in exactly the roles it is for, on SQLite and
PostgreSQL: signed out -> the sign-in page; the wrong role -> refused (403); another team's or council's
case -> "not found" (404, like a case that does not exist); a form without the session's CSRF token ->
refused and nothing changed; finance's pages name no rule and no health event."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from db.engine import get_engine
from screening.rule_titles import RULE_TITLES
from tests.workspace.conftest import pick_case
from workspace.formatting import LIFE_EVENT_WORDS

ROLE_USERS = {"safeguarding": "lead.a", "audit": "audit.a", "finance": "finance.a", "admin": "admin.a"}
# path -> the roles that may open it (None: any signed-in user)
PAGES = {
    "/account": None,
    "/cases": {"safeguarding"},
    "/cases/{case}": {"safeguarding"},
    "/finance": {"finance"},
    "/access-log": {"admin", "audit"},
    "/access-log.csv": {"admin", "audit"},
    "/admin/users": {"admin"},
}
ACTIONS = {  # path -> (roles, a valid form)
    "/cases/{case}/acknowledge": ({"safeguarding"}, {}),
    "/cases/{case}/assign": ({"safeguarding"}, {"assignee": "me"}),
    "/cases/{case}/note": ({"safeguarding"}, {"note": "checked with the social worker"}),
    "/cases/{case}/refer": ({"safeguarding"}, {"to_whom": "Adult Social Care safeguarding team"}),
    "/cases/{case}/close": ({"safeguarding"}, {"outcome": "false_positive", "reason": "agreed purchase"}),
    "/cases/{case}/suppress": ({"safeguarding"}, {"until": "2099-01-01", "reason": "x"}),
    "/admin/users": ({"admin"}, {"username": "new.user", "display_name": "New User", "roles": "audit", "councils": "Testshire"}),
    "/admin/users/audit.a/password": ({"admin"}, {}),
}


def _events(url: str, case_id: int) -> int:
    with get_engine(url).connect() as conn:
        return conn.execute(text("SELECT count(*) FROM case_events WHERE case_id = :c"), {"c": case_id}).scalar_one()


def test_signed_out_every_page_and_action_goes_to_sign_in(seeded, browser):
    case_id = seeded.cases_of_team[0]
    b = browser()
    for path in [*PAGES, "/", *ACTIONS, "/sign-out", "/admin/users/lead.a/disable"]:
        path = path.format(case=case_id)
        response = b.get(path) if path in {p.format(case=case_id) for p in PAGES} or path == "/" else b.post(path, {})
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/sign-in?next="), path
    assert b.get("/sign-in").status_code == 200


@pytest.mark.parametrize("role", sorted(ROLE_USERS))
def test_each_page_lets_in_only_its_roles(seeded, browser, role):
    b = browser(ROLE_USERS[role])
    case_id = seeded.cases_of_team[0]
    for path, roles in PAGES.items():
        response = b.get(path.format(case=case_id))
        if roles is None or role in roles:
            assert response.status_code == 200, (role, path, response.text[:300])
        else:
            assert response.status_code == 403, (role, path)
            assert "not part of your role" in response.text


@pytest.mark.parametrize("role", ["audit", "finance", "admin"])
def test_case_actions_refuse_other_roles_and_change_nothing(seeded, browser, role):
    case_id = seeded.cases_of_team[0]
    b = browser(ROLE_USERS[role])
    before = _events(seeded.url, case_id)
    for path, (roles, form) in ACTIONS.items():
        if role in roles:
            continue
        assert b.post(path.format(case=case_id), form).status_code == 403, (role, path)
    assert _events(seeded.url, case_id) == before


def test_other_teams_and_councils_cases_are_not_found(seeded, browser):
    theirs = seeded.cases_of_other_team[0]
    missing = 999_999
    for username in ("lead.a", "lead.elsewhere"):
        b = browser(username)
        before = _events(seeded.url, theirs)
        for case_id in (theirs, missing):
            page = b.get(f"/cases/{case_id}")
            assert page.status_code == 404 and "Not found" in page.text, (username, case_id)
            for path, (roles, form) in ACTIONS.items():
                if "safeguarding" in roles:
                    assert b.post(path.format(case=case_id), form).status_code == 404, (username, path)
        assert _events(seeded.url, theirs) == before
        queue = b.get("/cases?status=all").text
        assert f'href="/cases/{theirs}"' not in queue
    # The other team's lead does see it.
    assert browser("lead.b").get(f"/cases/{theirs}").status_code == 200
    # lead.elsewhere (same team name, another council) sees no case at all.
    assert "0 cases match" in browser("lead.elsewhere").get("/cases?status=all").text


def test_forms_without_the_sessions_csrf_token_are_refused(seeded, browser):
    case_id = pick_case(seeded)
    b = browser("lead.a")
    before = _events(seeded.url, case_id)
    other = browser("lead.a2")  # a real token, but another session's
    for token in ("", "forged", other.csrf):
        for path, (roles, form) in ACTIONS.items():
            if "safeguarding" not in roles:
                continue
            response = b.post(path.format(case=case_id), form, csrf=token)
            assert response.status_code == 403 and "could not be accepted" in response.text, (token, path)
    assert _events(seeded.url, case_id) == before
    admin = browser("admin.a")
    assert admin.post("/admin/users/lead.a/disable", {}, csrf="forged").status_code == 403
    assert admin.post("/sign-out", {}, csrf="").status_code == 403
    assert b.get("/cases").status_code == 200  # lead.a still active and signed in


def test_sign_in_form_needs_its_token(seeded, browser):
    b = browser()
    b.get("/sign-in")
    assert b.post("/sign-in", {"username": "lead.a", "password": "correct horse battery staple"}, csrf="x").status_code == 403


def test_finance_sees_no_rule_names_or_health_events(seeded, browser):
    b = browser("finance.a")
    case_id = seeded.cases_of_team[0]
    pages = [b.get(p).text for p in ("/finance", "/account", f"/cases/{case_id}", "/cases", "/access-log")]
    with get_engine(seeded.url).connect() as conn:
        rules = {r[0] for r in conn.execute(text("SELECT DISTINCT rule FROM safeguarding_cases"))}
    assert rules, "the seed has cases"
    forbidden = {*rules, *(RULE_TITLES[r] for r in rules), *LIFE_EVENT_WORDS.values(), *LIFE_EVENT_WORDS,
                 "hospital", "respite", "deceased", "died"}
    for html in pages:
        lowered = html.lower()
        found = sorted(w for w in forbidden if w.lower() in lowered)
        assert not found, found


def test_pages_carry_security_headers_and_no_traceback(seeded, browser):
    b = browser("lead.a")

    def boom():
        raise RuntimeError("secret internals: /etc/passwd")

    b.app.add_api_route("/boom", boom)
    for path in ("/cases", "/sign-in", "/nowhere", "/boom", "/static/workspace.css"):
        response = b.get(path)
        headers = response.headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp, path
        assert headers["x-frame-options"] == "DENY" and headers["referrer-policy"] == "no-referrer", path
        assert "Traceback" not in response.text and "secret internals" not in response.text, path
    assert b.get("/boom").status_code == 500 and "quote reference" in b.get("/boom").text
    assert b.get("/cases").headers["cache-control"] == "no-store"
    assert "<script" not in b.get(f"/cases/{seeded.cases_of_team[0]}").text  # works without JavaScript


def test_cookies_are_httponly_samesite_and_secure_over_https(seeded, browser):
    b = browser()
    b.get("/sign-in")
    cookie = b.post("/sign-in", {"username": "lead.a", "password": "correct horse battery staple"}).headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    s = browser(base_url="https://careledger.council.example")
    s.http.base_url = "https://testserver"
    s.get("/sign-in")
    cookie = s.post("/sign-in", {"username": "lead.a", "password": "correct horse battery staple"}).headers["set-cookie"]
    assert "__Host-careledger_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    assert "max-age=31536000" in s.get("/cases").headers["strict-transport-security"]
