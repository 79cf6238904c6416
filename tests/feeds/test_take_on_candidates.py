"""Goal: the nightly search for cards whose take-on is missing or must move earlier reads the queue of
balance rows that could matter (``records.take_on_queue``), and finds exactly what the plain definition finds
from every balance row ever loaded, on SQLite and PostgreSQL, whatever order balances, transactions
files and take-on passes come in.

The plain definition is kept here: group every balance row by card, take the card's first balance day
whose transactions file has loaded, and keep the cards with no take-on or a later one. Random sequences
of the real steps (``save_provider_balances``, a transactions file loading or being refused, the real
``post_take_ons``) must give the same candidates both ways after every step.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from db.bulk_read import rows_frame
from db.engine import get_engine
from feeds.ingest import post_take_ons
from ledger.verify import verify_ledger
from records import take_on_queue as take_ons
from records.balances import save_provider_balances
from schemas.reference import ReferenceData

PLAIN_SQL = (
    "SELECT b.provider, b.account_id, b.balance_date, b.closing_balance_pence, t.balance_date, t.entry_id"
    " FROM provider_balances b"
    " JOIN (SELECT pb.provider, pb.account_id, min(pb.balance_date) AS first_day FROM provider_balances pb"
    "       WHERE EXISTS (SELECT 1 FROM feed_files ff WHERE ff.provider = pb.provider"
    "             AND ff.feed_date = pb.balance_date AND ff.file_kind = 'transactions' AND ff.status = 'loaded')"
    "       GROUP BY pb.provider, pb.account_id) f"
    "   ON f.provider = b.provider AND f.account_id = b.account_id AND f.first_day = b.balance_date"
    " LEFT JOIN card_take_ons t ON t.provider = b.provider AND t.account_id = b.account_id"
    " WHERE t.balance_date IS NULL OR t.balance_date > b.balance_date"
)
DAY0 = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 4, 1, 6, 0, tzinfo=dt.UTC)
PROVIDERS = ("A", "B")
ACCOUNTS = ("1001", "1002", "20")  # unequal lengths


def _day(n: int) -> dt.date:
    return DAY0 + dt.timedelta(days=n)


def _sorted(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort("provider", "account_id", "balance_date")


def _save(conn, rows: list[tuple[str, str, int, int]]) -> None:
    save_provider_balances(conn, pl.DataFrame(
        {
            "provider": [r[0] for r in rows],
            "account_id": [r[1] for r in rows],
            "balance_date": [_day(r[2]) for r in rows],
            "closing_balance_pence": [r[3] for r in rows],
            "available_balance_pence": [None] * len(rows),
            "source_file": ["balances.csv"] * len(rows),
        },
        schema_overrides={"available_balance_pence": pl.Int64},
    ))


def _file(conn, provider: str, day: int, status: str) -> None:
    n = conn.execute(text("SELECT count(*) FROM feed_files")).scalar_one()
    conn.execute(
        text(
            "INSERT INTO feed_files (sha256, file_name, provider, file_kind, feed_date, status, loaded_at, rows_read,"
            " rows_posted, rows_already_posted, rows_pending, rows_quarantined, incidents)"
            " VALUES (:sha, :name, :p, 'transactions', :d, :s, :now, 0, 0, 0, 0, 0, 0)"
        ),
        {"sha": f"{n:064d}", "name": f"{provider}_{day}.csv", "p": provider, "d": _day(day), "s": status, "now": NOW},
    )


def _both_ways(conn) -> tuple[pl.DataFrame, pl.DataFrame]:
    plain = rows_frame(conn.execute(text(PLAIN_SQL)).all(), take_ons.TAKE_ON_CANDIDATE_SCHEMA)
    return _sorted(take_ons.take_on_candidates(conn)), _sorted(plain)


save_step = st.tuples(
    st.just("save"),
    st.lists(st.tuples(st.sampled_from(PROVIDERS), st.sampled_from(ACCOUNTS), st.integers(0, 6), st.integers(-500, 5000)),
             min_size=1, max_size=6),
)
file_step = st.tuples(st.just("file"), st.sampled_from(PROVIDERS), st.integers(0, 6), st.sampled_from(["loaded", "refused"]))
pass_step = st.tuples(st.just("pass"))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(st.one_of(save_step, file_step, pass_step), min_size=1, max_size=12))
def test_the_queue_finds_what_every_balance_row_finds_after_every_step(db_url, steps):
    ref = ReferenceData.empty()
    with get_engine(db_url).begin() as conn:
        for step in [*steps, ("pass",)]:
            if step[0] == "save":
                _save(conn, step[1])
            elif step[0] == "file":
                _file(conn, *step[1:])
            else:
                post_take_ons(conn, ref, "take-on")
            found, plain = _both_ways(conn)
            assert found.equals(plain), (step, found, plain)
        assert _both_ways(conn)[0].height == 0  # the last pass left nothing to do
        # The queue holds no row a take-on covers, and every take-on is where the plain definition puts it.
        covered = conn.execute(text(
            "SELECT count(*) FROM take_on_pending q JOIN card_take_ons t ON t.provider = q.provider"
            " AND t.account_id = q.account_id AND t.balance_date <= q.balance_date"
        )).scalar_one()
        assert covered == 0
        assert verify_ledger(conn).ok
        conn.rollback()


def test_a_late_earlier_day_moves_the_take_on_and_a_refused_day_waits(db_url):
    ref = ReferenceData.empty()
    with get_engine(db_url).begin() as conn:
        _save(conn, [("A", "1001", 4, 4000), ("A", "1002", 1, 1000), ("B", "20", 6, 600)])
        for provider, day, status in (("A", 1, "loaded"), ("A", 4, "loaded"), ("B", 6, "refused")):
            _file(conn, provider, day, status)
        post_take_ons(conn, ref, "take-on")
        queued = conn.execute(text("SELECT provider, account_id FROM take_on_pending ORDER BY 1, 2")).all()
        assert [tuple(r) for r in queued] == [("B", "20")]  # its only day's transactions file was refused

        # Day 3 of card 1001 arrives after its take-on at day 4: it is queued, and the take-on moves.
        _save(conn, [("A", "1001", 3, 3000), ("A", "1001", 5, 5000)])
        _file(conn, "A", 3, "loaded")
        found = take_ons.take_on_candidates(conn)
        first_take_on = conn.execute(text("SELECT entry_id FROM card_take_ons WHERE account_id = '1001'")).scalar_one()
        assert found.select("provider", "account_id", "balance_date", "closing_balance_pence", "old_date", "old_entry_id").rows() == [
            ("A", "1001", _day(3), 3000, _day(4), first_take_on),
        ]
        post_take_ons(conn, ref, "take-on")
        moved = conn.execute(text("SELECT balance_date FROM card_take_ons WHERE account_id = '1001'")).scalar_one()
        assert str(moved)[:10] == _day(3).isoformat()
        assert take_ons.take_on_candidates(conn).height == 0
        # Day 5 was at or after the take-on when it was saved: never queued. B/20 still waits for a file.
        queued = conn.execute(text("SELECT provider, account_id FROM take_on_pending ORDER BY 1, 2")).all()
        assert [tuple(r) for r in queued] == [("B", "20")]
        conn.rollback()


def test_rebuild_queues_what_ingest_would_have(db_url):
    with get_engine(db_url).begin() as conn:
        _save(conn, [("A", "1001", 2, 200), ("A", "1001", 0, 100), ("B", "20", 1, 50)])
        _file(conn, "A", 0, "loaded")
        post_take_ons(conn, ReferenceData.empty(), "take-on")
        _save(conn, [("B", "20", 3, 70)])
        before = conn.execute(text("SELECT * FROM take_on_pending ORDER BY 1, 2, 3")).all()
        assert take_ons.rebuild(conn) == len(before) == 2  # B/20's two days; A/1001's days are covered
        assert conn.execute(text("SELECT * FROM take_on_pending ORDER BY 1, 2, 3")).all() == before
        conn.rollback()
