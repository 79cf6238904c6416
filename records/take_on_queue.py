"""Which cards need a take-on (or need theirs moved earlier), found from the balances that could change
the answer instead of from every balance ever loaded.

A card's take-on is at its first closing balance day whose transactions file has loaded (so a late file
is not absorbed into the take-on and counted twice; ``feeds.ingest.post_take_ons``). The plain way to
find the cards that need one groups every row of ``provider_balances`` by card, every night: 0.34-0.41 s
on a 60-day history of 10,000 cards on either database, growing by a row per card per day.

A balance row can only ever matter while it is dated before its card's take-on (or the card has none):
a take-on only moves earlier, never later, so a row at or after it never matters again. Those rows are
kept in ``take_on_pending``, written in the same transaction as the balances themselves
(``queue_balances``) and cleared by the take-on pass in its own transaction (``settle``). A normal night
queues nothing (every card's take-on is long in place); a new card queues its rows until its first
transactions file loads. Crash-safe both ways: rows are queued with the balances they stand for, and
leave only with the take-on that covers them.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, text

from db.bulk_read import rows_frame
from db.sqlfilters import execute_where_in


def _may_need_take_on(day: str) -> str:
    """A balance on ``day`` could need or move its card's take-on (``t``): none yet, or one dated after it.
    The one rule for what is queued and what is a candidate; ``settle`` drops exactly the rows it no longer holds for."""
    return f"(t.balance_date IS NULL OR t.balance_date > {day})"


_QUEUE_SQL = (
    "INSERT INTO take_on_pending (provider, account_id, balance_date)"
    " SELECT pb.provider, pb.account_id, pb.balance_date FROM provider_balances pb"
    " LEFT JOIN card_take_ons t ON t.provider = pb.provider AND t.account_id = pb.account_id"
    f" WHERE {{rows}} AND {_may_need_take_on('pb.balance_date')}"
    # Already queued (a file of the same day again): keep the one row. Not a NOT EXISTS: on a queue the
    # planner has no statistics for yet, PostgreSQL scanned the whole queue once per row (1.5 s on day 1).
    " ON CONFLICT (provider, account_id, balance_date) DO NOTHING"
)

# Per queued card: its earliest queued day whose transactions file has loaded; a candidate when it has no
# take-on or a later one. Every row that could be that day is queued (module docstring), so this is the
# same answer as grouping all of provider_balances (tests/feeds/test_take_on_candidates.py compares them).
TAKE_ON_CANDIDATES_SQL = (
    "SELECT b.provider, b.account_id, b.balance_date, b.closing_balance_pence, t.balance_date, t.entry_id"
    " FROM (SELECT q.provider, q.account_id, min(q.balance_date) AS first_day FROM take_on_pending q"
    "       WHERE EXISTS (SELECT 1 FROM feed_files ff WHERE ff.provider = q.provider AND ff.feed_date = q.balance_date"
    "             AND ff.file_kind = 'transactions' AND ff.status = 'loaded')"
    "       GROUP BY q.provider, q.account_id) f"
    " JOIN provider_balances b ON b.provider = f.provider AND b.account_id = f.account_id AND b.balance_date = f.first_day"
    " LEFT JOIN card_take_ons t ON t.provider = f.provider AND t.account_id = f.account_id"
    f" WHERE {_may_need_take_on('f.first_day')}"
)

TAKE_ON_CANDIDATE_SCHEMA = {
    "provider": pl.Utf8,
    "account_id": pl.Utf8,
    "balance_date": pl.Date,
    "closing_balance_pence": pl.Int64,
    "old_date": pl.Date,
    "old_entry_id": pl.Int64,
}


def queue_balances(conn: Connection, balances: pl.DataFrame) -> int:
    """Queue the balance rows just written (``balances``: provider, account_id, balance_date) that could
    need or move their card's take-on. Call in the transaction that wrote them. Looked up by primary key
    (provider, card, day), so the cost is the batch's rows, not the provider's history. Returns the rows queued."""
    queued = 0
    rows = "pb.provider = :p AND pb.balance_date = :d AND {match}"
    for (provider, day), group in balances.group_by("provider", "balance_date", maintain_order=True):
        queued += execute_where_in(conn, _QUEUE_SQL.format(rows=rows), "pb.account_id", group["account_id"].to_list(),
                                   {"p": provider, "d": day})
    return queued


def take_on_candidates(conn: Connection) -> pl.DataFrame:
    """Cards whose take-on is missing or must move earlier, with the balance it is to be taken from.

    A candidate has a balance day whose transactions file has loaded and either no take-on or a take-on
    after that day (an earlier day that arrived late): ``old_date`` and ``old_entry_id`` then name the
    take-on to move. Read from ``take_on_pending``: the cost is the queued rows, not the history.
    """
    return rows_frame(conn.execute(text(TAKE_ON_CANDIDATES_SQL)).all(), TAKE_ON_CANDIDATE_SCHEMA)


def settle(conn: Connection) -> int:
    """Drop queued rows that a take-on now covers (dated on or after it). Call in the take-on pass's
    transaction, after its take-ons are written. Returns the rows dropped."""
    return conn.execute(
        text(
            "DELETE FROM take_on_pending WHERE EXISTS (SELECT 1 FROM card_take_ons t"
            " WHERE t.provider = take_on_pending.provider AND t.account_id = take_on_pending.account_id"
            " AND t.balance_date <= take_on_pending.balance_date)"
        )
    ).rowcount


def rebuild(conn: Connection) -> int:
    """Rebuild the queue from every balance row (migration 0014; bulk-copied history). Returns the rows queued."""
    conn.execute(text("DELETE FROM take_on_pending"))
    return conn.execute(text(_QUEUE_SQL.format(rows="1 = 1"))).rowcount
