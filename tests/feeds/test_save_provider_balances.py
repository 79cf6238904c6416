"""Goal: a provider's balance for a card and day is stored once, and a later file for the same card and
day supersedes it (``records.balances.save_provider_balances``), on SQLite and PostgreSQL, whatever mix of
new days, re-sent days, other providers and repeated rows the files bring.

The store finds what a file supersedes by the day's stored rows rather than by one delete per card
(a night's cost must not grow with the history of balances), so the model here is the plain rule: a
dict keyed by (provider, card, day), last write wins.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from db.engine import get_engine
from records.balances import load_provider_balances, save_provider_balances

DAY0 = dt.date(2026, 3, 2)
row = st.tuples(
    st.sampled_from(("A", "B", "C")),
    st.sampled_from(("1001", "1002", "20", "300")),  # unequal lengths
    st.integers(0, 3),
    st.integers(-50_000, 50_000),
)


def _frame(rows: list[tuple[str, str, int, int]], file_no: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "provider": [r[0] for r in rows],
            "account_id": [r[1] for r in rows],
            "balance_date": [DAY0 + dt.timedelta(days=r[2]) for r in rows],
            "closing_balance_pence": [r[3] for r in rows],
            "available_balance_pence": [None] * len(rows),
            "source_file": [f"balances-{file_no}.csv"] * len(rows),
        },
        schema_overrides={"available_balance_pence": pl.Int64, "balance_date": pl.Date},
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(files=st.lists(st.lists(row, min_size=1, max_size=10), min_size=1, max_size=5))
def test_later_file_supersedes_same_card_and_day_and_leaves_the_rest(db_url, files):
    engine = get_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM take_on_pending"))
        conn.execute(text("DELETE FROM provider_balances"))
    model: dict[tuple[str, str, dt.date], tuple[int, str]] = {}
    for file_no, rows in enumerate(files):
        with engine.begin() as conn:
            saved = save_provider_balances(conn, _frame(rows, file_no))
        assert saved == len({(p, a, d) for p, a, d, _ in rows})  # a row repeated in one file counts once
        for p, a, d, pence in rows:  # within a file, the last row for a card and day wins
            model[(p, a, DAY0 + dt.timedelta(days=d))] = (pence, f"balances-{file_no}.csv")
        with engine.connect() as conn:
            stored = load_provider_balances(conn)
        got = {
            (r["provider"], r["account_id"], r["balance_date"]): (r["closing_balance_pence"], r["source_file"])
            for r in stored.iter_rows(named=True)
        }
        assert stored.height == len(got)  # one row per card and day
        assert got == model
