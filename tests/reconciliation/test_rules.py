"""The pure checks on small hand-made frames: load matching, file arrival, quarantined rows, balance causes."""

from __future__ import annotations

import datetime as dt

import polars as pl

from reconciliation.balances import explanation_candidates, quarantined_effect, reconcile_balances
from reconciliation.feed_arrival import drop_date, feed_exceptions
from reconciliation.funding import summarise_funding
from reconciliation.loads import load_exceptions, match_loads
from records.feed_register import FEED_FILES_SCHEMA

D = dt.date(2026, 3, 10)
REGISTER = pl.DataFrame(
    {"client_id": ["C1", "C2"], "council": ["T", "T"], "provider": ["A", "B"], "account_id": ["10000001", "ct_2"]}
)
SCHEDULE_SCHEMA = {"client_id": pl.Utf8, "due_date": pl.Date, "amount_pence": pl.Int64, "reference": pl.Utf8}
SEEN_SCHEMA = {
    "provider": pl.Utf8, "provider_txn_id": pl.Utf8, "account_id": pl.Utf8, "client_id": pl.Utf8, "council": pl.Utf8,
    "amount_pence": pl.Int64, "london_date": pl.Date, "reference": pl.Utf8,
}


def _seen(rows):
    return pl.DataFrame(rows, schema=SEEN_SCHEMA, orient="row")


def test_greedy_matching_prefers_reference_and_each_schedule_row_matches_once():
    # Goal: two loads on C1's card on the due day; the one carrying the schedule's reference wins, the other
    # (same card, same amount) is a duplicate; a third with no link to any row is unexpected.
    schedule = pl.DataFrame([("C1", D, 50_000, "R1")], schema=SCHEDULE_SCHEMA, orient="row")
    seen = _seen([
        ("A", "x1", "10000001", "C1", "T", 50_000, D, None),
        ("A", "x2", "10000001", "C1", "T", 50_000, D, "R1"),
        ("B", "y1", "ct_2", "C2", "T", 12_300, D, "TOP UP"),
    ])
    matched, missing, extra = match_loads(schedule, seen, REGISTER, tolerance_days=3, run_day=D)
    assert [(r["reference"], s["provider_txn_id"]) for r, s in matched] == [("R1", "x2")]
    assert missing == []
    assert [(s["provider_txn_id"], dup) for s, dup in extra] == [("x1", True), ("y1", False)]
    found = {f.key: f for f in load_exceptions(schedule, seen, REGISTER, tolerance_days=3, run_day=D, report_from=D)}
    assert set(found) == {"duplicate_load:A:x1", "unexpected_load:B:y1"}
    assert found["unexpected_load:B:y1"].client_id == "C2" and found["unexpected_load:B:y1"].council == "T"


def test_missing_waits_for_the_tolerance_then_late_and_wrong_amount():
    # Goal: a load due 3 days ago is not yet missing (tolerance 3); 4 days ago it is. A load 5 days after its due
    # date is late; one for another amount is a wrong amount with the signed difference.
    schedule = pl.DataFrame(
        [("C1", D - dt.timedelta(days=3), 10_000, "A3"), ("C2", D - dt.timedelta(days=4), 10_000, "B4"),
         ("C1", D - dt.timedelta(days=8), 20_000, "L8"), ("C2", D - dt.timedelta(days=9), 30_000, "W9")],
        schema=SCHEDULE_SCHEMA, orient="row",
    )
    seen = _seen([
        ("A", "l", "10000001", "C1", "T", 20_000, D - dt.timedelta(days=3), "L8"),
        ("B", "w", "ct_2", "C2", "T", 25_000, D - dt.timedelta(days=9), "W9"),
    ])
    found = {f.key: f for f in load_exceptions(schedule, seen, REGISTER, tolerance_days=3, run_day=D, report_from=D - dt.timedelta(days=30))}
    assert set(found) == {"missing_load:B4", "late_load:L8", "wrong_amount_load:W9"}
    assert found["wrong_amount_load:W9"].difference_pence == -5_000
    assert found["late_load:L8"].cause == "late_5_days"


def test_feed_arrival_missing_refused_and_late():
    # Goal: a day with no B file and a refused A balances file is missing (saying why); an A file that came in a
    # later drop is late; a resent copy of an on-time file is not late.
    def row(p, k, d, drop, status="loaded", name="f"):
        return (name, p, k, d, f"/x/{drop:%Y%m%d}", status, "header wrong" if status == "refused" else "")

    d1, d2 = D, D + dt.timedelta(days=1)
    files = pl.DataFrame(
        [row("A", "transactions", d1, d1), row("A", "balances", d1, d1, "refused", "A_balances"),
         row("A", "transactions", d2, d2 + dt.timedelta(days=1)), row("A", "balances", d2, d2),
         row("A", "balances", d2, d2 + dt.timedelta(days=2)),
         row("B", "transactions", d2, d2), row("B", "balances", d2, d2)],
        schema=FEED_FILES_SCHEMA, orient="row",
    )
    found = {f.key: f for f in feed_exceptions(files, expected_providers=("A", "B"), date_from=d1, date_to=d2)}
    assert set(found) == {f"missing_file:A:{d1}", f"missing_file:B:{d1}", f"late_file:A:transactions:{d2}"}
    assert found[f"missing_file:A:{d1}"].cause == "refused" and "header wrong" in found[f"missing_file:A:{d1}"].explanation
    assert found[f"late_file:A:transactions:{d2}"].closed_on_arrival
    assert drop_date("/drops/20260311") == dt.date(2026, 3, 11) and drop_date("/drops/latest") is None


def test_quarantined_rows_are_read_for_account_and_signed_amount():
    a_row = "10000001,AQ1,06/03/2026 12:00:00,06/03/2026,POS,Card purchase,BOOTS,5912,,\"1,012.49\",,SETTLED,,,,,"
    assert quarantined_effect("A", a_row) == ("10000001", "AQ1", -101_249)
    b_row = '{"token":"b1","card_token":"ct_2","type":"gpa.credit","amount_minor":500}'
    assert quarantined_effect("B", b_row) == ("ct_2", "b1", 500)
    c_row = '{"AccountId":"acc9","TransactionId":"t9","Amount":{"Amount":"12.30","Currency":"GBP"},"CreditDebitIndicator":"Debit"}'
    assert quarantined_effect("C", c_row) == ("acc9", "t9", -1_230)
    assert quarantined_effect("A", "garbage") is None


def test_balance_differences_both_directions_with_causes():
    # Goal: provider below the ledger by a pending item's amount -> pending_booked_late; provider above by nothing
    # known -> open and unexplained; equal balances -> nothing; a ledger card the provider did not report -> compared to 0.
    ledger = pl.DataFrame({"provider": ["A", "B", "A"], "account_id": ["10000001", "ct_2", "10000009"],
                           "balance_pence": [10_000, 5_000, 300]})
    provider = pl.DataFrame({"provider": ["A", "B"], "account_id": ["10000001", "ct_2"], "balance_date": [D, D],
                             "closing_balance_pence": [9_500, 5_001]})
    candidates = explanation_candidates(
        D,
        unposted_settled=pl.DataFrame(schema={"provider": pl.Utf8, "account_id": pl.Utf8, "provider_txn_id": pl.Utf8, "amount_pence": pl.Int64}),
        quarantined=pl.DataFrame(schema={"provider": pl.Utf8, "provider_txn_id": pl.Utf8, "reason": pl.Utf8, "raw_text": pl.Utf8}),
        conflicts=pl.DataFrame(schema={"provider": pl.Utf8, "provider_txn_id": pl.Utf8, "reason": pl.Utf8, "raw_text": pl.Utf8}),
        stored_amounts=pl.DataFrame(schema={"provider": pl.Utf8, "provider_txn_id": pl.Utf8, "amount_pence": pl.Int64}),
        open_holds=pl.DataFrame({"provider": ["A"], "account_id": ["10000001"], "provider_txn_id": ["h1"],
                                 "amount_pence": [-500], "london_date": [D]}),
        settled_on_day=pl.DataFrame(schema={"provider": pl.Utf8, "account_id": pl.Utf8, "provider_txn_id": pl.Utf8,
                                            "amount_pence": pl.Int64, "balance_after_pence": pl.Int64,
                                            "prev_balance_after_pence": pl.Int64}),
    )
    found = {f.account_id: f for f in reconcile_balances(D, ledger=ledger, provider=provider, register=REGISTER, candidates=candidates)}
    assert (found["10000001"].difference_pence, found["10000001"].cause, found["10000001"].evidence) == (-500, "pending_booked_late", ("A:h1",))
    assert (found["ct_2"].difference_pence, found["ct_2"].cause, found["ct_2"].explained) == (1, None, False)
    assert found["10000009"].difference_pence == -300 and "no closing balance" in found["10000009"].explanation
    # With a tolerance of 1p the 1p difference goes.
    tolerant = reconcile_balances(D, ledger=ledger, provider=provider, register=REGISTER, candidates=candidates, tolerance_pence=1)
    assert {f.account_id for f in tolerant} == {"10000001", "10000009"}


def test_funding_totals_from_postings():
    raw = pl.DataFrame(
        {"council": ["T", "T", "T"], "london_date": [D, D, D], "role": ["funding", "funding", "recovered"],
         "amount_pence": [-150_000, 20_000, 7_500], "postings": [2, 1, 1]}
    )
    out = summarise_funding(raw, ["T"], [D, D + dt.timedelta(days=1)]).to_dicts()
    assert out[0] == {"council": "T", "london_date": D, "loads": 2, "loaded_pence": 150_000, "returned_pence": 20_000,
                           "unloads": 1, "unloaded_pence": 7_500, "net_from_council_pence": 122_500}
    assert out[1]["loaded_pence"] == 0 and out[1]["net_from_council_pence"] == 0
