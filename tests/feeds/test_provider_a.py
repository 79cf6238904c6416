"""Goal: Provider A's CSV export reads exactly — every encoding FEEDS.md allows, exact pence, London
time including both DST edges — and a bad row is quarantined with its line and reason while the
rest of the file loads; a file that cannot be trusted is refused whole with a message people can act on."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.readers import FileRefused, read_provider_file
from feeds.readers.common import pence_expr
from tests.feeds.files import A_BALANCE_HEADER, a_row, write_a
from tests.ingest.drops import A_DAY1

UTC = dt.UTC


def _by_id(result):
    return {r["provider_txn_id"]: r for r in result.transactions.iter_rows(named=True)}


def test_feeds_md_example_rows_map_to_canonical(tmp_path):
    result = read_provider_file(write_a(tmp_path, A_DAY1))
    rows = _by_id(result)
    assert result.quarantine.height == 0 and not result.incidents
    load, contrib, boots = rows["A9000001"], rows["A9000002"], rows["A9000003"]
    assert (load["kind"], load["status"], load["amount_pence"], load["balance_after_pence"]) == ("council_load", "settled", 112_000, 131_055)
    assert load["reference"] == "DP-0442817-2026-03" and load["posted_date"] == dt.date(2026, 3, 2)
    assert load["occurred_at_utc"] == dt.datetime(2026, 3, 2, 9, 15, 2, tzinfo=UTC)  # GMT in March
    assert contrib["kind"] == "other_money_in"  # classify decides contribution
    assert (contrib["payee_name"], contrib["payee_sort_code"], contrib["payee_account_number"]) == ("J SMITH", "309634", "12345678")
    assert (boots["status"], boots["amount_pence"], boots["posted_date"], boots["mcc"]) == ("pending", -1249, None, "5912")
    assert result.transactions["source_line"].to_list() == [2, 3, 4]


def test_bom_and_windows_1252_with_pound_and_accents(tmp_path):
    row = a_row("A1", "02/03/2026 10:00:00", money_out="£1,045.00", merchant="CAFÉ NÉRO", posted="02/03/2026")
    bom = read_provider_file(write_a(tmp_path, [row], bom=True))
    (tmp_path / "cp").mkdir()
    cp = read_provider_file(write_a(tmp_path / "cp", [row], encoding="cp1252"))
    for result in (bom, cp):
        r = result.transactions.row(0, named=True)
        assert (r["merchant_name"], r["amount_pence"]) == ("CAFÉ NÉRO", -104_500)


def test_undecodable_bytes_refuse_the_file_with_a_clear_message(tmp_path):
    path = write_a(tmp_path, [a_row("A1", "02/03/2026 10:00:00")])
    path.write_bytes(path.read_bytes().replace(b"BOOTS", b"BO\x81\x8dTS"))  # invalid UTF-8 and undefined in cp1252
    with pytest.raises(FileRefused) as exc:
        read_provider_file(path)
    msg = str(exc.value)
    assert path.name in msg and "expected UTF-8 or Windows-1252" in msg and "found" in msg and "Nothing from this file" in msg


@pytest.mark.parametrize(
    ("header", "found"),
    [
        ("Account Number,Transaction ID,Transaction Date,Posted Date,Kind,Description", "column 5 is 'Kind'"),
        ("Account Number,Transaction ID,Transaction Date,Posted Date,Type,Description,Merchant Name,MCC,Money Out,Money In,"
         "Balance,Status,Related Transaction ID,Payee Name,Payee Sort Code,Payee Account Number,Reference", "column 9 is 'Money Out'"),
    ],
)
def test_wrong_header_refuses_whole_file(tmp_path, header, found):
    path = write_a(tmp_path, [a_row("A1", "02/03/2026 10:00:00")], header=header)
    with pytest.raises(FileRefused, match=found):
        read_provider_file(path)


@pytest.mark.parametrize("content", [b"", b"\r\n", b"\x00\x01\x02garbage\x00"])
def test_empty_or_binary_file_is_refused(tmp_path, content):
    path = tmp_path / "A_transactions_20260302.csv"
    path.write_bytes(content)
    with pytest.raises(FileRefused, match="A_transactions_20260302.csv"):
        read_provider_file(path)


def test_amount_formats_and_empty_money_in(tmp_path):
    rows = [
        a_row("A1", "02/03/2026 10:00:00", "LOAD", money_in="1,234.56", money_out=""),
        a_row("A2", "02/03/2026 10:01:00", "FPS_IN", money_in="£45.00", money_out=""),
        a_row("A3", "02/03/2026 10:02:00", money_out="£1,000,000.07"),
        a_row("A4", "02/03/2026 10:03:00", money_out="7.5"),
        a_row("A5", "02/03/2026 10:04:00", "FEE", money_out="0.99", balance="-£3.01"),
    ]
    result = read_provider_file(write_a(tmp_path, rows))
    got = {k: (v["amount_pence"], v["balance_after_pence"]) for k, v in _by_id(result).items()}
    assert got == {"A1": (123_456, None), "A2": (4_500, None), "A3": (-100_000_007, None), "A4": (-750, None), "A5": (-99, -301)}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (a_row("B1", "31/02/2026 10:00:00"), "Transaction Date '31/02/2026 10:00:00' is not a dd/mm/yyyy HH:MM:SS date"),
        (a_row("B2", "2026-03-02 10:00:00"), "is not a dd/mm/yyyy HH:MM:SS date"),
        (a_row("B3", "02/03/2026 10:00:00", posted="2026-03-02"), "Posted Date '2026-03-02' is not a dd/mm/yyyy date"),
        (a_row("B4", "02/03/2026 10:00:00", money_out="12.345"), "Money Out '12.345' is not an amount"),
        (a_row("B5", "02/03/2026 10:00:00", money_out="twelve"), "Money Out 'twelve' is not an amount"),
        (a_row("B6", "02/03/2026 10:00:00", "XFER"), "unknown Type 'XFER'"),
        (a_row("B7", "02/03/2026 10:00:00", money_in="1.00", money_out="1.00"), "both Money In and Money Out are set"),
        (a_row("B8", "02/03/2026 10:00:00", money_out=""), "neither Money In nor Money Out is set"),
        (a_row("B9", "02/03/2026 10:00:00", status="DONE"), "unknown Status 'DONE'"),
        (a_row("B10", "02/03/2026 10:00:00", account="1044281"), "Account Number '1044281' is not 8 digits"),
        (a_row("B11", "02/03/2026 10:00:00", "LOAD", money_out="5.00"), "Type LOAD is money in but the amount is under Money Out"),
        (a_row("B12", "02/03/2026 10:00:00", money_out="-5.00"), "must not be negative"),
        (a_row("B13", "02/03/2026 10:00:00", mcc="59"), "MCC '59' is not 4 digits"),
        (a_row("B14", "02/03/2026 10:00:00", balance="1.2.3"), "Balance '1.2.3' is not an amount"),
        (a_row("B15", "02/03/2026 10:00:00", money_out="0.00"), "a settled item of 0.00 cannot be posted"),
        (a_row("", "02/03/2026 10:00:00"), "Transaction ID is empty"),
        ("10442817,B17,02/03/2026 10:00:00,,POS", "expected 17 comma-separated fields, found 5"),
        ('10442817,B18,02/03/2026 10:00:00,,POS,"Card purchase,,,,,,,,,,,,', "unbalanced double quotes"),
    ],
)
def test_each_kind_of_bad_row_is_quarantined_and_the_rest_loads(tmp_path, row, reason):
    good_before = a_row("G1", "02/03/2026 09:00:00")
    good_after = a_row("G2", "02/03/2026 11:00:00")
    result = read_provider_file(write_a(tmp_path, [good_before, row, good_after]))
    assert result.transactions["provider_txn_id"].to_list() == ["G1", "G2"]
    q = result.quarantine.row(0, named=True)
    assert result.quarantine.height == 1
    assert (q["source_file"], q["source_line"], q["provider"]) == ("A_transactions_20260302.csv", 3, "A")
    assert reason in q["reason"], q["reason"]
    assert q["raw_text"] == row


def test_repeated_row_dropped_quietly_but_conflicting_repeat_quarantined(tmp_path):
    same = a_row("A1", "02/03/2026 10:00:00")
    rows = [same, same, a_row("A2", "02/03/2026 10:05:00", money_out="1.00"), a_row("A2", "02/03/2026 10:05:00", money_out="2.00")]
    result = read_provider_file(write_a(tmp_path, rows))
    assert result.transactions["provider_txn_id"].to_list() == ["A1"]
    assert result.quarantine["source_line"].to_list() == [4, 5]
    assert all("conflict within the file" in r and "lines 4, 5" in r for r in result.quarantine["reason"])


def test_pending_then_settled_in_one_file_keeps_both_states(tmp_path):
    rows = [
        a_row("A3", "02/03/2026 18:02:11", status="PENDING", money_out="12.49"),
        a_row("A3", "02/03/2026 18:02:11", status="SETTLED", money_out="12.30", posted="03/03/2026", balance="100.00"),
        a_row("A4", "02/03/2026 18:05:00", status="REVERSED", money_out="5.00"),
    ]
    result = read_provider_file(write_a(tmp_path, rows))
    got = [(r["provider_txn_id"], r["status"], r["amount_pence"]) for r in result.transactions.iter_rows(named=True)]
    assert got == [("A3", "pending", -1249), ("A3", "settled", -1230), ("A4", "released", -500)]


FALL_BACK = [  # 25 October 2026: clocks go back at 02:00 BST to 01:00 GMT
    ("F1", "25/10/2026 00:50:00", dt.datetime(2026, 10, 24, 23, 50, tzinfo=UTC)),
    ("F2", "25/10/2026 01:20:00", dt.datetime(2026, 10, 25, 0, 20, tzinfo=UTC)),  # first pass (BST)
    ("F3", "25/10/2026 01:50:00", dt.datetime(2026, 10, 25, 0, 50, tzinfo=UTC)),
    ("F4", "25/10/2026 01:10:00", dt.datetime(2026, 10, 25, 1, 10, tzinfo=UTC)),  # went back: second pass (GMT)
    ("F5", "25/10/2026 01:40:00", dt.datetime(2026, 10, 25, 1, 40, tzinfo=UTC)),
    ("F6", "25/10/2026 02:30:00", dt.datetime(2026, 10, 25, 2, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize("newest_first", [False, True])
def test_dst_fall_back_repeated_hour_uses_file_order(tmp_path, newest_first):
    rows = [a_row(i, t) for i, t, _ in FALL_BACK]
    rows.append(a_row("OTHER", "25/10/2026 01:30:00", account="20000001"))  # no evidence: first occurrence (BST)
    if newest_first:
        rows = rows[-2::-1] + [rows[-1]]
    result = read_provider_file(write_a(tmp_path, rows))
    got = {r["provider_txn_id"]: (r["occurred_at_utc"], r["london_date"]) for r in result.transactions.iter_rows(named=True)}
    for txn_id, _, utc in FALL_BACK:
        assert got[txn_id] == (utc, dt.date(2026, 10, 25)), txn_id
    assert got["OTHER"] == (dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), dt.date(2026, 10, 25))


def test_dst_spring_forward_missing_hour_is_read_as_gmt(tmp_path):
    rows = [
        a_row("S1", "29/03/2026 00:30:00"),
        a_row("S2", "29/03/2026 01:30:00"),  # does not exist in London
        a_row("S3", "29/03/2026 02:30:00"),
    ]
    result = read_provider_file(write_a(tmp_path, rows))
    got = {r["provider_txn_id"]: (r["occurred_at_utc"], r["london_date"]) for r in result.transactions.iter_rows(named=True)}
    assert result.quarantine.height == 0
    assert got == {
        "S1": (dt.datetime(2026, 3, 29, 0, 30, tzinfo=UTC), dt.date(2026, 3, 29)),
        "S2": (dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC), dt.date(2026, 3, 29)),
        "S3": (dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC), dt.date(2026, 3, 29)),
    }


def test_summer_time_converts_and_late_evening_keeps_london_date(tmp_path):
    result = read_provider_file(write_a(tmp_path, [a_row("X", "15/07/2026 00:30:00")]))
    r = result.transactions.row(0, named=True)
    assert r["occurred_at_utc"] == dt.datetime(2026, 7, 14, 23, 30, tzinfo=UTC)
    assert r["london_date"] == dt.date(2026, 7, 15)


def test_balances_file(tmp_path):
    path = tmp_path / "A_balances_20260302.csv"
    path.write_bytes(
        (A_BALANCE_HEADER + "\r\n10442817,02/03/2026,\"1,345.88\",1333.39\r\n20000001,02/03/2026,-£3.01,\r\n"
         "2000000,02/03/2026,1.00,1.00\r\n").encode()
    )
    result = read_provider_file(path)
    assert result.balances.select("account_id", "balance_date", "closing_balance_pence", "available_balance_pence").rows() == [
        ("10442817", dt.date(2026, 3, 2), 134_588, 133_339),
        ("20000001", dt.date(2026, 3, 2), -301, None),
    ]
    assert result.quarantine["source_line"].to_list() == [4]
    assert "not 8 digits" in result.quarantine["reason"][0]


def _formats(pence: int) -> list[str]:
    pounds, p = divmod(pence, 100)
    plain = f"{pounds}.{p:02d}"
    grouped = f"{pounds:,}.{p:02d}"
    return [plain, grouped, f"£{plain}", f"£{grouped}"]


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**13))
def test_amount_formatting_round_trips_to_exact_pence(pence):
    texts = _formats(pence)
    parsed = pl.select(pence_expr(pl.Series("t", texts))).to_series().to_list()
    assert parsed == [pence] * len(texts)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=5), st.integers(0, 3))
def test_amount_round_trip_through_a_file(tmp_path_factory, amounts, fmt):
    folder = tmp_path_factory.mktemp("a")
    rows = [a_row(f"R{i}", "02/03/2026 10:00:00", money_out=_formats(p)[fmt]) for i, p in enumerate(amounts)]
    result = read_provider_file(write_a(folder, rows))
    assert result.transactions["amount_pence"].to_list() == [-p for p in amounts]


def test_header_only_file_is_a_day_without_transactions(tmp_path):
    result = read_provider_file(write_a(tmp_path, []))
    assert result.transactions.height == 0 and result.quarantine.height == 0
    assert result.transactions.schema == read_provider_file(write_a(tmp_path, A_DAY1)).transactions.schema


def test_file_of_only_bad_rows_quarantines_them_all(tmp_path):
    result = read_provider_file(write_a(tmp_path, ["garbage", a_row("X", "not a date")]))
    assert result.transactions.height == 0 and result.quarantine["source_line"].to_list() == [2, 3]


def test_extra_columns_appended_after_the_known_ones_are_read_past(tmp_path):
    """FEEDS.md lets the project extend a format with optional columns, never change it."""
    from tests.ingest.drops import A_HEADER

    row = a_row("A1", "02/03/2026 10:00:00", money_out="3.00") + ",extra value"
    result = read_provider_file(write_a(tmp_path, [row], header=A_HEADER + ",Card Last4"))
    assert result.transactions["amount_pence"].to_list() == [-300] and result.quarantine.height == 0
    (tmp_path / "u").mkdir()
    with pytest.raises(FileRefused, match="unnamed or repeats a name"):
        read_provider_file(write_a(tmp_path / "u", [row + ","], header=A_HEADER + ",Card Last4,"))
    (tmp_path / "s").mkdir()
    with pytest.raises(FileRefused, match="16 columns where 17 were expected"):
        read_provider_file(write_a(tmp_path / "s", [], header=A_HEADER.rsplit(",", 1)[0]))
