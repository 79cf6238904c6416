"""The command line as a person meets it, through its real entry point (the installed ``careledger``
script in a subprocess): where ``--db`` goes, a missing database, dates, escaping, lists at 80
columns and as CSV/JSON, an unknown client, and a statement whose take-on comes first."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reconciliation.builders import Book, day

CARELEDGER = str(Path(sys.executable).with_name("careledger"))


def run(*args: str, cwd: Path | None = None, columns: int = 80) -> subprocess.CompletedProcess:
    """``careledger ARGS`` as a shell would run it, piped (not a terminal), 80 columns wide."""
    env = {k: v for k, v in os.environ.items() if k != "CARELEDGER_DB_URL"}
    env["COLUMNS"] = str(columns)
    return subprocess.run([CARELEDGER, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def assert_one_line_error(res: subprocess.CompletedProcess, *words: str) -> None:
    assert res.returncode != 0, res.stdout
    assert "Traceback" not in res.stderr and res.stdout == ""
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture
def book(db_url) -> Book:
    """One card, A:10000001 of client C1: £12.34 spent on day 1, the provider's closing balance £100.00,
    so the take-on (money on the card before its first feed) is £112.34, posted after the spending."""
    b = Book(db_url).card("C1", "A", "10000001")
    b.save_reference()
    b.post([b.item("A", "P1", "10000001", "card_purchase", -1_234, day(1))])
    b.balances("A", day(1), overrides={"10000001": 10_000})
    b.day_files(day(1), ("A",))
    b.take_ons()
    return b


def test_db_goes_before_or_after_the_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    first = run("--db", url, "init")
    assert first.returncode == 0 and "schema revision" in first.stdout, first.stderr
    after = run("balances", "--db", url)
    before = run("--db", url, "balances")
    assert after.returncode == before.returncode == 0, (after.stderr, before.stderr)
    assert after.stdout == before.stdout


def test_a_missing_database_is_one_line_and_creates_nothing(tmp_path):
    res = run("balances", cwd=tmp_path)
    assert_one_line_error(res, "sqlite:///careledger.db", "careledger init")
    assert list(tmp_path.iterdir()) == [], "no empty careledger.db, -wal or -shm left behind"
    missing = tmp_path / "nowhere" / "x.db"
    assert_one_line_error(run("trial-balance", "--db", f"sqlite:///{missing}"), str(missing), "careledger init")
    assert not missing.parent.exists()


def test_an_uninitialised_database_is_one_line(tmp_path):
    empty = tmp_path / "empty.db"
    empty.touch()
    assert_one_line_error(run("exceptions", "list", "--db", f"sqlite:///{empty}"), "no careledger schema", "careledger init")


def test_account_codes_print_as_they_are_not_as_emoji(db_url, book):
    res = run("balances", "--db", db_url, "--prefix", "card:", columns=200)
    assert res.returncode == 0, res.stderr
    assert "card:A:10000001:council" in res.stdout
    assert "\U0001f170" not in res.stdout  # Rich's :a: emoji


def test_dates_iso_or_uk_and_anything_else_refused(db_url, book):
    iso = run("statement", "C1", "--from", str(day(1)), "--to", str(day(2)), "--db", db_url, "--json")
    uk = run("statement", "C1", "--from", f"{day(1):%d/%m/%Y}", "--to", f"{day(2):%d/%m/%Y}", "--db", db_url, "--json")
    assert iso.returncode == uk.returncode == 0, (iso.stderr, uk.stderr)
    assert json.loads(iso.stdout) == json.loads(uk.stdout)
    bad = run("statement", "C1", "--from", "2026/03/01", "--to", str(day(2)), "--db", db_url)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "2026/03/01" in bad.stderr and "dd/mm/yyyy" in bad.stderr


def test_an_unknown_client_is_an_error(db_url, book):
    assert_one_line_error(run("statement", "NOPE", "--from", str(day(1)), "--to", str(day(2)), "--db", db_url), "NOPE")


def test_the_take_on_comes_first_and_the_balance_never_goes_below_zero(db_url, book):
    res = run("statement", "C1", "--from", str(day(1)), "--to", str(day(1)), "--db", db_url, "--json")
    assert res.returncode == 0, res.stderr
    st = json.loads(res.stdout)
    assert [i["entry_type"] for i in st["items"]] == ["take_on", "card_purchase"]
    assert [i["running_balance_pence"] for i in st["items"]] == [11_234, 10_000]
    assert st["closing_pence"] == st["opening_pence"] + sum(i["amount_pence"] for i in st["items"]) == 10_000


def test_lists_wrap_at_80_columns_and_come_as_csv_or_json(db_url, book):
    # B's files never came for day 1: the missing-file exception's long explanation must wrap, never be cut.
    assert run("reconcile", "--date", str(day(1)), "--providers", "A,B", "--db", db_url, "--json").returncode == 0
    rows = json.loads(run("exceptions", "list", "--db", db_url, "--json").stdout)
    assert rows and all(r["age_days"] == 0 for r in rows), "ages count from the latest run day, not the wall clock"
    shown = run("exceptions", "list", "--db", db_url, columns=80)
    assert shown.returncode == 0, shown.stderr
    assert "…" not in shown.stdout and max(len(ln) for ln in shown.stdout.splitlines()) <= 80
    # A table wraps each column within its own lines, so compare words: every word is there whole.
    words = set(shown.stdout.translate({ord(c): " " for c in "│┃┏┓┗┛┡┩└┘━─┳╇┴"}).split())
    for r in rows:
        assert set(r["explanation"].split()) <= words, set(r["explanation"].split()) - words
    as_csv = list(csv.DictReader(io.StringIO(run("exceptions", "list", "--db", db_url, "--csv").stdout)))
    assert [(r["exception_id"], r["explanation"]) for r in as_csv] == [(str(r["exception_id"]), r["explanation"]) for r in rows]
    tb = list(csv.DictReader(io.StringIO(run("trial-balance", "--db", db_url, "--csv").stdout)))
    assert tb[-1]["account_type"] == "TOTAL" and tb[-1]["balance_pence"] == "0"
    bal = json.loads(run("balances", "--db", db_url, "--json").stdout)
    assert {"code", "balance_pence"} <= set(bal[0])
