"""Goal: card balances read from a checkpoint plus the postings since are exactly the plain sum of postings,
whatever order postings arrive in (back-dated ones included), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import polars as pl
from polars.testing import assert_frame_equal
from sqlalchemy import text

from db.engine import get_engine
from ledger import accounts as chart
from ledger.accounts import accounts_frame
from ledger.journal import post_entries
from ledger.queries import CHECKPOINT_KEEP_DAYS, account_totals, card_balances
from tests.ledger import factories as f

OTHER = chart.card("B", "ct_0000001", "council", f.COUNCIL, "C002")
OTHER_CLIENT = chart.card("B", "ct_0000001", "client", f.COUNCIL, "C002")
SUSPENSE = chart.suspense_card("C", "acc-0000009")
D1, D2, D3, D4 = (dt.date(2026, 3, 2) + dt.timedelta(days=i) for i in range(4))


def _accounts() -> pl.DataFrame:
    return accounts_frame([*f.ALL, OTHER, OTHER_CLIENT, SUSPENSE])


def _post(url: str, items: list) -> None:
    with get_engine(url).begin() as conn:
        post_entries(conn, *f.batch(items), _accounts(), source="t")


def _both(url: str, day: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(fast path, plain sum) as of ``day``; the fast path's checkpoint is committed, as a nightly reader's is."""
    with get_engine(url).begin() as conn:
        fast = card_balances(conn, day)
    with get_engine(url).connect() as conn:
        plain = card_balances(conn, day, use_checkpoints=False)
    return fast, plain


def _checkpoints(url: str) -> list[tuple]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(
            text("SELECT as_of_date, account_code, through_posting_id, balance_pence FROM card_balance_checkpoints"
                 " ORDER BY as_of_date, account_code")
        ).all()
    return [(str(r[0])[:10], r[1], int(r[2]), int(r[3])) for r in rows]


def _by_card(df: pl.DataFrame) -> dict[tuple[str, str], tuple[int, int, int]]:
    return {
        (r["provider"], r["account_id"]): (r["council_part_pence"], r["client_part_pence"], r["balance_pence"])
        for r in df.iter_rows(named=True)
    }


def test_checkpoint_plus_later_postings_equals_the_plain_sum_including_back_dated_postings(db_url):
    _post(db_url, [f.load("L1", 50_000, D1), f.entry("O1", [(OTHER.code, 30_000), (f.FUNDING.code, -30_000)], D1)])
    fast, plain = _both(db_url, D1)
    assert_frame_equal(fast, plain)
    assert _by_card(fast)[("A", "10442817")] == (50_000, 0, 50_000)
    assert {r[0] for r in _checkpoints(db_url)} == {"2026-03-02"}  # the night's read left a checkpoint

    _post(db_url, [f.spend("S1", 1_250, D2), f.entry("C1", [(OTHER_CLIENT.code, 4_000), (f.CONTRIB.code, -4_000)], D2)])
    fast, plain = _both(db_url, D2)
    assert_frame_equal(fast, plain)
    assert _by_card(fast)[("B", "ct_0000001")] == (30_000, 4_000, 34_000)

    # A back-dated posting lands after the D2 checkpoint: dated D1, i.e. before both checkpoints.
    _post(db_url, [f.spend("S0-late", 700, D1), f.entry("X1", [(SUSPENSE.code, 900), (f.FUNDING.code, -900)], D1)])
    for day in (D1, D2, D3):
        fast, plain = _both(db_url, day)
        assert_frame_equal(fast, plain)
    assert _by_card(fast)[("A", "10442817")] == (50_000 - 1_250 - 700, 0, 50_000 - 1_950)
    assert _by_card(fast)[("C", "acc-0000009")] == (900, 0, 900)
    # ...and a read of D1 now still sees the late posting even though an older checkpoint exists.
    fast_d1, _ = _both(db_url, D1)
    assert _by_card(fast_d1)[("A", "10442817")] == (50_000 - 700, 0, 49_300)

    # A posting dated after the day asked for is not counted, and no checkpoint is written for a day
    # while later-dated postings exist (it would miss them when read for a later day).
    before = {r[0] for r in _checkpoints(db_url)}
    _post(db_url, [f.spend("S4", 300, D4)])
    _post(db_url, [f.spend("S2-late", 111, D2)])
    fast, plain = _both(db_url, D2)
    assert_frame_equal(fast, plain)
    assert _by_card(fast)[("A", "10442817")] == (50_000 - 1_250 - 700 - 111, 0, 47_939)
    assert {r[0] for r in _checkpoints(db_url)} == before
    fast, plain = _both(db_url, D4)
    assert_frame_equal(fast, plain)
    assert _by_card(fast)[("A", "10442817")] == (47_939 - 300, 0, 47_639)


def test_checkpoints_are_sums_up_to_their_watermark_and_old_ones_are_pruned(db_url):
    _post(db_url, [f.load("L1", 10_000, D1)])
    _both(db_url, D1)
    rows = _checkpoints(db_url)
    with get_engine(db_url).connect() as conn:
        top = conn.execute(text("SELECT max(posting_id) FROM postings")).scalar_one()
    assert rows == [("2026-03-02", f.CARD.code, int(top), 10_000)]

    later = D1 + dt.timedelta(days=CHECKPOINT_KEEP_DAYS + 1)
    _post(db_url, [f.spend("S1", 2_000, later)])
    fast, plain = _both(db_url, later)
    assert_frame_equal(fast, plain)
    assert {r[0] for r in _checkpoints(db_url)} == {later.isoformat()}  # the D1 checkpoint aged out


def test_reading_twice_writes_nothing_new_and_a_lost_checkpoint_table_changes_nothing(db_url):
    _post(db_url, [f.load("L1", 10_000, D1), f.spend("S1", 500, D2)])
    first, _ = _both(db_url, D2)
    rows = _checkpoints(db_url)
    again, _ = _both(db_url, D2)
    assert _checkpoints(db_url) == rows
    assert_frame_equal(first, again)
    with get_engine(db_url).begin() as conn:
        conn.execute(text("DELETE FROM card_balance_checkpoints"))
    rebuilt, plain = _both(db_url, D2)
    assert_frame_equal(rebuilt, plain)
    assert_frame_equal(rebuilt, first)


def test_account_totals_equal_the_sum_of_every_posting_before_and_after_a_checkpoint(db_url):
    codes = [f.CARD.code, f.CARD_CLIENT.code, OTHER.code, OTHER_CLIENT.code, SUSPENSE.code]

    def plain() -> dict[str, int]:
        with get_engine(db_url).connect() as conn:
            rows = conn.execute(text("SELECT account_code, sum(amount_pence) FROM postings GROUP BY account_code")).all()
        return {c: int(p) for c, p in rows if c in codes}

    def fast() -> dict[str, int]:
        with get_engine(db_url).connect() as conn:
            return account_totals(conn, codes)

    _post(db_url, [f.load("L1", 50_000, D1), f.entry("O1", [(OTHER.code, 30_000), (f.FUNDING.code, -30_000)], D1)])
    assert fast() == plain() == {f.CARD.code: 50_000, OTHER.code: 30_000}  # no checkpoint yet
    _both(db_url, D1)  # the night's reconciliation leaves a checkpoint for D1
    _post(db_url, [f.spend("S0-late", 700, D1), f.spend("S2", 300, D2), f.spend("S9", 50, D4)])
    assert fast() == plain() == {f.CARD.code: 50_000 - 1_050, OTHER.code: 30_000}
    with get_engine(db_url).connect() as conn:
        assert account_totals(conn, [OTHER.code]) == {OTHER.code: 30_000}
        assert account_totals(conn, []) == {}
