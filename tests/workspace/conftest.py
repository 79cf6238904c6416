"""A council's five weeks through the real pipeline (simulator -> ingest -> screening), on SQLite and
PostgreSQL, with one workspace user per role and team; and a client that signs in over HTTP.

The database is built once per test session and per database: tests that change cases pick cases no other
test changes (``pick_case``), so they do not depend on their order.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from db.engine import get_engine
from feeds.ingest import ingest_drop
from screening.run import screen_days
from tests.conftest import drop_pg_database, make_pg_database, migrate
from workspace.app import create_app
from workspace.config import fresh_config
from workspace.users import add_user

PASSWORD = "correct horse battery staple"
COUNCIL = "Testshire"
START, DAYS = dt.date(2026, 3, 2), 35
SECRET_KEY = secrets.token_urlsafe(48)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Seeded:
    url: str
    team: str  # the team of lead.a, with the most cases
    other_team: str  # lead.b's team, with cases too
    cases_of_team: list[int]
    cases_of_other_team: list[int]


def _teams_by_cases(url: str) -> list[tuple[str, list[int]]]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(text(
            "SELECT h.team, c.case_id FROM safeguarding_cases c JOIN ref_cardholders h ON h.client_id = c.client_id ORDER BY c.case_id"
        )).all()
    by_team: dict[str, list[int]] = {}
    for team, case_id in rows:
        by_team.setdefault(team, []).append(int(case_id))
    return sorted(by_team.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def _seed(url: str, sim_drops) -> Seeded:
    for drop in sim_drops:
        summary = ingest_drop(url, drop)
        assert not summary.refused, [f.message for f in summary.refused]
    screen_days(url, START, START + dt.timedelta(days=DAYS - 1))
    (team, cases), (other, other_cases) = _teams_by_cases(url)[:2]
    with get_engine(url).begin() as conn:
        for username, role, teams, councils in (
            ("lead.a", "safeguarding", [(COUNCIL, team)], [COUNCIL]),
            ("lead.a2", "safeguarding", [(COUNCIL, team)], [COUNCIL]),
            ("lead.b", "safeguarding", [(COUNCIL, other)], [COUNCIL]),
            ("lead.elsewhere", "safeguarding", [("Otherton", team)], ["Otherton"]),  # same team name, another council
            ("audit.a", "audit", [], [COUNCIL]),
            ("finance.a", "finance", [], [COUNCIL]),
            ("admin.a", "admin", [], [COUNCIL]),
        ):
            add_user(conn, username, username.replace(".", " ").title(), PASSWORD, roles=[role], councils=councils,
                     teams=teams, actor="test")
    return Seeded(url, team, other, cases, other_cases)


@pytest.fixture(scope="session")
def sim_drops(tmp_path_factory):
    from simulator import simulate

    return simulate(COUNCIL, 40, START, DAYS, 5, tmp_path_factory.mktemp("ws-sim")).drops


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def seeded(request, tmp_path_factory, sim_drops) -> Iterator[Seeded]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('ws-db') / 'ws.db'}"
        migrate(url)
        yield _seed(url, sim_drops)
        get_engine(url).dispose()
        return
    url, schema = make_pg_database()
    try:
        migrate(url)
        yield _seed(url, sim_drops)
    finally:
        drop_pg_database(url, schema)


_taken: dict[str, set[int]] = {}


def pick_case(seeded: Seeded, *, other_team: bool = False) -> int:
    """An open case of the team (or the other team) that no other test has taken."""
    taken = _taken.setdefault(seeded.url, set())
    pool = seeded.cases_of_other_team if other_team else seeded.cases_of_team
    with get_engine(seeded.url).connect() as conn:
        open_ids = {int(r[0]) for r in conn.execute(text("SELECT case_id FROM safeguarding_cases WHERE status = 'open'"))}
    for case_id in pool:
        if case_id in open_ids and case_id not in taken:
            taken.add(case_id)
            return case_id
    pytest.fail(f"no untaken open case left for the {'other ' if other_team else ''}team: seed more clients")


class Browser:
    """An HTTP client holding cookies like a browser, with the forms' CSRF tokens at hand."""

    def __init__(self, url: str, **config) -> None:
        config.setdefault("address_attempts_per_minute", 100_000)  # every test signs in from "testclient"
        config.setdefault("secret_key", SECRET_KEY)  # one key, so a session is valid in every test client
        self.app = create_app(url, fresh_config(**config))
        self.http = TestClient(self.app, raise_server_exceptions=False, follow_redirects=False)
        self.csrf = ""

    def get(self, path: str, **kw):
        response = self.http.get(path, **kw)
        if m := CSRF.search(response.text):
            self.csrf = m.group(1)
        return response

    def post(self, path: str, data: dict | None = None, *, csrf: str | None = None):
        form = dict(data or {})
        form.setdefault("csrf_token", self.csrf if csrf is None else csrf)
        return self.http.post(path, data=form)

    def sign_in(self, username: str, password: str = PASSWORD):
        self.get("/sign-in")
        return self.post("/sign-in", {"username": username, "password": password})

    def signed_in_as(self, username: str) -> Browser:
        response = self.sign_in(username)
        assert response.status_code == 303, response.text[:500]
        self.get("/account")  # the session's token for forms
        return self


@pytest.fixture
def browser(seeded):
    def make(username: str | None = None, **config) -> Browser:
        b = Browser(seeded.url, **config)
        return b.signed_in_as(username) if username else b

    return make
