"""The screening commands end to end on SQLite: screen (dry run, then for real), cases list / ack / close /
suppress, and evaluate against a small ground truth."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from careledger.cli import app
from db.engine import get_engine
from tests.screening.builders import seed_transactions, seed_two_findings, txn

runner = CliRunner()


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_screen_cases_and_evaluate(sqlite_url, tmp_path):
    seed_two_findings(sqlite_url)
    dry = json.loads(_run("screen", "--from", "2026-03-01", "--to", "2026-03-07", "--dry-run", "--db", sqlite_url, "--json"))
    assert dry["dry_run"] and dry["findings_by_rule"] == {"restricted_mcc": 1, "unapproved_payee": 1}
    assert json.loads(_run("cases", "list", "--db", sqlite_url, "--json")) == []
    real = json.loads(_run("screen", "--from", "2026-03-01", "--to", "2026-03-07", "--db", sqlite_url, "--json"))
    assert real["recorded"]["cases_opened"] == 2
    cases = json.loads(_run("cases", "list", "--open", "--db", sqlite_url, "--json"))
    cid = next(c["case_id"] for c in cases if c["rule"] == "restricted_mcc")
    _run("cases", "ack", str(cid), "--by", "amina", "--db", sqlite_url)
    bad = runner.invoke(app, ["cases", "close", str(cid), "--outcome", "maybe", "--note", "x", "--by", "amina", "--db", sqlite_url])
    assert bad.exit_code == 1 and "outcome" in bad.output
    _run("cases", "close", str(cid), "--outcome", "false_positive", "--note", "bought for a party, agreed", "--by", "amina", "--db", sqlite_url)
    shown = json.loads(_run("cases", "show", str(cid), "--db", sqlite_url, "--json"))
    assert shown["case"]["status"] == "closed" and [e["action"] for e in shown["events"]][-2:] == ["acknowledged", "closed"]
    assert "Suppression" in _run("cases", "suppress", "C001", "restricted_mcc", "--until", "2026-12-31", "--reason", "agreed",
                                 "--by", "amina", "--db", sqlite_url)
    truth = {"council": "Testshire", "start": "2026-03-01", "days": 7, "seed": 0, "cases": [
        {"rule": "restricted_mcc", "client_id": "C001", "date": "2026-03-04", "description": "alcohol"},
        {"rule": "velocity", "client_id": "C002", "date": "2026-03-04", "description": "missed on purpose"},
        {"rule": "late_file", "client_id": None, "provider": "A", "date": "2026-03-04", "description": "not screening's"}]}
    gt = tmp_path / "ground_truth.json"
    gt.write_text(json.dumps(truth))
    result = json.loads(_run("evaluate", str(gt), "--db", sqlite_url, "--json"))
    assert result["rules"]["restricted_mcc"] == {**result["rules"]["restricted_mcc"], "planted": 1, "found": 1, "recall": 1.0, "precision": 1.0}
    assert result["rules"]["velocity"]["recall"] == 0.0
    assert result["rules"]["unapproved_payee"]["precision"] == 0.0  # found, but nothing planted: a false positive
    assert "late_file" not in result["rules"]
    assert "OVERALL" in _run("evaluate", str(gt), "--db", sqlite_url)


def test_suppression_can_be_withdrawn_and_the_rule_alerts_again(sqlite_url):
    # Goal: a lead who silenced a rule for a client can take that back, on the record; findings made
    # while it was active stay suppressed, later ones raise a case again.
    seed_two_findings(sqlite_url)
    made = json.loads(_run("cases", "suppress", "C001", "restricted_mcc", "--until", "2026-12-31", "--reason", "agreed at review",
                           "--by", "amina", "--db", sqlite_url, "--json"))
    sid = made["suppression_id"]
    first = json.loads(_run("screen", "--from", "2026-03-01", "--to", "2026-03-07", "--db", sqlite_url, "--json"))
    assert first["recorded"]["suppressed"] == 1
    assert [c["rule"] for c in json.loads(_run("cases", "list", "--db", sqlite_url, "--json"))] == ["unapproved_payee"]
    listed = json.loads(_run("cases", "suppressions", "--db", sqlite_url, "--json"))
    assert [s["suppression_id"] for s in listed] == [sid]

    missing = runner.invoke(app, ["cases", "unsuppress", str(sid), "--reason", "", "--by", "bo", "--db", sqlite_url])
    assert missing.exit_code == 1 and "why" in missing.output
    _run("cases", "unsuppress", str(sid), "--reason", "spending pattern changed", "--by", "bo", "--db", sqlite_url)
    again = runner.invoke(app, ["cases", "unsuppress", str(sid), "--reason", "x", "--by", "bo", "--db", sqlite_url])
    assert again.exit_code == 1 and "already withdrawn by bo" in again.output
    assert json.loads(_run("cases", "suppressions", "--db", sqlite_url, "--json")) == []
    (record,) = json.loads(_run("cases", "suppressions", "--all", "--db", sqlite_url, "--json"))
    assert (record["active"], record["withdrawn_by"], record["withdrawn_reason"]) == (False, "bo", "spending pattern changed")

    with get_engine(sqlite_url).begin() as conn:
        seed_transactions(conn, [txn("C001", "2026-03-10 12:00", "card_purchase", -1599, mcc="5921", merchant="WINE RACK 12",
                                      txn_id="A77003")])
    later = json.loads(_run("screen", "--from", "2026-03-08", "--to", "2026-03-14", "--db", sqlite_url, "--json"))
    assert later["recorded"]["suppressed"] == 0
    rules = sorted(c["rule"] for c in json.loads(_run("cases", "list", "--db", sqlite_url, "--json")))
    assert rules == ["restricted_mcc", "unapproved_payee"]
