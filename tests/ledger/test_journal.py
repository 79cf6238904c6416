"""Goal: the bulk posting path is all-or-nothing, idempotent by key, and reports conflicts instead of writing them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from db.engine import get_engine
from ledger.corrections import reverse_entry
from ledger.journal import LedgerError, post_entries
from ledger.queries import balances, statement, trial_balance
from ledger.verify import verify_ledger
from tests.ledger import factories as f


def _counts(url: str) -> tuple[int, int, int]:
    with get_engine(url).connect() as conn:
        return tuple(
            conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("journal_entries", "postings", "posting_batches")
        )


def test_posting_same_keys_twice_is_a_no_op(db_url):
    entries, postings = f.batch([f.load("L1", 112_000), f.spend("S1", 1_249)])
    with get_engine(db_url).begin() as conn:
        first = post_entries(conn, entries, postings, f.accounts(), source="t")
    with get_engine(db_url).begin() as conn:
        second = post_entries(conn, entries, postings, f.accounts(), source="t")
    assert (first.posted, first.already_posted) == (2, 0)
    assert (second.posted, second.already_posted) == (0, 2)
    assert second.summary() == "0 posted, 2 already posted, 0 conflict(s)"
    assert _counts(db_url) == (2, 4, 1)


def test_same_key_different_payload_is_a_conflict_not_an_overwrite(db_url):
    with get_engine(db_url).begin() as conn:
        post_entries(conn, *f.batch([f.load("L1", 10_000)]), f.accounts(), source="t")
    with get_engine(db_url).begin() as conn:
        result = post_entries(conn, *f.batch([f.load("L1", 99_999)]), f.accounts(), source="t")
    assert result.posted == 0 and len(result.conflicts) == 1
    assert result.conflicts[0].idempotency_key == "L1"
    with get_engine(db_url).connect() as conn:
        card = balances(conn, codes=[f.CARD.code])
    assert card["balance_pence"].to_list() == [10_000]


def test_one_bad_entry_in_ten_thousand_leaves_ledger_unchanged_and_is_named(db_url):
    with get_engine(db_url).begin() as conn:
        post_entries(conn, *f.batch([f.load("L0", 500)]), f.accounts(), source="t")
    before = _counts(db_url)
    items = [f.spend(f"S{i}", 100 + i) for i in range(10_000)]
    bad_entry, bad_postings = f.entry("S5000-bad", [(f.SPEND.code, 700), (f.CARD.code, -699)])
    items[5000] = (bad_entry, bad_postings)
    with pytest.raises(LedgerError, match="S5000-bad"), get_engine(db_url).begin() as conn:
        post_entries(conn, *f.batch(items), f.accounts(), source="t")
    assert _counts(db_url) == before


def test_failure_inside_the_database_rolls_back_the_whole_batch(db_url):
    """The database's own guard, not only the Python check, keeps a batch all-or-nothing."""
    items = [f.spend(f"S{i}", 100) for i in range(1_000)]
    entries, postings = f.batch(items)
    with pytest.raises(Exception), get_engine(db_url).begin() as conn:  # noqa: B017
        post_entries(conn, entries, postings, f.accounts(), source="t")
        conn.execute(text("UPDATE postings SET amount_pence = 1 WHERE posting_id = 1"))
    assert _counts(db_url) == (0, 0, 0)


def test_reversal_restores_balances_and_is_linked(db_url):
    with get_engine(db_url).begin() as conn:
        post_entries(conn, *f.batch([f.load("L1", 50_000), f.spend("S1", 12_345)]), f.accounts(), source="t")
    with get_engine(db_url).connect() as conn:
        before = balances(conn).select("code", "balance_pence")
    with get_engine(db_url).begin() as conn:
        reverse_entry(conn, 2, reason="duplicate purchase", on_date=dt.date(2026, 3, 4))
    with get_engine(db_url).begin() as conn:
        again = reverse_entry(conn, 2, reason="duplicate purchase", on_date=dt.date(2026, 3, 4))
    assert again.already_posted == 1
    with get_engine(db_url).connect() as conn:
        after = dict(balances(conn).select("code", "balance_pence").iter_rows())
        linked = conn.execute(text("SELECT reverses_entry_id FROM journal_entries WHERE entry_id = 3")).scalar_one()
        report = verify_ledger(conn)
    assert after[f.CARD.code] == 50_000 and after[f.SPEND.code] == 0
    assert dict(before.iter_rows())[f.CARD.code] == 50_000 - 12_345
    assert linked == 2
    assert report.ok, report.problems


def test_balances_as_of_date_and_statement(db_url):
    d1, d2, d3 = dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 9)
    with get_engine(db_url).begin() as conn:
        post_entries(
            conn,
            *f.batch([f.load("L1", 100_000, d1), f.spend("S1", 2_500, d2), f.spend("S2", 1_000, d3)]),
            f.accounts(),
            source="t",
        )
    with get_engine(db_url).connect() as conn:
        as_of = lambda d: dict(balances(conn, d, codes=[f.CARD.code]).select("code", "balance_pence").iter_rows())  # noqa: E731
        assert as_of(d1)[f.CARD.code] == 100_000
        assert as_of(d2)[f.CARD.code] == 97_500
        assert as_of(dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC))[f.CARD.code] == 100_000
        tb = trial_balance(conn)
        st = statement(conn, "C001", d2, d3)
    assert int(tb["balance_pence"].sum()) == 0
    assert st.opening_pence == 100_000 and st.closing_pence == 96_500
    assert st.items["amount_pence"].to_list() == [-2_500, -1_000]
    assert st.items["running_balance_pence"].to_list() == [97_500, 96_500]
