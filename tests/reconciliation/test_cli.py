"""The command line: reconcile, exceptions list / resolve, report."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from careledger.cli import app
from tests.reconciliation.builders import Book, day


def test_reconcile_list_resolve_and_report_from_the_cli(db_url, tmp_path):
    # Goal: a day with B's files missing -> `reconcile` raises missing_file; `exceptions list --status open` shows it;
    # `resolve --explained` keeps it visible with the note; a plain resolve closes it and a re-run does not reopen it;
    # `report` writes the three outputs.
    book = Book(db_url).card("C1", "A", "10000001")
    book.save_reference()
    book.post([book.item("A", "L1", "10000001", "council_load", 10_000, day(1))])
    book.balances("A", day(1))
    book.day_files(day(1), ("A",))
    runner = CliRunner()
    res = runner.invoke(app, ["reconcile", "--date", str(day(1)), "--providers", "A,B", "--db", db_url, "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["checks"]["feeds"]["raised"] == 1
    assert summary["funding"] == [{"council": "Testshire", "london_date": str(day(1)), "loads": 1, "loaded_pence": 10_000,
                                   "returned_pence": 0, "unloads": 0, "unloaded_pence": 0, "net_from_council_pence": 10_000}]

    res = runner.invoke(app, ["exceptions", "list", "--status", "open", "--db", db_url, "--json"])
    rows = json.loads(res.stdout)
    by_type = {r["exception_type"]: r for r in rows}
    assert set(by_type) == {"missing_file", "unexpected_load"}
    missing_id = by_type["missing_file"]["exception_id"]

    res = runner.invoke(app, ["exceptions", "resolve", str(missing_id), "--note", "provider B outage, confirmed by phone",
                              "--explained", "--by", "auditor1", "--db", db_url])
    assert res.exit_code == 0, res.output
    rows = {r["exception_id"]: r for r in json.loads(runner.invoke(app, ["exceptions", "list", "--db", db_url, "--json"]).stdout)}
    assert (rows[missing_id]["status"], rows[missing_id]["note"]) == ("explained", "provider B outage, confirmed by phone")

    res = runner.invoke(app, ["exceptions", "resolve", str(missing_id), "--note", "no B cards in this council", "--db", db_url])
    assert res.exit_code == 0
    runner.invoke(app, ["reconcile", "--date", str(day(1)), "--providers", "A,B", "--db", db_url, "--json"])
    rows = {r["exception_id"]: r for r in json.loads(runner.invoke(app, ["exceptions", "list", "--db", db_url, "--json"]).stdout)}
    assert rows[missing_id]["status"] == "resolved", "a person's decision is not undone by the next run"

    res = runner.invoke(app, ["exceptions", "resolve", "99999", "--note", "x", "--db", db_url])
    assert res.exit_code == 1

    res = runner.invoke(app, ["report", "--date", str(day(1)), "--out", str(tmp_path), "--db", db_url, "--json"])
    assert res.exit_code == 0, res.output
    written = {k: Path(v) for k, v in json.loads(res.stdout).items()}
    assert written["Testshire:html"].exists() and written["Testshire:xlsx"].exists() and written["Testshire:csv"].is_dir()
