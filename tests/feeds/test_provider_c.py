"""Goal: Provider C's Open Banking bodies read as the specification writes them — the spec's own
examples parse — with the kind inferred from merchant, creditor/debtor and bank codes, sort code +
account identifiers split (and never mistaken for card numbers), and a broken document refused."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from feeds.readers import FileRefused, read_provider_file
from tests.feeds.files import c_txn, write_c

OBIE = Path("/work/shared/reference/obie")
SCHEME = "UK.OBIE.SortCodeAccountNumber"
UTC = dt.UTC


def _rows(result):
    return {r["provider_txn_id"]: r for r in result.transactions.iter_rows(named=True)}


def test_specification_transactions_example_parses(tmp_path):
    path = tmp_path / "C_transactions_20170405.json"
    shutil.copy(OBIE / "transactions-example.json", path)
    result = read_provider_file(path)
    assert result.quarantine.height == 0 and not result.incidents
    rows = _rows(result)
    credit, debit = rows["123"], rows["567"]
    assert (credit["account_id"], credit["kind"], credit["status"], credit["amount_pence"]) == ("22289", "other_money_in", "settled", 1000)
    assert credit["occurred_at_utc"] == dt.datetime(2017, 4, 5, 10, 43, 7, tzinfo=UTC)
    assert (credit["london_date"], credit["posted_date"], credit["reference"]) == (dt.date(2017, 4, 5), dt.date(2017, 4, 5), "Ref 123")
    assert credit["balance_after_pence"] == 23000
    assert (debit["account_id"], debit["kind"], debit["amount_pence"], debit["balance_after_pence"]) == ("31820", "payment_to_payee", -10000, -5736)
    assert result.transactions["source_line"].to_list() == [1, 2]


def test_specification_balances_example_parses(tmp_path):
    path = tmp_path / "C_balances_20170405.json"
    shutil.copy(OBIE / "balances-example.json", path)
    result = read_provider_file(path)
    # The example holds only intraday (Interim*) balances: no closing balance, nothing wrong either.
    assert result.balances.height == 0 and result.quarantine.height == 0


def test_closing_booked_balances_with_sign_and_london_date(tmp_path):
    doc = json.loads((OBIE / "balances-example.json").read_text())
    doc["Data"]["Balance"] += [
        {"AccountId": "acc-001", "Amount": {"Amount": "1345.88", "Currency": "GBP"}, "CreditDebitIndicator": "Credit",
         "Type": "ClosingBooked", "DateTime": "2026-07-02T23:30:00+00:00"},  # 00:30 BST on 3 July
        {"AccountId": "acc-001", "Amount": {"Amount": "1300.00", "Currency": "GBP"}, "CreditDebitIndicator": "Credit",
         "Type": "ClosingAvailable", "DateTime": "2026-07-02T23:30:00+00:00"},
        {"AccountId": "acc-002", "Amount": {"Amount": "3.01", "Currency": "GBP"}, "CreditDebitIndicator": "Debit",
         "Type": "ClosingBooked", "DateTime": "2026-07-02T20:00:00Z"},
        {"AccountId": "acc-003", "Amount": {"Amount": "3.01", "Currency": "USD"}, "CreditDebitIndicator": "Debit",
         "Type": "ClosingBooked", "DateTime": "2026-07-02T20:00:00Z"},
    ]
    path = tmp_path / "C_balances_20260702.json"
    path.write_text(json.dumps(doc))
    result = read_provider_file(path)
    assert result.balances.select("account_id", "balance_date", "closing_balance_pence", "available_balance_pence").rows() == [
        ("acc-001", dt.date(2026, 7, 3), 134_588, 130_000),
        ("acc-002", dt.date(2026, 7, 2), -301, None),
    ]
    assert result.quarantine["source_line"].to_list() == [6] and "not GBP" in result.quarantine["reason"][0]


def test_kinds_payees_and_lifecycle(tmp_path):
    items = [
        c_txn("t1", "12.49", mcc="5912", merchant="BOOTS 1123", status="Pending"),
        c_txn("t1", "12.30", mcc="5912", merchant="BOOTS 1123", booked="2026-03-03T09:00:00+00:00"),  # settles for less
        c_txn("t2", "50.00", mcc="6011", merchant="LINK ATM"),
        c_txn("t3", "240.00", creditor=(SCHEME, "40271587654321", "MARY JONES"), reference="PA WAGES WK9"),
        c_txn("t4", "1120.00", "Credit", debtor=(SCHEME, "40112290001234", "TESTSHIRE CC"), reference="DP-0442817-2026-03"),
        c_txn("t5", "4.99", "Credit", mcc="5912", merchant="BOOTS 1123"),
        c_txn("t6", "1.50", code="Fee"),
    ]
    result = read_provider_file(write_c(tmp_path, items))
    got = [(r["provider_txn_id"], r["kind"], r["status"], r["amount_pence"]) for r in result.transactions.iter_rows(named=True)]
    assert got == [
        ("t1", "card_purchase", "pending", -1249),
        ("t1", "card_purchase", "settled", -1230),
        ("t2", "cash", "settled", -5000),
        ("t3", "payment_to_payee", "settled", -24000),
        ("t4", "other_money_in", "settled", 112_000),  # classify makes it a council load (funding account)
        ("t5", "refund", "settled", 499),
        ("t6", "fee", "settled", -150),
    ]
    rows = result.transactions.filter(result.transactions["provider_txn_id"].is_in(["t3", "t4"])).rows(named=True)
    assert [(r["payee_name"], r["payee_sort_code"], r["payee_account_number"]) for r in rows] == [
        ("MARY JONES", "402715", "87654321"),
        ("TESTSHIRE CC", "401122", "90001234"),
    ]
    pending = result.transactions.row(0, named=True)
    assert pending["posted_date"] is None


def test_luhn_valid_sort_code_account_identification_is_not_a_pan(tmp_path):
    ident = "40271587654321"
    from feeds.readers.pan import luhn_ok

    luhn_valid = next(ident[:13] + str(d) for d in range(10) if luhn_ok(ident[:13] + str(d)))
    items = [
        c_txn("t1", "10.00", creditor=(SCHEME, luhn_valid, "PA ONE")),
        c_txn("t2", "10.00", creditor=("UK.OBIE.PAN", "4111111111111111", "CARD")),
        c_txn("t3", "10.00", info="card 4111 1111 1111 1111 used"),
    ]
    result = read_provider_file(write_c(tmp_path, items))
    rows = _rows(result)
    assert rows["t1"]["payee_account_number"] == luhn_valid[6:]
    assert [(i.source_line, i.field) for i in result.incidents] == [(2, "CreditorAccount.Identification"), (3, "TransactionInformation")]
    assert all("4111111111111111" not in i.description and "1111" in i.description for i in result.incidents)


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (c_txn("x", "10.00", currency="EUR"), "Currency 'EUR' is not GBP"),
        (c_txn("x", "10.001"), "not a whole, non-negative number of pence"),
        (c_txn("x", "ten"), "is not a decimal amount"),
        (c_txn("x", "10.00", status="Rejected"), "Status 'Rejected' is not Booked or Pending"),
        (c_txn("x", "10.00", booked="yesterday"), "BookingDateTime 'yesterday' is not an ISO 8601"),
        (c_txn("", "10.00"), "TransactionId is missing"),
        (c_txn("x", "10.00", mcc="59"), "MerchantCategoryCode '59' is not 4 digits"),
        (c_txn("x", "10.00", creditor=(SCHEME, "12345", "X")), "is not 6 + 8 digits"),
    ],
)
def test_bad_items_are_quarantined_by_index(tmp_path, item, reason):
    result = read_provider_file(write_c(tmp_path, [c_txn("ok", "1.00"), item, c_txn("ok2", "2.00")]))
    assert result.transactions["provider_txn_id"].to_list() == ["ok", "ok2"]
    assert result.quarantine["source_line"].to_list() == [2]
    assert reason in result.quarantine["reason"][0], result.quarantine["reason"][0]


@pytest.mark.parametrize(
    ("content", "found"),
    [
        ('{"Data": {"Transaction": [{"AccountId": "22289", "Trans', "truncated"),
        ('{"Data": {"Transaction": [}', "invalid JSON"),
        ('{"Links": {}}', "no 'Data' object"),
        ('{"Data": {"Balance": []}}', "no 'Data.Transaction' list"),
        ("", "an empty file"),
    ],
)
def test_broken_documents_are_refused(tmp_path, content, found):
    path = tmp_path / "C_transactions_20260302.json"
    path.write_text(content)
    with pytest.raises(FileRefused) as exc:
        read_provider_file(path)
    assert found in str(exc.value) and path.name in str(exc.value)
