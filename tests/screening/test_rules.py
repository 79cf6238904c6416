"""Each rule on hand-built frames: it fires on its pattern, stays quiet just below the threshold, respects
a per-client override, and its explanation carries the numbers and the evidence ids."""

from __future__ import annotations

import datetime as dt

import pytest

from screening.rules import RULE_NAMES, build_input, names_match, run_rules
from tests.screening.builders import cardholder, event, frame, payee, reference, txn

D = dt.date


def screen(rows, ref, rule, date_from=D(2026, 1, 1), date_to=D(2026, 6, 30)):
    inp = build_input(frame(rows), ref, date_from, date_to, complete_from=D(2025, 10, 1))
    return [f for f in run_rules(inp) if f.rule == rule]


# --- restricted spending --------------------------------------------------------------------------
def test_restricted_mcc_fires_with_numbers_and_policy():
    ref = reference([cardholder("C001")])
    rows = [txn("C001", "2026-03-04 14:00", "card_purchase", -2340, mcc="5921", txn_id="A1"),
            txn("C001", "2026-03-04 15:00", "card_purchase", -2180, mcc="7995", txn_id="A2"),
            txn("C001", "2026-03-04 16:00", "card_purchase", -1800, mcc="5411", txn_id="A3")]
    [f] = screen(rows, ref, "restricted_mcc")
    assert f.evidence_txn_ids == ("A:A1", "A:A2")
    assert "£45.20" in f.explanation and "alcohol (MCC 5921) £23.40" in f.explanation and "gambling (MCC 7995) £21.80" in f.explanation
    assert f.policy.startswith("Testshire restricted_mcc_groups: alcohol")
    assert f.override is None and f.amount_pence == 4520 and f.london_date == D(2026, 3, 4)


def test_restricted_mcc_quiet_on_permitted_mcc_and_client_exception():
    ref = reference([cardholder("C001"), cardholder("C002")], thresholds='{allowed_mcc_by_client: {C001: ["5921", "gambling"]}}')
    rows = [txn("C001", "2026-03-04 14:00", "card_purchase", -2340, mcc="5921"),
            txn("C001", "2026-03-04 14:30", "card_purchase", -500, mcc="7995"),
            txn("C002", "2026-03-04 14:00", "card_purchase", -2340, mcc="5921", txn_id="B1"),
            txn("C002", "2026-03-05 14:00", "card_purchase", -2340, mcc="5411")]
    found = screen(rows, ref, "restricted_mcc")
    assert [f.client_id for f in found] == ["C002"]
    rows.append(txn("C001", "2026-03-06 10:00", "card_purchase", -900, mcc="5993", txn_id="T1"))  # tobacco: not excepted
    [f1] = [f for f in screen(rows, ref, "restricted_mcc") if f.client_id == "C001"]
    assert f1.evidence_txn_ids == ("A:T1",) and "allowed MCC" in f1.override and "5921" in f1.override


def test_unapproved_payee_explains_changed_account_vs_unknown():
    ref = reference([cardholder("C002")], payees=[payee("C002", "MARY JONES", "402715", "87654321")])
    rows = [txn("C002", "2026-03-03 10:00", "payment_to_payee", -24000, payee=("MARY JONES", "402715", "87654321")),
            txn("C002", "2026-03-04 10:00", "payment_to_payee", -24000, payee=("Jones M", "402715", "11112222"), txn_id="P2"),
            txn("C002", "2026-03-05 10:00", "payment_to_payee", -5000, payee=("PETER SMITH", "401010", "33334444"), txn_id="P3")]
    found = screen(rows, ref, "unapproved_payee")
    assert [f.london_date for f in found] == [D(2026, 3, 4), D(2026, 3, 5)]
    assert "account changed for a known payee name" in found[0].explanation and "ending 2222" in found[0].explanation
    assert "unknown payee" in found[1].explanation and "£50.00" in found[1].explanation
    for f in found:  # least personal data: no payee names, no full account numbers
        assert "JONES" not in f.explanation.upper() and "SMITH" not in f.explanation.upper()
        assert "11112222" not in f.explanation and "33334444" not in f.explanation


def test_unapproved_payee_approval_dates():
    ref = reference([cardholder("C002")], payees=[payee("C002", "MARY JONES", "402715", "87654321", approved_to=D(2026, 2, 28))])
    ok = txn("C002", "2026-02-28 10:00", "payment_to_payee", -24000, payee=("MARY JONES", "402715", "87654321"))
    late = txn("C002", "2026-03-07 10:00", "payment_to_payee", -24000, payee=("MARY JONES", "402715", "87654321"))
    [f] = screen([ok, late], ref, "unapproved_payee")
    assert f.london_date == D(2026, 3, 7) and "approval ended 2026-02-28" in f.explanation


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [("MARY JONES", "Jones M", True), ("MARY JONES", "jones, mary", True), ("M. Jones", "MARY JONES", True),
     ("MARY JONES", "MARK JONES", False), ("MARY JONES", "PETER SMITH", False), ("O'BRIEN SEAN", "Sean OBrien", True),
     ("", "MARY JONES", False)],
)
def test_names_match_is_tolerant_but_not_loose(a, b, same):
    assert names_match(a, b) is same
    assert names_match(b, a) is same


def test_cash_not_allowed_and_allowed():
    ref = reference([cardholder("C001", cash_allowed=False), cardholder("C002", cash_allowed=True)])
    rows = [txn("C001", "2026-03-04 11:00", "cash", -2000, mcc="6011", txn_id="X1"),
            txn("C002", "2026-03-04 11:00", "cash", -2000, mcc="6011")]
    [f] = screen(rows, ref, "cash_not_allowed")
    assert f.client_id == "C001" and "£20.00" in f.explanation and f.evidence_txn_ids == ("A:X1",)


def test_cash_over_limit_crossing_day_and_just_below():
    ref = reference([cardholder("C001", cash_allowed=True, cash_weekly_limit_pence=5000)])
    first = txn("C001", "2026-03-02 11:00", "cash", -3000, mcc="6011", txn_id="W1")  # Monday
    exact = txn("C001", "2026-03-04 11:00", "cash", -2000, mcc="6011", txn_id="W2")  # £50 = the limit: quiet
    assert screen([first, exact], ref, "cash_over_limit") == []
    over = txn("C001", "2026-03-06 11:00", "cash", -1000, mcc="6011", txn_id="W3")
    [f] = screen([first, exact, over], ref, "cash_over_limit")
    assert f.london_date == D(2026, 3, 6) and f.evidence_txn_ids == ("A:W1", "A:W2", "A:W3")
    assert "£60.00" in f.explanation and "£50.00" in f.explanation and "by £10.00" in f.explanation
    next_week = txn("C001", "2026-03-09 11:00", "cash", -4000, mcc="6011")  # a new week starts from zero
    assert len(screen([first, exact, over, next_week], ref, "cash_over_limit")) == 1


def test_spending_abroad():
    ref = reference([cardholder("C001")])
    rows = [txn("C001", "2026-03-04 11:00", "card_purchase", -1234, mcc="5411", country="ESP", txn_id="F1"),
            txn("C001", "2026-03-04 12:00", "card_purchase", -1000, mcc="5411", country="GBR")]
    [f] = screen(rows, ref, "spending_abroad")
    assert "ESP" in f.explanation and "£12.34" in f.explanation and f.evidence_txn_ids == ("A:F1",)


# --- life events ----------------------------------------------------------------------------------
def test_spend_after_death_not_on_the_day():
    ref = reference([cardholder("C001")], events=[event("C001", "deceased", D(2026, 3, 5))])
    same_day = txn("C001", "2026-03-05 09:00", "card_purchase", -1000, mcc="5411")
    after = txn("C001", "2026-03-09 13:00", "cash", -5000, mcc="6011", txn_id="Z1")
    assert screen([same_day], ref, "spend_after_death") == []
    [f] = screen([same_day, after], ref, "spend_after_death")
    assert f.severity == "critical" and f.london_date == D(2026, 3, 9)
    assert "4 days after" in f.explanation and "£50.00" in f.explanation and "2026-03-05" in f.explanation


def test_spend_in_hospital_inside_stay_only():
    ref = reference([cardholder("C001")], events=[event("C001", "hospital_admission", D(2026, 3, 2)),
                                                 event("C001", "hospital_discharge", D(2026, 3, 9))])
    edge = [txn("C001", "2026-03-02 08:00", "card_purchase", -1000, mcc="5411"),
            txn("C001", "2026-03-09 18:00", "card_purchase", -1000, mcc="5411"),
            txn("C001", "2026-03-05 10:00", "payment_to_payee", -24000, payee=("A B", "111111", "22222222"))]
    assert screen(edge, ref, "spend_in_hospital") == []
    inside = txn("C001", "2026-03-04 10:00", "card_purchase", -3300, mcc="5411", txn_id="H1")
    [f] = screen([*edge, inside], ref, "spend_in_hospital")
    assert f.evidence_txn_ids == ("A:H1",) and "hospital stay from 2026-03-02 until 2026-03-09" in f.explanation


# --- money patterns -------------------------------------------------------------------------------
def _drain(share_spent: int):
    return [txn("C001", "2026-03-02 09:00", "council_load", 42000, txn_id="L1"),
            txn("C001", "2026-03-02 12:00", "cash", -20000, mcc="6011", txn_id="D1"),
            txn("C001", "2026-03-03 09:00", "card_purchase", -(share_spent - 20000), mcc="5732", txn_id="D2"),
            txn("C001", "2026-03-05 09:00", "card_purchase", -30000, mcc="5732")]  # outside 48 h


def test_drain_after_load_fires_and_explains():
    ref = reference([cardholder("C001", cash_allowed=True)])
    [f] = screen(_drain(38000), ref, "drain_after_load")
    assert f.london_date == D(2026, 3, 2) and f.evidence_txn_ids == ("A:D1", "A:D2", "A:L1")
    assert "£380.00 of a £420.00 load" in f.explanation and "within 24 hours" in f.explanation
    assert "1 cash withdrawal" in f.explanation and "80%" in f.explanation


def test_drain_after_load_quiet_just_below_and_override():
    ref = reference([cardholder("C001", cash_allowed=True)])
    assert screen(_drain(33599), ref, "drain_after_load") == []  # 80% of £420 is £336.00
    assert len(screen(_drain(33600), ref, "drain_after_load")) == 1
    strict = reference([cardholder("C001", cash_allowed=True)], thresholds="{client_thresholds: {C001: {drain_share: 0.95}}}")
    assert screen(_drain(38000), strict, "drain_after_load") == []
    [f] = screen(_drain(40000), strict, "drain_after_load")
    assert f.override == "client C001: drain_share=0.95" and "95%" in f.explanation


def _weekly_cash(client: str, weeks: int, pence: int, start=D(2026, 1, 5)):
    return [txn(client, f"{start + dt.timedelta(days=7 * k)} 10:00", "cash", -pence, mcc="6011") for k in range(weeks)]


def test_cash_spike_against_own_history():
    ref = reference([cardholder("C001", cash_allowed=True)])
    history = _weekly_cash("C001", 12, 4000)  # £40 every Monday
    spike = [txn("C001", "2026-03-31 10:00", "cash", -15000, mcc="6011", txn_id="S1"),
             txn("C001", "2026-04-01 10:00", "cash", -10000, mcc="6011", txn_id="S2")]
    [f] = screen(history + spike, ref, "cash_spike")
    assert f.london_date == D(2026, 3, 31) and f.details["detected_on"] == "2026-04-01"
    assert set(f.evidence_txn_ids) == {"A:S1", "A:S2"}
    assert "usual £40.00 a week" in f.explanation and "median of 11 weeks" in f.explanation and "£250.00" in f.explanation
    below = [txn("C001", "2026-03-31 10:00", "cash", -15000, mcc="6011")]  # £150 + £40 < £40 + £200 floor
    assert screen(history + below, ref, "cash_spike") == []


def test_cash_spike_floor_override_and_new_client():
    ref = reference([cardholder("C001", cash_allowed=True)], thresholds="{client_thresholds: {C001: {spike_floor_pence: 50000}}}")
    history = _weekly_cash("C001", 12, 4000)
    spike = [txn("C001", "2026-03-31 10:00", "cash", -25000, mcc="6011")]
    assert screen(history + spike, ref, "cash_spike") == []
    new = reference([cardholder("C009", cash_allowed=True)])
    [f] = screen([txn("C009", "2026-03-31 10:00", "cash", -20000, mcc="6011")], new, "cash_spike")
    assert "new client" in f.explanation


def test_new_payee_burst_and_unapproved_episode():
    ref = reference([cardholder("C001")], payees=[payee("C001", "MARY JONES", "402715", "87654321")])
    new = ("KEV X", "111111", "99998888")
    rows = [txn("C001", f"2026-03-{d:02d} 10:00", "payment_to_payee", -15000, payee=new, txn_id=f"N{d}") for d in (2, 6, 10)]
    [f] = screen(rows, ref, "new_payee_burst")
    assert f.london_date == D(2026, 3, 2) and f.details["detected_on"] == "2026-03-10"
    assert "3 bank payments totalling £450.00" in f.explanation and "ending 8888" in f.explanation
    # Each day's payments to the unknown account are also unapproved_payee findings about the same episode.
    unapproved = sorted(screen(rows, ref, "unapproved_payee"), key=lambda f: f.details["detected_on"])
    assert [f.london_date for f in unapproved] == [D(2026, 3, 2)] * 3
    assert [f.details["detected_on"] for f in unapproved] == ["2026-03-02", "2026-03-06", "2026-03-10"]
    assert "first unapproved payment seen 2026-03-02" in unapproved[2].explanation
    assert screen(rows[:2], ref, "new_payee_burst") == []
    spread = [txn("C001", f"2026-03-{d:02d} 10:00", "payment_to_payee", -15000, payee=new) for d in (2, 9, 16)]
    assert screen(spread, ref, "new_payee_burst") == []  # 14 days apart: not within the window
    four = reference([cardholder("C001")], thresholds="{client_thresholds: {C001: {new_payee_burst_count: 4}}}")
    assert screen(rows, four, "new_payee_burst") == []


def test_new_payee_burst_skips_established_approved_payee():
    ref = reference([cardholder("C001")], payees=[payee("C001", "MARY JONES", "402715", "87654321")])
    rows = [txn("C001", f"2026-03-{d:02d} 10:00", "payment_to_payee", -15000, payee=("MARY JONES", "402715", "87654321")) for d in (2, 4, 6, 8)]
    assert screen(rows, ref, "new_payee_burst") == []


def test_dormant_card():
    ref = reference([cardholder("C001")])
    rows = [txn("C001", "2026-03-01 10:00", "card_purchase", -1000, mcc="5411"),
            txn("C001", "2026-03-10 09:00", "council_load", 112000, txn_id="L9")]
    assert screen(rows, ref, "dormant_card", date_to=D(2026, 3, 28)) == []  # 27 silent days
    [f] = screen(rows, ref, "dormant_card", date_to=D(2026, 3, 29))
    assert f.london_date == D(2026, 3, 2) and f.details["detected_on"] == "2026-03-29" and f.evidence_txn_ids == ("A:L9",)
    assert "28 days" in f.explanation and "£1,120.00" in f.explanation
    later = rows + [txn("C001", "2026-03-20 10:00", "card_purchase", -1000, mcc="5411")]
    assert screen(later, ref, "dormant_card", date_to=D(2026, 3, 29)) == []
    longer = reference([cardholder("C001")], thresholds="{client_thresholds: {C001: {dormant_days: 42}}}")
    assert screen(rows, longer, "dormant_card", date_to=D(2026, 4, 11)) == []
    assert len(screen(rows, longer, "dormant_card", date_to=D(2026, 4, 12))) == 1


def test_dormant_card_explained_by_hospital_stay():
    ref = reference([cardholder("C001")], events=[event("C001", "hospital_admission", D(2026, 3, 5))])
    rows = [txn("C001", "2026-03-01 10:00", "card_purchase", -1000, mcc="5411"),
            txn("C001", "2026-03-10 09:00", "council_load", 112000)]
    assert screen(rows, ref, "dormant_card", date_to=D(2026, 4, 30)) == []


def test_unusual_hours():
    ref = reference([cardholder("C001")])
    nights = [txn("C001", f"2026-03-0{d} 02:30", "card_purchase", -1500, mcc="5499", txn_id=f"U{d}") for d in (2, 4)]
    assert screen(nights, ref, "unusual_hours") == []
    third = txn("C001", "2026-03-06 04:59", "card_purchase", -1500, mcc="5499", txn_id="U6")
    fivE = txn("C001", "2026-03-06 05:00", "card_purchase", -1500, mcc="5499")  # 05:00 is not night
    [f] = screen([*nights, third, fivE], ref, "unusual_hours")
    assert f.evidence_txn_ids == ("A:U2", "A:U4", "A:U6") and "3 card uses totalling £45.00" in f.explanation
    wide = reference([cardholder("C001")], thresholds="{client_thresholds: {C001: {unusual_hours_min_count: 4}}}")
    assert screen([*nights, third], wide, "unusual_hours") == []


def test_velocity():
    ref = reference([cardholder("C001")])
    burst = [txn("C001", f"2026-03-04 14:{m:02d}", "card_purchase", -500, mcc="5411", txn_id=f"V{m}") for m in range(0, 56, 8)]
    assert len(burst) == 7 and screen(burst, ref, "velocity") == []
    eighth = txn("C001", "2026-03-04 14:59", "card_purchase", -500, mcc="5411", txn_id="V59")
    [f] = screen([*burst, eighth], ref, "velocity")
    assert len(f.evidence_txn_ids) == 8 and "8 card uses" in f.explanation and "£40.00" in f.explanation
    slow = [txn("C001", f"2026-03-04 {10 + m // 60}:{m % 60:02d}", "card_purchase", -500, mcc="5411") for m in range(0, 80, 10)]
    assert screen(slow, ref, "velocity") == []  # 8 uses over 70 minutes
    nine = reference([cardholder("C001")], thresholds="{client_thresholds: {C001: {velocity_count: 9}}}")
    assert screen([*burst, eighth], nine, "velocity") == []


def test_b_authorisation_and_clearing_count_once():
    """Provider B sends an authorisation and its clearing as two events: the spend counts once, at the auth time."""
    ref = reference([cardholder("C001", cash_allowed=True)])
    rows = [txn("C001", "2026-03-02 09:00", "council_load", 42000, provider="B", txn_id="b-load"),
            txn("C001", "2026-03-02 10:00", "card_purchase", -20000, mcc="5732", status="pending", provider="B", txn_id="b-auth"),
            txn("C001", "2026-03-04 23:00", "card_purchase", -20000, mcc="5732", provider="B", txn_id="b-clear", related="b-auth")]
    assert screen(rows, ref, "drain_after_load") == []  # £200 of £420 is below 80%, not £400
    rows.append(txn("C001", "2026-03-02 11:00", "card_purchase", -14000, mcc="5732", provider="B", txn_id="b-2"))
    [f] = screen(rows, ref, "drain_after_load")  # cleared 2 days later, but used 1 hour after the load
    assert set(f.evidence_txn_ids) == {"B:b-load", "B:b-clear", "B:b-2"}


def test_every_rule_is_named_like_the_simulator():
    assert set(RULE_NAMES) == {
        "restricted_mcc", "unapproved_payee", "cash_not_allowed", "cash_over_limit", "spending_abroad", "spend_after_death",
        "spend_in_hospital", "drain_after_load", "cash_spike", "new_payee_burst", "dormant_card", "unusual_hours", "velocity",
    }


def test_dormant_card_counts_from_the_posting_day():
    """A purchase used on 1 March and posted on 3 March: the card's money last moved on the 3rd."""
    ref = reference([cardholder("C001")])
    rows = [txn("C001", "2026-03-01 10:00", "card_purchase", -1000, mcc="5411", status="pending", provider="B", txn_id="auth"),
            txn("C001", "2026-03-03 06:00", "card_purchase", -1000, mcc="5411", provider="B", txn_id="clear", related="auth"),
            txn("C001", "2026-03-10 09:00", "council_load", 112000, provider="B")]
    assert screen(rows, ref, "dormant_card", date_to=D(2026, 3, 30)) == []
    [f] = screen(rows, ref, "dormant_card", date_to=D(2026, 3, 31))
    assert f.london_date == D(2026, 3, 4) and f.details["detected_on"] == "2026-03-31"
