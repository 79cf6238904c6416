"""Goal: each council file's suite (built from schemas/reference.py) catches duplicate keys, dates out
of order, bad choices, malformed bank details and negative money, naming the row and line."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from feeds.validation import validate_reference
from feeds.validation.reference import date_pairs, reference_checks
from schemas.reference import REFERENCE_BY_NAME, REFERENCE_FILES
from tests.validation.frames import cardholder, reference_frame


def test_clean_cardholders_pass():
    frame = reference_frame("cardholders.csv", [cardholder("C1"), cardholder("C2", account_id="10442999", closed=dt.date(2026, 1, 1))])
    report = validate_reference("cardholders.csv", frame)
    assert report.success and report.bad_row_indices == set() and report.warnings == []
    assert report.suite_name == "reference_cardholders"
    assert not any(r["exception_info"].get("raised_exception") for r in report.results["results"])


@pytest.mark.parametrize("spec", REFERENCE_FILES, ids=[s.file_name for s in REFERENCE_FILES])
def test_every_reference_file_has_a_suite_that_runs_on_an_empty_extract(spec):
    names = {c.name for c in reference_checks(spec)}
    assert "key_unique" in names
    assert {f"{c.stored_name}_present" for c in spec.columns if c.required} <= names
    report = validate_reference(spec.file_name, pl.DataFrame(schema=spec.schema))
    assert report.success and report.rows == 0


def test_date_pairs_come_from_the_declarations():
    assert date_pairs(REFERENCE_BY_NAME["cardholders.csv"]) == [("opened", "closed")]
    assert date_pairs(REFERENCE_BY_NAME["payees.csv"]) == [("approved_from", "approved_to")]
    assert date_pairs(REFERENCE_BY_NAME["contributions.csv"]) == [("effective_from", "effective_to")]


def test_duplicate_key_and_closed_before_opened_name_rows_and_lines():
    frame = reference_frame(
        "cardholders.csv",
        [cardholder("C1"), cardholder("C2", closed=dt.date(2025, 1, 1)), cardholder("C1", account_id="10449999")],
    )
    report = validate_reference("cardholders.csv", frame)
    assert not report.success
    assert report.reasons_by_row == {
        0: "line 2: duplicate key client_id=C1",
        1: "line 3: closed 2025-01-01 is before opened 2025-04-01",
        2: "line 4: duplicate key client_id=C1",
    }


def test_bad_choice_and_negative_money():
    frame = reference_frame(
        "cardholders.csv",
        [cardholder("C1", contribution_model="half"), cardholder("C2", weekly_budget_pence=-100), cardholder("C3")],
    )
    report = validate_reference("cardholders.csv", frame)
    assert report.reasons_by_row == {
        0: "line 2: contribution_model 'half' is not one of net, gross, none",
        1: "line 3: weekly_budget -£1.00 is negative",
    }


def _payee(**o) -> dict:
    row = {
        "client_id": "C1",
        "payee_name": "MARY JONES",
        "sort_code": "402715",
        "account_number": "87654321",
        "kind": "personal_assistant",
        "approved_from": dt.date(2026, 1, 1),
        "approved_to": None,
    }
    return row | o


def test_payees_compound_key_dates_and_bank_detail_format():
    frame = reference_frame(
        "payees.csv",
        [
            _payee(),
            _payee(approved_to=dt.date(2025, 12, 31)),  # same key as row 0, and ends before it starts
            _payee(sort_code="40-27-15", approved_from=dt.date(2026, 2, 1)),
            _payee(account_number="8765432", approved_from=dt.date(2026, 3, 1)),
            _payee(approved_from=dt.date(2026, 4, 1), approved_to=dt.date(2026, 4, 1)),  # one-day approval is fine
        ],
    )
    report = validate_reference("payees.csv", frame)
    assert report.bad_row_indices == {0, 1, 2, 3}
    key = "duplicate key client_id=C1, sort_code=402715, account_number=87654321, approved_from=2026-01-01"
    assert report.reasons_by_row[0] == f"line 2: {key}"
    assert set(report.reasons_by_row[1].removeprefix("line 3: ").split("; ")) == {
        key, "approved_to 2025-12-31 is before approved_from 2026-01-01"
    }
    assert report.reasons_by_row[2] == "line 4: sort_code does not have the expected form \\d{6}"
    assert report.reasons_by_row[3] == "line 5: account_number does not have the expected form \\d{8}"
    assert "8765432" not in report.reasons_by_row[3]  # a bank account number is not echoed


def test_contributions_effective_dates_and_unknown_file():
    frame = reference_frame(
        "contributions.csv",
        [
            {"client_id": "C1", "weekly_amount_pence": 3533, "effective_from": dt.date(2026, 1, 5),
             "effective_to": dt.date(2026, 1, 4), "reference": "CONTRIB 1"},
            {"client_id": "C1", "weekly_amount_pence": 3600, "effective_from": dt.date(2026, 4, 6), "effective_to": None,
             "reference": "CONTRIB 1"},
        ],
    )
    report = validate_reference("contributions.csv", frame)
    assert report.reasons_by_row == {0: "line 2: effective_to 2026-01-04 is before effective_from 2026-01-05"}
    with pytest.raises(ValueError, match="not a council reference file"):
        validate_reference("councils.yaml", frame)
