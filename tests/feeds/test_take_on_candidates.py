"""Goal: the nightly search for cards whose take-on is missing or must move earlier
(``feeds.ingest.take_on_candidates``) finds exactly the cards that the plain definition finds, on
SQLite and PostgreSQL, while seeking card by card instead of reading every balance row ever loaded.

The plain definition is kept here: group every balance row by card, take the card's first balance day
whose transactions file has loaded, and keep the cards with no take-on or a later one. Random balance
rows, loaded and unloaded transactions files, and take-ons (missing, at the first day, later, earlier)
must give the same rows both ways.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from feeds import store
from feeds.ingest import TAKE_ON_CANDIDATE_SCHEMA, take_on_candidates
from ledger.bulk import bulk_insert
from ledger.db import get_engine

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
PROVIDERS = ("A", "B", "C")
ACCOUNTS = ("1001", "1002", "20", "x-9")  # unequal lengths: the walk must order them as the index does


def _sorted(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort("provider", "account_id", "balance_date")


def _write(conn, balances: set, files: dict, take_ons: dict) -> None:
    for table in ("provider_balances", "feed_files", "card_take_ons"):
        conn.execute(text(f"DELETE FROM {table}"))
    rows = sorted(balances)
    bulk_insert(conn, "provider_balances", pl.DataFrame(
        {
            "provider": [p for p, _, _ in rows],
            "account_id": [a for _, a, _ in rows],
            "balance_date": [DAY0 + dt.timedelta(days=d) for _, _, d in rows],
            "closing_balance_pence": [1000 * d + 7 for _, _, d in rows],
            "available_balance_pence": [None] * len(rows),
            "source_file": ["balances.csv"] * len(rows),
            "loaded_at": [NOW] * len(rows),
        },
        schema_overrides={"available_balance_pence": pl.Int64},
    ))
    for i, ((provider, day), status) in enumerate(sorted(files.items())):
        conn.execute(
            text(
                "INSERT INTO feed_files (sha256, file_name, provider, file_kind, feed_date, status, loaded_at, rows_read,"
                " rows_posted, rows_already_posted, rows_pending, rows_quarantined, incidents)"
                " VALUES (:sha, :name, :p, 'transactions', :d, :s, :now, 0, 0, 0, 0, 0, 0)"
            ),
            {"sha": f"{i:064d}", "name": f"{provider}_{day}.csv", "p": provider, "d": DAY0 + dt.timedelta(days=day),
             "s": status, "now": NOW},
        )
    for (provider, account), day in sorted(take_ons.items()):
        conn.execute(
            text("INSERT INTO card_take_ons (provider, account_id, balance_date, amount_pence, entry_id) VALUES (:p, :a, :d, 0, :e)"),
            {"p": provider, "a": account, "d": DAY0 + dt.timedelta(days=day), "e": 500 + day},
        )


cards = st.tuples(st.sampled_from(PROVIDERS), st.sampled_from(ACCOUNTS))
worlds = st.tuples(
    st.sets(st.tuples(st.sampled_from(PROVIDERS), st.sampled_from(ACCOUNTS), st.integers(0, 9)), max_size=40),
    st.dictionaries(st.tuples(st.sampled_from(PROVIDERS), st.integers(0, 9)), st.sampled_from(["loaded", "refused"]), max_size=20),
    st.dictionaries(cards, st.integers(0, 9), max_size=10),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds)
def test_the_card_by_card_search_finds_what_the_plain_definition_finds(db_url, world):
    balances, files, take_ons = world
    with get_engine(db_url).begin() as conn:
        _write(conn, balances, files, take_ons)
        plain = store._frame(conn.execute(text(PLAIN_SQL)).all(), TAKE_ON_CANDIDATE_SCHEMA)
        found = take_on_candidates(conn)
        conn.rollback()
    assert _sorted(found).equals(_sorted(plain))


def test_a_late_earlier_day_moves_the_take_on_and_a_settled_card_is_not_a_candidate(db_url):
    balances = {("A", "1001", d) for d in (3, 4, 5)} | {("A", "1002", d) for d in (1, 2)} | {("B", "20", 6)}
    files = {("A", 1): "loaded", ("A", 3): "loaded", ("A", 4): "loaded", ("A", 5): "loaded", ("B", 6): "refused"}
    take_ons = {("A", "1001"): 4, ("A", "1002"): 1}
    with get_engine(db_url).begin() as conn:
        _write(conn, balances, files, take_ons)
        found = _sorted(take_on_candidates(conn))
        conn.rollback()
    # 1001: day 3 arrived after its take-on at day 4 was posted, so the take-on moves to day 3.
    # 1002: its take-on is at its first loaded day. B/20: its only day's transactions file was refused.
    assert found.select("provider", "account_id", "balance_date", "old_date", "old_entry_id").rows() == [
        ("A", "1001", DAY0 + dt.timedelta(days=3), DAY0 + dt.timedelta(days=4), 504),
    ]
    assert found["closing_balance_pence"].to_list() == [3007]
