"""Goal: every canonical-batch check names exactly the rows it should, at the right position, with a
reason a person can act on; warnings never quarantine; GX and the polars twin agree."""

from __future__ import annotations

import datetime as dt
import json
import random

import polars as pl
import pytest

import feeds.validation.canonical as canonical
from feeds.validation import validate_canonical_batch
from feeds.validation.report import twin_rows
from tests.validation.frames import FEED_DATE, KNOWN, batch, clean_batch, txn


def _validate(frame: pl.DataFrame, **kw):
    return validate_canonical_batch(frame, feed_date=FEED_DATE, known_accounts=KNOWN, **kw)


def test_clean_batch_passes():
    frame = clean_batch(12)
    report = _validate(frame)
    assert report.success
    assert report.bad_row_indices == set() and report.reasons_by_row == {}
    assert report.warnings == []
    assert report.results["success"] is True
    assert report.engine == "gx" and report.rows == frame.height
    # every check of the suite ran (no silent exception) and the results are JSON for results.json
    checks = {r["expectation_config"]["meta"]["check"] for r in report.results["results"]}
    assert checks == {c.name for c in canonical.canonical_checks()}
    assert not any(r["exception_info"].get("raised_exception") for r in report.results["results"])
    json.dumps(report.results)


BAD_ROWS = [
    ("non_gbp", {"currency": "USD"}, "currency USD is not GBP"),
    ("date_before_window", {"london_date": dt.date(2026, 1, 2)},
     "london_date 2026-01-02 outside the feed window 2026-02-21..2026-03-04"),
    ("date_after_window", {"london_date": dt.date(2026, 3, 5)},
     "london_date 2026-03-05 outside the feed window 2026-02-21..2026-03-04"),
    ("absurd_amount", {"amount_pence": -6_000_000}, "amount £60,000.00 is over the £50,000.00 sanity limit"),
    ("absurd_credit", {"amount_pence": 5_000_001}, "amount £50,000.01 is over the £50,000.00 sanity limit"),
    ("bad_kind", {"kind": "purchase"}, "kind 'purchase' is not a canonical kind"),
    ("bad_status", {"status": "booked"}, "status 'booked' is not one of pending, settled, declined, released"),
    ("zero_settled", {"amount_pence": 0}, "amount is zero on a settled item (only a declined item may be zero)"),
    ("missing_id", {"provider_txn_id": None}, "provider_txn_id is missing"),
    ("missing_date", {"london_date": None}, "london_date is missing"),
    ("missing_account", {"account_id": None}, "account_id is missing"),
]


@pytest.mark.parametrize("position", [0, 9])
@pytest.mark.parametrize(("case", "override", "reason"), BAD_ROWS, ids=[c[0] for c in BAD_ROWS])
def test_each_check_names_the_bad_row_and_its_reason(case, override, reason, position):
    rows = [txn(i) for i in range(1, 11)]
    rows[position] = txn(position + 1, **override)
    frame = batch(*rows)
    report = _validate(frame)
    assert not report.success
    assert report.bad_row_indices == {position}
    assert report.reasons_by_row == {position: reason}
    # the index is a position in the frame ingest holds: taking it out removes exactly that row
    assert frame[sorted(report.bad_row_indices)]["provider_txn_id"].to_list() == [rows[position]["provider_txn_id"]]


def test_window_edges_are_inclusive():
    frame = batch(
        txn(1, london_date=FEED_DATE - dt.timedelta(days=10)),  # first day of the window
        txn(2, london_date=FEED_DATE + dt.timedelta(days=1)),  # late-evening item on the next London day
        txn(3, london_date=FEED_DATE - dt.timedelta(days=11)),
        txn(4, london_date=FEED_DATE + dt.timedelta(days=2)),
    )
    assert _validate(frame).bad_row_indices == {2, 3}
    assert _validate(frame, window_days=11).bad_row_indices == {3}


def test_declined_items_may_be_zero_but_released_may_not():
    frame = batch(txn(1, status="declined", amount_pence=0), txn(2, status="released", amount_pence=0))
    report = _validate(frame)
    assert report.bad_row_indices == {1}
    assert "released" in report.reasons_by_row[1]


def test_duplicate_id_with_different_details_quarantines_every_copy():
    frame = batch(txn(1), txn(2), txn(1, amount_pence=-9999, source_line=7), txn(3), txn(1, source_line=9))
    report = _validate(frame)
    assert report.bad_row_indices == {0, 2, 4}
    reason = "duplicate id: A item A9000001 (settled) appears with different details on lines 2, 7, 9 of this batch; all copies are held"
    assert report.reasons_by_row == {0: reason, 2: reason, 4: reason}
    assert any("share 1 (provider, id, status) key" in w for w in report.warnings)


def test_identical_repeat_and_pending_then_settled_are_not_bad_rows():
    # B's stream is at-least-once (identical repeat); A re-lists a pending item as settled for another amount
    frame = batch(
        txn(1, provider="B", provider_txn_id="b-1", account_id="ct_19a0"),
        txn(1, provider="B", provider_txn_id="b-1", account_id="ct_19a0", source_line=9),
        txn(2, status="pending", amount_pence=-2350),
        txn(2, status="settled", amount_pence=-2310, source_line=12),
    )
    report = _validate(frame)
    assert report.success and report.bad_row_indices == set()
    assert len(report.warnings) == 1 and report.warnings[0].startswith("2 row(s) share 1 (provider, id, status) key(s)")


def test_unknown_account_is_a_warning_not_a_bad_row():
    frame = batch(txn(1), txn(2, account_id="55501234"), txn(3, provider="C", account_id="acc-77770001"))
    report = _validate(frame)
    assert report.success and report.bad_row_indices == set()
    assert len(report.warnings) == 1
    warning = report.warnings[0]
    assert warning.startswith("2 row(s) on 2 account(s) not in the cardholder register")
    assert "A:…1234" in warning and "C:…0001" in warning and "suspense" in warning
    # privacy: only the last 4 characters of an account appear in what we store
    dumped = json.dumps(report.results) + warning
    assert "55501234" not in dumped and "acc-77770001" not in dumped
    registered = [r for r in report.results["results"] if r["expectation_config"]["meta"]["check"] == "account_registered"]
    assert registered[0]["expectation_config"]["severity"] == "warning" and registered[0]["success"] is False


def test_several_failures_on_one_row_are_all_reported_and_scattered_rows_map_back():
    rows = [txn(i) for i in range(1, 51)]
    rows[0] = txn(1, currency="EUR", amount_pence=0)
    rows[17] = txn(18, kind="nonsense")
    rows[49] = txn(50, london_date=dt.date(2025, 12, 25))
    frame = batch(*rows)
    report = _validate(frame)
    assert report.bad_row_indices == {0, 17, 49}
    assert set(report.reasons_by_row[0].split("; ")) == {
        "currency EUR is not GBP",
        "amount is zero on a settled item (only a declined item may be zero)",
    }
    kept = frame.filter(pl.Series([i not in report.bad_row_indices for i in range(frame.height)]))
    assert kept.height == 47 and "A9000018" not in kept["provider_txn_id"].to_list()


def test_a_batch_off_the_canonical_schema_is_refused_whole():
    frame = batch(txn(1), txn(2)).with_columns(pl.col("amount_pence").cast(pl.Float64))
    report = _validate(frame)
    assert report.bad_row_indices == {0, 1}
    assert "column amount_pence is Float64, expected Int64" in report.reasons_by_row[0]


def test_a_missing_required_column_fails_every_row_as_missing():
    frame = batch(txn(1), txn(2)).drop("currency")
    report = _validate(frame)
    assert report.reasons_by_row == {0: "currency is missing", 1: "currency is missing"}


def _random_batch(seed: int, n: int = 300) -> pl.DataFrame:
    rnd = random.Random(seed)
    rows = []
    for i in range(1, n + 1):
        o: dict = {}
        roll = rnd.random()
        if roll < 0.05:
            o["currency"] = rnd.choice(["USD", "EUR", None])
        elif roll < 0.10:
            o["london_date"] = FEED_DATE + dt.timedelta(days=rnd.randint(-20, 5))
        elif roll < 0.15:
            o["amount_pence"] = rnd.choice([0, 7_000_000, -5_000_001, None])
        elif roll < 0.18:
            o["status"] = rnd.choice(["declined", "released", "pending", "weird", None])
            o["amount_pence"] = rnd.choice([0, -100])
        elif roll < 0.21:
            o["kind"] = rnd.choice(["fee", "junk", None])
        elif roll < 0.26:
            o["account_id"] = rnd.choice(["00001111", "10442817", None])
        line_id = rnd.randint(1, n // 3) if rnd.random() < 0.2 else i  # repeats, some with other details
        rows.append(txn(line_id, source_line=i + 1, **o))
    return batch(*rows)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_gx_and_the_polars_twin_name_the_same_rows(seed, monkeypatch):
    frame = _random_batch(seed)
    params = {"window_start": FEED_DATE - dt.timedelta(days=10), "window_end": FEED_DATE + dt.timedelta(days=1)}
    prepared = canonical.prepare(frame, KNOWN)
    report = _validate(frame)
    failing = report.results["careledger"]["failing_rows_by_check"]
    for check in canonical.canonical_checks():
        assert failing.get(check.name, 0) == len(twin_rows(check, prepared, params)), check.name
    # and the whole report is the same when the twin names the rows (the >200k-row path)
    monkeypatch.setattr(canonical, "GX_COMPLETE_ROWS_MAX", 10)
    big_path = _validate(frame)
    assert big_path.engine == "polars"
    assert big_path.bad_row_indices == report.bad_row_indices and report.bad_row_indices
    assert big_path.reasons_by_row == report.reasons_by_row
    assert big_path.warnings == report.warnings


def test_null_edges_agree_between_gx_and_the_twin(monkeypatch):
    # GX's row condition status != "declined" keeps a null status; the twin must too
    frame = batch(txn(1, status=None, amount_pence=0), txn(2, amount_pence=None), txn(3, kind=None, currency=None))
    report = _validate(frame)
    assert report.reasons_by_row == {
        0: "status is missing; amount is zero on a status-less item (only a declined item may be zero)",
        1: "amount_pence is missing",
        2: "kind is missing; currency is missing",
    }
    monkeypatch.setattr(canonical, "GX_COMPLETE_ROWS_MAX", 0)
    assert _validate(frame).reasons_by_row == report.reasons_by_row
