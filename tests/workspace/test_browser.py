"""Goal: in a real browser (Debian's Chromium driven by Playwright, the workspace served by uvicorn), a
safeguarding lead signs in, opens the queue, opens a case and closes it with an outcome using the keyboard
alone, sees the closing in the case history, and the access log has the row; axe-core finds no serious or
critical accessibility problem on any page. Screenshots of the queue and a case page go to docs/img/.

Playwright's own browser download cannot be reached from these machines; Debian's ``chromium`` package can
(``.ci/run`` installs it when missing), and Playwright drives it through ``executable_path``.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import text

from db.engine import get_engine
from tests.workspace.conftest import PASSWORD, SECRET_KEY, pick_case
from workspace.app import create_app
from workspace.config import fresh_config

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE = Path(__file__).with_name("assets") / "axe.min.js"  # axe-core 4.14.1 (assets/README.md)
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"
LAPTOP = {"width": 1366, "height": 768}
TAB_MAX = 400  # Tab presses allowed to reach one control (the case page has about 40 stops)


class LiveServer:
    """The workspace app under uvicorn on a free loopback port, in a thread of this process."""

    def __init__(self, url: str) -> None:
        app = create_app(url, fresh_config(secret_key=SECRET_KEY, address_attempts_per_minute=100_000))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.base = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture
def live(seeded) -> Iterator[LiveServer]:
    server = LiveServer(seeded.url)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Debian's chromium is required under CI (.ci/run installs it): /usr/bin/chromium is missing")
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def check_accessibility(page, name: str) -> None:
    """Run axe-core on the page as it is; fail on any serious or critical violation, naming them."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => JSON.stringify(await axe.run(document, {resultTypes: ['violations']}))")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in json.loads(result)["violations"]
           if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: {bad}"


SHOWCASE_RULES = ("spend_in_hospital", "drain_after_load", "cash_spike", "new_payee_burst", "unapproved_payee")


def showcase_case(seeded) -> int:
    """A case of lead.a's team worth a screenshot: evidence, a chart with something in it, life events."""
    with get_engine(seeded.url).connect() as conn:
        rules = dict(conn.execute(text("SELECT case_id, rule FROM safeguarding_cases")).all())
    for rule in SHOWCASE_RULES:
        for case_id in seeded.cases_of_team:
            if rules[case_id] == rule:
                return case_id
    return seeded.cases_of_team[0]


def tab_to(page, selector: str) -> None:
    """Press Tab until the element matching ``selector`` has the focus (keyboard only: no clicks)."""
    for _ in range(TAB_MAX):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"could not reach {selector} with the Tab key in {TAB_MAX} presses")


def sign_in_by_keyboard(page, base: str, username: str) -> None:
    page.goto(f"{base}/sign-in")
    tab_to(page, "#username")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_lead_closes_a_case_with_the_keyboard_alone(seeded, live, chromium):
    case_id = pick_case(seeded)
    context = chromium.new_context(viewport=LAPTOP, locale="en-GB", timezone_id="Europe/London")
    page = context.new_page()
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{live.base}/sign-in")
    check_accessibility(page, "sign-in")
    sign_in_by_keyboard(page, live.base, "lead.a")
    assert page.url.endswith("/cases"), page.url
    assert page.get_by_role("heading", name="My cases").is_visible()
    check_accessibility(page, "queue")
    if seeded.url.startswith("sqlite"):
        page.screenshot(path=str(SHOTS / "workspace-queue.png"), full_page=True)

    tab_to(page, f'a[href="/cases/{case_id}"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/cases/{case_id}"), page.url
    assert page.get_by_role("heading", name="What was found").is_visible()
    check_accessibility(page, "case")
    if seeded.url.startswith("sqlite"):  # the docs show a case with more to it than most
        page.goto(f"{live.base}/cases/{showcase_case(seeded)}")
        check_accessibility(page, "showcase case")
        page.screenshot(path=str(SHOTS / "workspace-case.png"), full_page=True)
        page.goto(f"{live.base}/cases/{case_id}")

    tab_to(page, "#outcome-confirmed")  # a radio group is one Tab stop; the arrow keys choose within it
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    assert page.is_checked("#outcome-false_positive") and not page.is_checked("#outcome-confirmed")
    tab_to(page, "#reason")
    page.keyboard.type("Purchases match the support plan; spoke to the client's carer.")
    tab_to(page, ".close-form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"/cases/{case_id}?done=closed" in page.url, page.url
    assert page.get_by_role("status").inner_text().strip() == "Case closed."
    history = page.locator("table.history").inner_text()
    assert "Closed: False alarm" in history and "spoke to the client's carer" in history and "lead.a" in history
    check_accessibility(page, "case after closing")
    assert not csp_errors, csp_errors
    with get_engine(seeded.url).connect() as conn:
        status = conn.execute(text("SELECT status, outcome FROM safeguarding_cases WHERE case_id = :c"), {"c": case_id}).one()
        logged = conn.execute(text("SELECT username, role, what FROM access_log WHERE what = :w"), {"w": f"case {case_id}: closed"}).all()
    assert tuple(status) == ("closed", "false_positive")
    assert [tuple(r) for r in logged] == [("lead.a", "safeguarding", f"case {case_id}: closed")]
    context.close()

    # The auditor finds the closing in the access log, in the browser too.
    context = chromium.new_context(viewport=LAPTOP, locale="en-GB", timezone_id="Europe/London")
    page = context.new_page()
    sign_in_by_keyboard(page, live.base, "audit.a")
    page.goto(f"{live.base}/access-log?user=lead.a")
    assert f"case {case_id}: closed" in page.locator("table.log").inner_text()
    check_accessibility(page, "access log")
    context.close()


@pytest.mark.parametrize("username, paths", [
    ("admin.a", ["/admin/users", "/account", "/access-log", "/nowhere"]),
    ("finance.a", ["/finance", "/cases"]),
])
def test_other_pages_have_no_serious_accessibility_problems(seeded, live, chromium, username, paths):
    context = chromium.new_context(viewport=LAPTOP, locale="en-GB")
    page = context.new_page()
    sign_in_by_keyboard(page, live.base, username)
    for path in paths:
        page.goto(f"{live.base}{path}")
        check_accessibility(page, path)
    context.close()
