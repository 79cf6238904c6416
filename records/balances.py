"""The providers' closing balances: stored (a later file supersedes) and read back by day."""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import Connection, text

from db.bulk import bulk_insert
from db.bulk_read import query_frame, rows_frame
from db.sqlfilters import execute_where_in, filtered_query, frame_where_in, rows_where_in
from records import take_on_queue as take_ons
from schemas.canonical import BALANCE_SCHEMA

_BALANCE_KEY_SCHEMA = {k: BALANCE_SCHEMA[k] for k in ("provider", "account_id", "balance_date")}  # a stored balance's key


def save_provider_balances(conn: Connection, balances: pl.DataFrame) -> int:
    """Store closing balances; a later file for the same account and day supersedes the earlier. Rows that
    could need or move their card's take-on are queued with them (``records.take_on_queue``)."""
    if balances.height == 0:
        return 0
    balances = balances.unique(["provider", "account_id", "balance_date"], keep="last", maintain_order=True)
    # Supersede: delete what is stored for these (provider, day, account), then insert the new rows in
    # bulk. The stored rows of the file's days are found first by the date index: on a normal night
    # there are none, and a delete by account would seek the primary key once per card instead (on a
    # 60-day SQLite history, 0.17 s a night against 0.02 s on day 1, growing with history).
    stored = frame_where_in(
        conn, "SELECT provider, account_id, balance_date FROM provider_balances WHERE {match}", "balance_date",
        balances["balance_date"].unique().sort().to_list(), _BALANCE_KEY_SCHEMA,
    )
    superseded = balances.select(list(_BALANCE_KEY_SCHEMA)).join(stored, on=list(_BALANCE_KEY_SCHEMA), how="semi")
    sql = "DELETE FROM provider_balances WHERE provider = :p AND balance_date = :d AND {match}"
    for (provider, day), group in superseded.group_by("provider", "balance_date", maintain_order=True):
        execute_where_in(conn, sql, "account_id", group["account_id"].to_list(), {"p": provider, "d": day})
    now = dt.datetime.now(dt.UTC)
    bulk_insert(
        conn,
        "provider_balances",
        balances.select(
            "provider", "account_id", "balance_date", "closing_balance_pence", "available_balance_pence", "source_file"
        ).with_columns(pl.lit(now, dtype=pl.Datetime("us", "UTC")).alias("loaded_at")),
    )
    take_ons.queue_balances(conn, balances)  # the rows that could need a take-on, in this same transaction
    return balances.height


def load_provider_balances(conn: Connection, date_from: dt.date | None = None, date_to: dt.date | None = None) -> pl.DataFrame:
    stmt, params = filtered_query(
        "SELECT provider, account_id, balance_date, closing_balance_pence, available_balance_pence, source_file"
        " FROM provider_balances",
        [("balance_date", ">=", date_from), ("balance_date", "<=", date_to)],
        suffix="ORDER BY provider, account_id, balance_date",
    )
    schema = {k: v for k, v in BALANCE_SCHEMA.items() if k != "source_line"}
    return query_frame(conn, stmt, params, schema)


def balance_days(
    conn: Connection, date_from: dt.date, date_to: dt.date, *, loaded_after: dt.datetime | None = None
) -> set[dt.date]:
    """The days in [date_from, date_to] that have a provider balance stored (only those loaded after
    ``loaded_after``, when given: what changed since a moment)."""
    sql = "SELECT DISTINCT balance_date FROM provider_balances WHERE balance_date >= :f AND balance_date <= :t"
    params: dict = {"f": date_from, "t": date_to}
    if loaded_after is not None:
        sql, params = sql + " AND loaded_at > :at", {**params, "at": loaded_after}
    rows = conn.execute(text(sql), params).all()
    return set(rows_frame(rows, {"balance_date": pl.Date})["balance_date"].to_list())


ACCOUNT_BALANCE_SCHEMA = {k: BALANCE_SCHEMA[k] for k in ("provider", "account_id", "balance_date", "closing_balance_pence")}


def balances_of_accounts(conn: Connection, account_ids: list[str], date_from: dt.date, date_to: dt.date) -> pl.DataFrame:
    """Closing balances in [date_from, date_to] of these account ids (any provider), looked up in bounded
    chunks by account: the cost follows the accounts asked for, not cards × days."""
    rows = rows_where_in(
        conn,
        "SELECT provider, account_id, balance_date, closing_balance_pence FROM provider_balances"
        " WHERE {match} AND balance_date >= :f AND balance_date <= :t",
        "account_id", account_ids, {"f": date_from, "t": date_to},
    )
    return rows_frame(rows, ACCOUNT_BALANCE_SCHEMA)
