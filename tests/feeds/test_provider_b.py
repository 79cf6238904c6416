"""Goal: Provider B's event stream maps every type and state onto the canonical lifecycle, survives
at-least-once delivery, and tells truncation (refuse the file) from one corrupt line (quarantine it)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from feeds.readers import FileRefused, read_provider_file
from tests.feeds.files import b_line, write_b

UTC = dt.UTC


def _rows(result):
    return {r["provider_txn_id"]: r for r in result.transactions.iter_rows(named=True)}


def test_feeds_md_example_pending_then_completion_with_another_amount(tmp_path):
    lines = [
        b_line("b-7f3a", "authorization", "PENDING", 2350, "2026-03-03T18:22:05Z"),
        b_line("b-7f9c", "authorization.clearing", "COMPLETION", 2310, "2026-03-04T02:10:44Z", settlement="2026-03-04",
               related="b-7f3a", balance=48720),
    ]
    rows = _rows(read_provider_file(write_b(tmp_path, lines)))
    auth, clearing = rows["b-7f3a"], rows["b-7f9c"]
    assert (auth["kind"], auth["status"], auth["amount_pence"], auth["posted_date"]) == ("card_purchase", "pending", -2350, None)
    assert (auth["merchant_name"], auth["mcc"], auth["merchant_country"]) == ("TESCO STORES 2041", "5411", "GBR")
    assert (clearing["status"], clearing["amount_pence"], clearing["related_txn_id"]) == ("settled", -2310, "b-7f3a")
    assert clearing["posted_date"] == dt.date(2026, 3, 4) and clearing["balance_after_pence"] == 48720
    assert clearing["occurred_at_utc"] == dt.datetime(2026, 3, 4, 2, 10, 44, tzinfo=UTC)


@pytest.mark.parametrize(
    ("etype", "state", "kind", "status", "sign"),
    [
        ("gpa.credit", "COMPLETION", "council_load", "settled", 1),
        ("gpa.debit", "COMPLETION", "unload", "settled", -1),
        ("transfer.in", "COMPLETION", "other_money_in", "settled", 1),
        ("transfer.out", "COMPLETION", "payment_to_payee", "settled", -1),
        ("refund", "COMPLETION", "refund", "settled", 1),
        ("pindebit.atm", "COMPLETION", "cash", "settled", -1),
        ("fee.charge", "COMPLETION", "fee", "settled", -1),
        ("chargeback.credit", "COMPLETION", "chargeback", "settled", 1),
        ("adjustment.credit", "COMPLETION", "adjustment", "settled", 1),
        ("adjustment.debit", "COMPLETION", "adjustment", "settled", -1),
        ("authorization", "DECLINED", "card_purchase", "declined", -1),
        ("authorization.release", "CLEARED", "card_purchase", "released", -1),
        ("authorization.reversal", "CLEARED", "card_purchase", "released", -1),
        ("authorization.reversal", "COMPLETION", "reversal", "settled", 1),
    ],
)
def test_type_and_state_mapping(tmp_path, etype, state, kind, status, sign):
    result = read_provider_file(write_b(tmp_path, [b_line("t1", etype, state, 1234, related="t0")]))
    r = result.transactions.row(0, named=True)
    assert (r["kind"], r["status"], r["amount_pence"]) == (kind, status, sign * 1234)
    assert r["related_txn_id"] == "t0"


def test_release_names_the_hold_and_force_post_has_no_authorisation(tmp_path):
    lines = [
        b_line("auth1", "authorization", "PENDING", 500),
        b_line("rel1", "authorization.release", "CLEARED", 500, "2026-03-02T20:00:00Z", related="auth1"),
        b_line("force1", "authorization.clearing", "COMPLETION", 799, "2026-03-02T21:00:00Z", settlement="2026-03-03"),
        b_line("atm-auth", "authorization", "PENDING", 2000, mcc="6011"),
    ]
    rows = _rows(read_provider_file(write_b(tmp_path, lines)))
    assert (rows["rel1"]["status"], rows["rel1"]["related_txn_id"]) == ("released", "auth1")
    assert (rows["force1"]["status"], rows["force1"]["related_txn_id"], rows["force1"]["amount_pence"]) == ("settled", None, -799)
    assert rows["atm-auth"]["kind"] == "cash"  # an authorisation at an ATM holds cash


def test_transfer_in_counterparty_and_memo(tmp_path):
    line = b_line("tin", "transfer.in", "COMPLETION", 3533, mcc=None, memo="CONTRIB 0019",
                  counterparty={"name": "J SMITH", "sort_code": "30-96-34", "account_number": "12345678"})
    r = read_provider_file(write_b(tmp_path, [line])).transactions.row(0, named=True)
    assert (r["payee_name"], r["payee_sort_code"], r["payee_account_number"], r["reference"]) == ("J SMITH", "309634", "12345678", "CONTRIB 0019")
    assert r["mcc"] is None and r["merchant_name"] is None


def test_exact_repeats_are_dropped_quietly_and_conflicts_quarantined(tmp_path):
    a = b_line("dup", "authorization", "PENDING", 100)
    lines = [a, a, b_line("c1", "refund", "COMPLETION", 100), b_line("c1", "refund", "COMPLETION", 900), a]
    result = read_provider_file(write_b(tmp_path, lines))
    assert result.transactions["provider_txn_id"].to_list() == ["dup"]
    assert result.quarantine["source_line"].to_list() == [3, 4]
    assert all("token c1 appears on lines 3, 4" in r for r in result.quarantine["reason"])


def test_truncated_last_line_refuses_the_file(tmp_path):
    good = b_line("ok", "authorization", "PENDING", 100)
    path = write_b(tmp_path, [good, '{"token": "b-1", "card_token": "ct_19a0", "ty'], final_newline=False)
    with pytest.raises(FileRefused) as exc:
        read_provider_file(path)
    assert path.name in str(exc.value) and "truncated" in str(exc.value) and "line 2, the last" in str(exc.value)


def test_bad_line_mid_file_is_quarantined(tmp_path):
    lines = [
        b_line("ok1", "authorization", "PENDING", 100),
        '{"token": "broken", "type": ',
        "[1, 2, 3]",
        json.dumps({"token": "weird", "card_acceptor": "TESCO"}),
        b_line("ok2", "authorization", "PENDING", 200),
    ]
    result = read_provider_file(write_b(tmp_path, lines))
    assert result.transactions["provider_txn_id"].to_list() == ["ok1", "ok2"]
    q = dict(zip(result.quarantine["source_line"], result.quarantine["reason"], strict=True))
    assert set(q) == {2, 3, 4}
    assert "invalid JSON" in q[2] and "not an object" in q[3] and "card_acceptor must be an object" in q[4]
    # An unterminated last line that IS complete JSON is not truncation.
    (tmp_path / "n").mkdir()
    ok = read_provider_file(write_b(tmp_path / "n", [b_line("x", "authorization", "PENDING", 1)], final_newline=False))
    assert ok.transactions.height == 1


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b_line("e1", "authorization", "PENDING", 100, currency="EUR"), "currency 'EUR' is not GBP"),
        (b_line("e2", "authorization", "PENDING", 23.5), "amount_minor '23.5' is not a whole positive number"),
        (b_line("e3", "authorization", "PENDING", -5), "amount_minor '-5' is not a whole positive number"),
        (b_line("e4", "teleport", "PENDING", 100), "unknown type 'teleport'"),
        (b_line("e5", "authorization", "MAYBE", 100), "unknown state 'MAYBE'"),
        (b_line("e6", "authorization", "PENDING", 100, created="03/03/2026 10:00"), "created_time '03/03/2026 10:00' is not"),
        (b_line("e7", "authorization.release", "COMPLETION", 100), "a release posts nothing"),
        (b_line("e8", "authorization", "PENDING", 100, mcc="54"), "card_acceptor.mcc '54' is not 4 digits"),
        (b_line("", "authorization", "PENDING", 100), "token is missing"),
        (b_line("e9", "gpa.credit", "COMPLETION", 0, mcc=None), "0 pence cannot be posted"),
    ],
)
def test_bad_events_are_quarantined_with_reason(tmp_path, line, reason):
    result = read_provider_file(write_b(tmp_path, [b_line("ok", "authorization", "PENDING", 100), line]))
    assert result.transactions["provider_txn_id"].to_list() == ["ok"]
    assert result.quarantine["source_line"].to_list() == [2]
    assert reason in result.quarantine["reason"][0], result.quarantine["reason"][0]


def test_empty_events_file_is_a_day_without_events(tmp_path):
    path = tmp_path / "B_events_20260302.jsonl"
    path.write_bytes(b"")
    result = read_provider_file(path)
    assert result.transactions.height == 0 and result.quarantine.height == 0


def test_non_utf8_events_file_is_refused(tmp_path):
    path = tmp_path / "B_events_20260302.jsonl"
    path.write_bytes(b_line("x", "authorization", "PENDING", 1).replace("TESCO", "CAF\xc9").encode("cp1252") + b"\n")
    with pytest.raises(FileRefused, match="expected UTF-8 text"):
        read_provider_file(path)


def test_balances(tmp_path):
    path = tmp_path / "B_balances_20260302.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps({"card_token": "ct_19a0", "as_of_date": "2026-03-02", "ledger_balance_minor": 65000, "available_balance_minor": 62650}),
                json.dumps({"card_token": "ct_2", "as_of_date": "2026-03-02", "ledger_balance_minor": -120, "available_balance_minor": None}),
                json.dumps({"card_token": "ct_3", "as_of_date": "02/03/2026", "ledger_balance_minor": 1, "available_balance_minor": 1}),
            ]
        )
        + "\n"
    )
    result = read_provider_file(path)
    assert result.balances.select("provider", "account_id", "balance_date", "closing_balance_pence", "available_balance_pence").rows() == [
        ("B", "ct_19a0", dt.date(2026, 3, 2), 65000, 62650),
        ("B", "ct_2", dt.date(2026, 3, 2), -120, None),
    ]
    assert result.quarantine["source_line"].to_list() == [3] and "as_of_date" in result.quarantine["reason"][0]


def test_offset_time_is_the_same_instant_and_all_bad_file_still_reads(tmp_path):
    r = read_provider_file(write_b(tmp_path, [b_line("o", "authorization", "PENDING", 1, "2026-03-02T10:00:00+01:00")]))
    assert r.transactions["occurred_at_utc"].to_list() == [dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)]
    (tmp_path / "bad").mkdir()
    r = read_provider_file(write_b(tmp_path / "bad", ["nope", "[]"]))
    assert r.transactions.height == 0 and r.quarantine["source_line"].to_list() == [1, 2]
