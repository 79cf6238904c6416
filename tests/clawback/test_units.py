"""Goal: the small pure pieces behave as documented — weeks, references, instruction files, matching."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from clawback import calc
from clawback.instructions import (
    Instruction,
    UnloadSeen,
    match_unloads,
    overdue,
    reference_for,
    render_a,
    render_b,
    render_c,
)

D = dt.date


def test_week_bounds_and_bad_weeks():
    assert calc.week_bounds("2026-W10") == (D(2026, 3, 2), D(2026, 3, 8))
    assert calc.iso_week_of(D(2026, 3, 8)) == "2026-W10"
    for bad in ("2026-10", "2026-W54", "W10", ""):
        with pytest.raises(ValueError):
            calc.week_bounds(bad)


def test_expected_part_weeks_round_down_and_respect_card_dates():
    rate = calc.ContributionRate(3533, D(2026, 3, 4), D(2026, 3, 10))
    assert calc.expected_for_week([rate], D(2026, 3, 2)) == 3533 * 5 // 7 == 2523
    assert calc.expected_for_week([rate], D(2026, 3, 9)) == 3533 * 2 // 7 == 1009
    assert calc.expected_for_week([rate], D(2026, 3, 2), closed=D(2026, 3, 5)) == 3533 * 2 // 7
    # a rate change mid-week: both parts, each pro-rata
    two = [calc.ContributionRate(700, D(2026, 1, 1), D(2026, 3, 3)), calc.ContributionRate(1400, D(2026, 3, 4), None)]
    assert calc.expected_for_week(two, D(2026, 3, 2)) == 200 + 1000


def test_reference_matching_allows_typos_not_strangers():
    assert calc.reference_matches("contrib 0442817", "CONTRIB 0442817")
    assert calc.reference_matches("CONTRIB-442817", "CONTRIB 0442817")
    assert calc.reference_matches("CONTRIB 0442871", "CONTRIB 0442817")  # transposed digits
    assert not calc.reference_matches("RENT MARCH", "CONTRIB 0442817")
    assert not calc.reference_matches("CONTRIB 0999999", "CONTRIB 0442817")
    assert not calc.reference_matches("AB1", "AB2")
    assert not calc.reference_matches(None, "CONTRIB 0442817")


def test_match_contributions_by_reference_and_payer():
    items = [
        calc.MoneyIn("A:1", D(2026, 3, 2), 3533, "contribution", "CONTRIB 0442817", "309634:12345678"),
        calc.MoneyIn("A:2", D(2026, 3, 9), 3533, "other_money_in", "CONTRIB 044281", "999999:11111111"),
        calc.MoneyIn("A:3", D(2026, 3, 16), 3533, "other_money_in", "SO", "309634:12345678"),
        calc.MoneyIn("A:4", D(2026, 3, 16), 5000, "other_money_in", "BIRTHDAY", "555555:22222222"),
    ]
    got = {i.txn_id: basis for i, basis in calc.match_contributions(items, ["CONTRIB 0442817"])}
    assert got == {"A:1": "classified", "A:2": "reference", "A:3": "payer_account"}


def _ins(provider="A", account="10442817", amount=36751, issued=D(2026, 3, 4), iid="T:2026-W10:A:10442817"):
    return Instruction(iid, "Testshire", "2026-W10", "C1", provider, account, amount, reference_for("2026-W10", account), issued)


def test_instruction_files_follow_each_provider_format():
    a = render_a([_ins()]).decode()
    assert a.split("\r\n")[0] == "Account Number,Amount,Reference"
    assert list(csv.reader(io.StringIO(a)))[1] == ["10442817", "367.51", "CB 2026-W10 2817"]
    b = json.loads(render_b([_ins("B", "ct_19a0", 2350)]).decode().splitlines()[0])
    assert b["type"] == "gpa.debit" and b["card_token"] == "ct_19a0" and b["amount_minor"] == 2350 and b["memo"] == "CB 2026-W10 19a0"
    c = json.loads(render_c([_ins("C", "acc-77", 100_005)], "401122", "90001234", "Testshire"))
    init = c["Data"]["DomesticPayments"][0]["Initiation"]
    assert init["InstructedAmount"] == {"Amount": "1000.05", "Currency": "GBP"}
    assert init["CreditorAccount"]["Identification"] == "40112290001234"
    assert init["DebtorAccount"]["Identification"] == "acc-77"
    assert init["RemittanceInformation"]["Reference"] == "CB 2026-W10 c-77"


def test_matching_needs_card_amount_date_and_reference_where_given():
    ins = _ins()
    good = UnloadSeen("U1", "A", "10442817", D(2026, 3, 5), 36751, "CB 2026-W10 2817")
    no_ref = UnloadSeen("U2", "A", "10442817", D(2026, 3, 5), 36751, None)
    wrong_ref = UnloadSeen("U3", "A", "10442817", D(2026, 3, 5), 36751, "SOMETHING ELSE")
    wrong_amount = UnloadSeen("U4", "A", "10442817", D(2026, 3, 5), 36750, "CB 2026-W10 2817")
    too_early = UnloadSeen("U5", "A", "10442817", D(2026, 3, 3), 36751, "CB 2026-W10 2817")
    assert match_unloads([ins], [good], set())[ins.instruction_id].txn_id == "U1"
    assert match_unloads([ins], [no_ref], set())[ins.instruction_id].txn_id == "U2"
    assert match_unloads([ins], [wrong_ref, wrong_amount, too_early], set()) == {}
    assert match_unloads([ins], [good], {("A", "U1")}) == {}  # already used by another instruction
    assert overdue([ins], D(2026, 3, 14), 10) == [] and overdue([ins], D(2026, 3, 15), 10) == [ins]


def test_schedule_files_xlsx_currency_autofilter_and_csv_bom(tmp_path):
    import openpyxl

    from clawback.schedule import COLUMNS, write_schedule

    line = {
        "client_id": "C1", "provider": "A", "account_id": "10442817", "balance_pence": 230_000, "council_part_pence": 230_000,
        "client_part_pence": 0, "contingency_weeks": 6, "contingency_pence": 168_000, "commitments_pence": 24_000,
        "holds_pence": 1_249, "surplus_pence": 36_751, "client_excess_pence": 0, "amount_to_recover_pence": 36_751,
        "outcome": "recover", "reason": None,
    }
    other = {**line, "client_id": "C0", "account_id": "ct_19a0", "provider": "B", "amount_to_recover_pence": 0,
             "outcome": "excluded", "reason": "open safeguarding case (case 1, drain_after_load, open)"}
    paths = write_schedule([line, other], tmp_path, council="Test shire", iso_week="2026-W10", summary={"Total (£)": 36_751})
    raw = paths["csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [h for h, _, _ in COLUMNS]
    assert rows[1][0] == "C0" and rows[1][-1].startswith("open safeguarding case")  # sorted by client
    assert rows[2][3] == "2300.00" and rows[2][12] == "367.51"
    ws = openpyxl.load_workbook(paths["xlsx"])["Schedule"]
    assert ws.auto_filter.ref == "A1:O3"
    recover_col = [h for h, _, _ in COLUMNS].index("Amount to recover") + 1
    cell = ws.cell(row=3, column=recover_col)
    assert cell.value == 367.51 and "£" in cell.number_format
    assert paths["xlsx"].name == "clawback_schedule_Test_shire_2026-W10.xlsx"
