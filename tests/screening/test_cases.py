"""Findings into cases and alerts on both databases: cooldown and evidence merge, idempotence,
suppression, the case workflow with its append-only history, and screen_days run twice."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import func, select

from db.engine import get_engine, take_ledger_lock
from records.reference import save_reference
from screening.cases import CaseError, change_case, list_cases, record_findings, show_case, suppress
from screening.findings import Finding
from screening.run import screen_days
from screening.tables import alerts, case_events, safeguarding_cases, screening_findings
from tests.screening.builders import COUNCIL_YAML, cardholder, reference, seed_transactions, txn

D = dt.date


def _finding(day: dt.date, evidence: tuple[str, ...], rule: str = "drain_after_load", client: str = "C001", severity: str = "high") -> Finding:
    return Finding(rule=rule, council="Testshire", client_id=client, london_date=day, severity=severity,
                   explanation=f"£380.00 of a £420.00 load on {day} left the card", evidence_txn_ids=evidence,
                   amount_pence=38000, provider="A", account_id="10000001", details={"detected_on": day.isoformat()})


def _seed_reference(conn, cardholders=None) -> None:
    yaml_text = COUNCIL_YAML.format(thresholds="{case_cooldown_days: 14}")
    ref = reference(cardholders or [cardholder("C001", email="lead.north@testshire.example"), cardholder("C002")], thresholds="{case_cooldown_days: 14}")
    save_reference(conn, ref, yaml_text, "test-extract")


def _count(conn, table) -> int:
    return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_cooldown_merges_evidence_and_later_finding_alerts_again(db_url):
    engine = get_engine(db_url)
    with engine.begin() as conn:
        _seed_reference(conn)
        s1 = record_findings(conn, [_finding(D(2026, 3, 2), ("A:1", "A:2"))], D(2026, 3, 2))
        s2 = record_findings(conn, [_finding(D(2026, 3, 10), ("A:2", "A:3"))], D(2026, 3, 10))  # within 14 days
        s3 = record_findings(conn, [_finding(D(2026, 4, 20), ("A:9",))], D(2026, 4, 20))  # long after: same case, new alert
    assert (s1["cases_opened"], s1["alerts_raised"]) == (1, 1)
    assert (s2["cases_opened"], s2["merged_into_open_case"], s2["alerts_raised"]) == (0, 1, 0)
    assert (s3["cases_opened"], s3["alerts_raised"]) == (0, 1)
    with engine.connect() as conn:
        [case] = list_cases(conn)
        assert case["evidence"].split() == ["A:1", "A:2", "A:3", "A:9"]
        assert case["findings"] == 3 and str(case["last_finding_on"])[:10] == "2026-04-20"
        assert [a["recipient"] for a in show_case(conn, case["case_id"])["alerts"]] == ["lead.north@testshire.example"] * 2
        actions = [e["action"] for e in show_case(conn, case["case_id"])["events"]]
        assert actions == ["opened", "alert_raised", "finding_added", "finding_added", "alert_raised"]


def test_same_findings_twice_add_nothing(db_url):
    engine = get_engine(db_url)
    findings = [_finding(D(2026, 3, 2), ("A:1",)), _finding(D(2026, 3, 2), ("A:1",), rule="velocity", severity="medium")]
    with engine.begin() as conn:
        _seed_reference(conn)
        first = record_findings(conn, findings, D(2026, 3, 2))
        again = record_findings(conn, findings, D(2026, 3, 2))
        counts = (_count(conn, screening_findings), _count(conn, safeguarding_cases), _count(conn, alerts), _count(conn, case_events))
    assert first["new_findings"] == 2 and again == {**again, "new_findings": 0, "already_recorded": 2, "alerts_raised": 0}
    assert counts == (2, 2, 2, 4)


def test_fallback_to_council_mailbox(db_url):
    engine = get_engine(db_url)
    with engine.begin() as conn:
        _seed_reference(conn)
        record_findings(conn, [_finding(D(2026, 3, 2), ("A:1",), client="C002")], D(2026, 3, 2))
        assert conn.execute(select(alerts.c.recipient)).scalar_one() == "safeguarding@testshire.example"


def test_suppression_keeps_finding_raises_nothing(db_url):
    engine = get_engine(db_url)
    with engine.begin() as conn:
        _seed_reference(conn)
        sid = suppress(conn, "C001", "drain_after_load", D(2026, 3, 31), "agreed large purchase (wheelchair)", actor="amina")
        s = record_findings(conn, [_finding(D(2026, 3, 2), ("A:1",))], D(2026, 3, 2))
        assert s["suppressed"] == 1 and s["alerts_raised"] == 0 and s["cases_opened"] == 0
        assert conn.execute(select(screening_findings.c.suppressed_by)).scalar_one() == sid
        other = record_findings(conn, [_finding(D(2026, 3, 2), ("A:5",), rule="velocity", severity="medium")], D(2026, 3, 2))
        assert other["alerts_raised"] == 1  # only that rule is silenced
        after = record_findings(conn, [_finding(D(2026, 4, 1), ("A:2",))], D(2026, 4, 1))  # expired
        assert after["alerts_raised"] == 1 and after["suppressed"] == 0
    with pytest.raises(CaseError, match="reason"), engine.begin() as conn:
        suppress(conn, "C001", "velocity", D(2026, 3, 31), "", actor="amina")


def test_workflow_with_history(db_url):
    engine = get_engine(db_url)
    with engine.begin() as conn:
        _seed_reference(conn)
        record_findings(conn, [_finding(D(2026, 3, 2), ("A:1",))], D(2026, 3, 2))
        [case] = list_cases(conn)
        cid = case["case_id"]
        with pytest.raises(CaseError, match="outcome"):
            change_case(conn, cid, "closed", actor="amina", note="looked")
        change_case(conn, cid, "acknowledged", actor="amina", note="calling the client")
        with pytest.raises(CaseError, match="acknowledged"):
            change_case(conn, cid, "acknowledged", actor="amina")
        change_case(conn, cid, "referred", actor="amina", note="to adult safeguarding")
        change_case(conn, cid, "closed", actor="raj", note="family member had the card", outcome="confirmed")
        with pytest.raises(CaseError, match="closed"):
            change_case(conn, cid, "referred", actor="raj")
        data = show_case(conn, cid)
        assert data["case"]["status"] == "closed" and data["case"]["outcome"] == "confirmed" and data["case"]["updated_by"] == "raj"
        history = [(e["actor"], e["action"], e["from_status"], e["to_status"]) for e in data["events"]][2:]
        assert history == [("amina", "acknowledged", "open", "acknowledged"), ("amina", "referred", "acknowledged", "referred"),
                           ("raj", "closed", "referred", "closed")]
        assert all(e["at"] is not None for e in data["events"])
        # A closed case is not an open one: the same rule firing again opens a new case.
        s = record_findings(conn, [_finding(D(2026, 3, 5), ("A:7",))], D(2026, 3, 5))
        assert s["cases_opened"] == 1 and len(list_cases(conn, open_only=True)) == 1


def test_screen_days_twice_adds_no_new_alerts(db_url):
    engine = get_engine(db_url)
    rows = [txn("C001", "2026-03-02 09:00", "council_load", 42000),
            txn("C001", "2026-03-02 12:00", "card_purchase", -38000, mcc="5732"),
            txn("C001", "2026-03-03 12:00", "card_purchase", -2000, mcc="5921"),
            txn("C002", "2026-03-04 11:00", "cash", -2000, mcc="6011")]
    with engine.begin() as conn:
        _seed_reference(conn)
        seed_transactions(conn, rows)
    dry = screen_days(db_url, D(2026, 3, 1), D(2026, 3, 7), dry_run=True)
    assert dry["findings_by_rule"] == {"cash_not_allowed": 1, "drain_after_load": 1, "restricted_mcc": 1}
    assert {f["rule"] for f in dry["would_raise"]} == {"cash_not_allowed", "drain_after_load", "restricted_mcc"}
    with engine.connect() as conn:
        assert _count(conn, screening_findings) == 0  # dry run recorded nothing
    first = screen_days(db_url, D(2026, 3, 1), D(2026, 3, 7))
    second = screen_days(db_url, D(2026, 3, 1), D(2026, 3, 7))
    assert first["recorded"]["alerts_raised"] == 3
    assert second["recorded"]["alerts_raised"] == 0 and second["recorded"]["new_findings"] == 0
    # Day by day gives the same findings as the range at once.
    for k in range(7):
        day = D(2026, 3, 1) + dt.timedelta(days=k)
        assert screen_days(db_url, day, day)["recorded"]["new_findings"] == 0
    with engine.connect() as conn:
        assert _count(conn, alerts) == 3


def test_contributions_hand_over_findings(db_url):
    """contributions_stopped is computed by the contributions module and handed over as a Finding."""
    engine = get_engine(db_url)
    with engine.begin() as conn:
        _seed_reference(conn)
    handed = Finding(rule="contributions_stopped", council="Testshire", client_id="C002", london_date=D(2026, 3, 9),
                     severity="medium", explanation="No contribution for 3 weeks (£35.33 a week, £105.99 unpaid).",
                     evidence_txn_ids=(), amount_pence=10599)
    s = screen_days(db_url, D(2026, 3, 9), D(2026, 3, 9), extra_findings=[handed])
    assert s["findings_by_rule"] == {"contributions_stopped": 1} and s["recorded"]["alerts_raised"] == 1
    assert screen_days(db_url, D(2026, 3, 9), D(2026, 3, 9), extra_findings=[handed])["recorded"]["new_findings"] == 0
    with engine.connect() as conn:
        [case] = list_cases(conn, rule="contributions_stopped")
        assert case["client_id"] == "C002" and case["evidence"] == ""


def test_late_file_items_are_screened_the_night_they_arrive(db_url):
    """Provider A's file for 3 March arrives on the 4th: the night of the 4th still raises the 3rd's finding."""
    engine = get_engine(db_url)
    with engine.begin() as conn:
        _seed_reference(conn)
        seed_transactions(conn, [txn("C002", "2026-03-02 11:00", "card_purchase", -1000, mcc="5411")])
    assert screen_days(db_url, D(2026, 3, 3), D(2026, 3, 3))["findings_total"] == 0
    with engine.begin() as conn:  # the late file
        seed_transactions(conn, [txn("C002", "2026-03-03 11:00", "cash", -2000, mcc="6011", txn_id="LATE1")])
    s = screen_days(db_url, D(2026, 3, 4), D(2026, 3, 4))
    assert s["rescreened_from"] == "2026-03-01" and s["recorded"]["alerts_raised"] == 1
    with engine.connect() as conn:
        assert conn.execute(select(screening_findings.c.evidence, screening_findings.c.london_date)).one()[0] == "A:LATE1"
    assert screen_days(db_url, D(2026, 3, 5), D(2026, 3, 5))["recorded"]["new_findings"] == 0


def test_a_screen_waits_for_an_ingest_still_committing_and_sees_its_items(db_url):
    """A late file being stored while the night's screening starts: screening waits for the ledger
    writer to commit, then sees its items (else the next night, counting only items stored after this
    run began, would never re-screen them)."""
    engine = get_engine(db_url)
    with engine.begin() as conn:
        _seed_reference(conn)
    # The night of the 5th has been screened.
    assert screen_days(db_url, D(2026, 3, 5), D(2026, 3, 5))["recorded"]["new_findings"] == 0
    writer = engine.connect()
    tx = writer.begin()
    take_ledger_lock(writer)  # an ingest storing the 4th's late file, not yet committed
    seed_transactions(writer, [txn("C002", "2026-03-04 11:00", "cash", -2000, mcc="6011", txn_id="RACE1")])
    result: dict = {}
    t = threading.Thread(target=lambda: result.update(screen_days(db_url, D(2026, 3, 6), D(2026, 3, 6))))
    t.start()
    time.sleep(1.5)
    assert t.is_alive(), "screening must wait for the writer holding the ledger lock"
    tx.commit()
    writer.close()
    t.join(timeout=60)
    assert result["recorded"]["alerts_raised"] == 1  # the late cash item on the 4th, screened the night it landed
