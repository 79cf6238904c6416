"""Reading the canonical transactions: by day, by client, the screening selections, holds, contributors.

Why here: screening, reconciliation and clawback read the same canonical transactions; they get them
through these functions, as polars frames in the shapes of ``schemas/``, so none of them writes its
own SQL against the records' tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl
from sqlalchemy import Connection, bindparam, text

from db.bulk import sql_datetime, to_date, to_utc
from db.bulk_read import query_frame, rows_frame
from db.sqlfilters import filtered_query, frame_where_in, rows_where_in
from records.tables import utc_hour_sql
from schemas.canonical import CANONICAL_SCHEMA, CONTRIBUTION_SQL, SPEND_KINDS
from schemas.mcc import CASH_LIKE_PURCHASE_SQL


def load_transactions(
    conn: Connection,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    *,
    client_ids: list[str] | None = None,
    statuses: tuple[str, ...] | None = None,
    kinds: tuple[str, ...] | None = None,
    schema: dict[str, pl.DataType] | None = None,
) -> pl.DataFrame:
    """Canonical transactions whose London date is in [date_from, date_to], as CANONICAL_SCHEMA plus
    ``hold_open`` (a pending item still holding funds) and ``entry_id`` (its journal entry once posted);
    ``schema``: only these of those columns (screening reads ``SCREEN_SCHEMA``)."""
    schema = TXN_SCHEMA if schema is None else schema
    cols = list(schema)
    stmt, params = filtered_query(
        f"SELECT {', '.join(cols)} FROM transactions",
        [
            ("london_date", ">=", date_from),
            ("london_date", "<=", date_to),
            ("client_id", "IN", client_ids),
            ("status", "IN", statuses),
            ("kind", "IN", kinds),
        ],
        suffix="ORDER BY occurred_at_utc, provider, provider_txn_id",
    )
    return query_frame(conn, stmt, params, schema)


TXN_SCHEMA: dict[str, pl.DataType] = {**CANONICAL_SCHEMA, "hold_open": pl.Boolean, "entry_id": pl.Int64}
# What screening reads of an item (screening.rules.prepare_items, screening.run.load_input): every
# canonical column but those only the ledger, reconciliation and statements use. Screening reads the
# night's items and more on every run, and each column is a Python value per row on the way out of
# SQLite: seven columns fewer (one a file name on every row) read about a quarter faster.
SCREEN_SCHEMA: dict[str, pl.DataType] = {
    c: t for c, t in TXN_SCHEMA.items()
    if c not in ("currency", "reference", "balance_after_pence", "source_file", "source_line", "hold_open", "entry_id")
}
_SCREEN_COLUMNS = ", ".join(SCREEN_SCHEMA)


def selected_transactions_sql(dialect: str, *, kinds: bool, cash_like: bool, hours: bool) -> list[str]:
    """The statements ``load_selected_transactions`` runs (also shown with their plans in
    docs/performance.md): :a..:b and the IN-lists :kinds, :hkinds/:hours for the parts asked for.

    One statement per part, each on its own index: kinds by ``ix_transactions_kind_date``, cash-like
    purchases by the partial ``ix_transactions_cash_like_date`` (SQLite is told to: on its own it
    walks every card purchase of the window by the kind index), and the night-hours part by the
    expression index ``ix_transactions_utc_hour`` (migration 0008; SQLite told to, as it otherwise
    prefers the date index). An OR of the parts would scan the whole window."""
    cols = f"SELECT {_SCREEN_COLUMNS} FROM transactions"
    window = " WHERE london_date >= :a AND london_date <= :b AND "
    out = []
    if kinds:
        out.append(cols + window + "kind IN :kinds")
    if cash_like:
        hint = " INDEXED BY ix_transactions_cash_like_date" if dialect == "sqlite" else ""
        out.append(cols + hint + window + CASH_LIKE_PURCHASE_SQL)
    if hours:
        hint = " INDEXED BY ix_transactions_utc_hour" if dialect == "sqlite" else ""
        out.append(cols + hint + window + f"{utc_hour_sql(dialect)} IN :hours AND kind IN :hkinds")
    return out


def load_selected_transactions(
    conn: Connection,
    date_from: dt.date,
    date_to: dt.date,
    *,
    kinds: Iterable[str] = (),
    cash_like: bool = False,
    hour_kinds: Iterable[str] = (),
    utc_hours: Iterable[int] = (),
) -> pl.DataFrame:
    """Transactions of [date_from, date_to] that are of one of ``kinds``, or cash-like card purchases
    (``schemas.mcc.CASH_LIKE_MCCS``), or of one of ``hour_kinds`` at one of the ``utc_hours``: the part
    of a long history the screening rules read, chosen in the database so the rest is never fetched.
    A row matching two parts comes once. This and the screening reads below return ``SCREEN_SCHEMA``'s
    columns."""
    kinds = sorted(set(kinds))
    hour_kinds, hours = sorted(set(hour_kinds)), sorted(set(utc_hours))
    with_hours = bool(hour_kinds and hours)
    params: dict = {"a": date_from, "b": date_to, "kinds": kinds, "hkinds": hour_kinds, "hours": hours}
    frames = []
    for sql in selected_transactions_sql(conn.dialect.name, kinds=bool(kinds), cash_like=cash_like, hours=with_hours):
        names = [n for n in ("kinds", "hkinds", "hours") if f":{n}" in sql]
        stmt = text(sql).bindparams(*[bindparam(n, expanding=True) for n in names])
        frames.append(query_frame(conn, stmt, {k: v for k, v in params.items() if k in ("a", "b", *names)}, SCREEN_SCHEMA))
    if not frames:
        return pl.DataFrame(schema=SCREEN_SCHEMA)
    return pl.concat(frames).unique(["provider", "provider_txn_id"], keep="first", maintain_order=True)


def load_transactions_occurred_from(conn: Connection, date_from: dt.date, date_to: dt.date, occurred_from: dt.datetime) -> pl.DataFrame:
    """Transactions of [date_from, date_to] that happened at or after ``occurred_from`` (UTC)."""
    sql = f"SELECT {_SCREEN_COLUMNS} FROM transactions WHERE london_date >= :a AND london_date <= :b AND occurred_at_utc >= :t"
    at = sql_datetime(conn.dialect.name, occurred_from)
    return query_frame(conn, text(sql), {"a": date_from, "b": date_to, "t": at}, SCREEN_SCHEMA)


def load_transactions_of_clients(conn: Connection, date_from: dt.date, date_to: dt.date, client_ids: list[str]) -> pl.DataFrame:
    """Every transaction of these clients in [date_from, date_to]."""
    sql = f"SELECT {_SCREEN_COLUMNS} FROM transactions WHERE london_date >= :a AND london_date <= :b AND {{match}}"
    return frame_where_in(conn, sql, "client_id", sorted(set(client_ids)), SCREEN_SCHEMA, {"a": date_from, "b": date_to})


def load_partner_transactions(conn: Connection, txns: pl.DataFrame, date_from: dt.date, date_to: dt.date) -> pl.DataFrame:
    """The other half of each authorisation pair in ``txns``, where it is in [date_from, date_to]: the
    pending authorisation a settlement, release or decline names, and the events naming a pending one.
    Screening needs both halves (an authorisation closed later is not counted twice, and a clearing
    takes its authorisation's time), whichever of them the selection above happened to fetch."""
    frames = [pl.DataFrame(schema=SCREEN_SCHEMA)]
    sql = f"SELECT {_SCREEN_COLUMNS} FROM transactions WHERE provider = :p AND london_date >= :a AND london_date <= :b AND {{match}}"
    halves = (
        # (rows whose partner is wanted, the id they know it by, the partner's column holding that id)
        (txns.filter(pl.col("related_txn_id").is_not_null() & (pl.col("status") != "pending")), "related_txn_id", "provider_txn_id"),
        (txns.filter(pl.col("status") == "pending"), "provider_txn_id", "related_txn_id"),
    )
    for known, id_column, partner_column in halves:
        for (provider,), group in known.group_by("provider"):
            ids = group[id_column].unique().to_list()
            frames.append(frame_where_in(conn, sql, partner_column, ids, SCREEN_SCHEMA, {"p": provider, "a": date_from, "b": date_to}))
    return pl.concat(frames)


def known_contributors_sql(dialect: str) -> str:
    """``known_contributors``' statement (``{match}``: the card account IN-list), read by the partial index
    of contributions, ``ix_transactions_contribution_payers``: the cards' contributions only, not every
    item they ever had. SQLite is told to use it (INDEXED BY): without statistics it takes the index of
    all items by card."""
    hint = " INDEXED BY ix_transactions_contribution_payers" if dialect == "sqlite" else ""
    return (
        f"SELECT DISTINCT client_id, payee_sort_code, payee_account_number FROM transactions{hint}"
        f" WHERE provider = :p AND {{match}} AND {CONTRIBUTION_SQL}"
        " AND payee_sort_code IS NOT NULL AND payee_account_number IS NOT NULL"
    )


def known_contributors(conn: Connection, cards: list[tuple[str, str]]) -> pl.DataFrame:
    """Payer accounts that have already paid a contribution onto these cards (provider, account_id):
    (client_id, payee_sort_code, payee_account_number). ``feeds.classify`` counts a later payment
    from the same account as a contribution even when its reference is mistyped beyond recognition."""
    schema = {"client_id": pl.Utf8, "payee_sort_code": pl.Utf8, "payee_account_number": pl.Utf8}
    rows: list[tuple] = []
    sql = known_contributors_sql(conn.dialect.name)
    by_provider: dict[str, list[str]] = {}
    for provider, account_id in cards:
        by_provider.setdefault(provider, []).append(account_id)
    for provider, accounts in by_provider.items():
        rows.extend(rows_where_in(conn, sql, "account_id", accounts, {"p": provider}))
    return rows_frame(rows, schema).unique()


# Rows holding funds at the end of day :d, authorised after :oldest (holds lapse): open now, or
# closed only on a later day. One definition for clawback and reconciliation.
HELD_AT_END_OF_DAY_SQL = "london_date <= :d AND london_date > :oldest AND (hold_open OR hold_closed_on > :d)"


def open_holds(conn: Connection, as_of: dt.date, *, expiry_days: int = 8) -> pl.DataFrame:
    """Pending authorisations holding funds at the end of ``as_of``, with the amount they held.

    Point in time: a hold that a later day settled or released still counts for ``as_of``, so a
    re-run of an older day after later days have loaded sees that day's holds, not today's. A hold
    the provider never settles or releases lapses after about 8 days (DOMAIN.md), so holds older
    than ``expiry_days`` are not counted.
    """
    rows = conn.execute(
        text(
            "SELECT provider, provider_txn_id, account_id, client_id, council,"
            " coalesce(held_amount_pence, amount_pence) AS amount_pence, london_date"
            f" FROM transactions WHERE {HELD_AT_END_OF_DAY_SQL}"
        ),
        {"d": as_of, "oldest": as_of - dt.timedelta(days=expiry_days)},
    ).all()
    return rows_frame(
        rows,
        {
            "provider": pl.Utf8,
            "provider_txn_id": pl.Utf8,
            "account_id": pl.Utf8,
            "client_id": pl.Utf8,
            "council": pl.Utf8,
            "amount_pence": pl.Int64,
            "london_date": pl.Date,
        },
    )


# --- reads by card account and by item id (reconciliation's explanations, clawback's first days) -----------
def _columns_of(schema: dict[str, pl.DataType]) -> str:
    assert all(TXN_SCHEMA.get(c) == t for c, t in schema.items()), "a transactions read asks for a column it does not have"
    return ", ".join(schema)


def _of_accounts(conn: Connection, account_ids: list[str], where: str, params: dict, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Transactions of these account ids (any provider) matching ``where``, looked up in bounded chunks."""
    sql = f"SELECT {_columns_of(schema)} FROM transactions WHERE {{match}} AND {where}"
    return frame_where_in(conn, sql, "account_id", account_ids, schema, params)


def unposted_settled(
    conn: Connection, account_ids: list[str], date_from: dt.date, date_to: dt.date, schema: dict[str, pl.DataType]
) -> pl.DataFrame:
    """Settled items of these accounts dated in [date_from, date_to] that no journal entry posted yet."""
    where = "status = 'settled' AND entry_id IS NULL AND london_date <= :d AND london_date >= :o"
    return _of_accounts(conn, account_ids, where, {"d": date_to, "o": date_from}, schema)


def pending_at_end_of_day(
    conn: Connection, account_ids: list[str], day: dt.date, schema: dict[str, pl.DataType], *, expiry_days: int = 8
) -> pl.DataFrame:
    """Items of these accounts pending at the end of ``day`` as the provider saw it: holding funds then
    (``HELD_AT_END_OF_DAY_SQL``: open now, or closed on a later day; lapsed after ``expiry_days``), or
    dated on or before the day but posted by the provider after it."""
    where = f"(({HELD_AT_END_OF_DAY_SQL}) OR (status = 'settled' AND posted_date > :d AND london_date <= :d))"
    return _of_accounts(conn, account_ids, where, {"d": day, "oldest": day - dt.timedelta(days=expiry_days)}, schema)


def posted_on_day(conn: Connection, account_ids: list[str], day: dt.date, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Settled items of these accounts that the ledger has posted and whose posting day (else their
    day) is ``day``."""
    where = "status = 'settled' AND entry_id IS NOT NULL AND ((posted_date = :d) OR (posted_date IS NULL AND london_date = :d))"
    return _of_accounts(conn, account_ids, where, {"d": day}, schema)


def transactions_by_id(conn: Connection, txn_ids: list[str], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Stored items whose provider transaction id is one of ``txn_ids`` (of any provider), looked up in
    bounded chunks."""
    if not txn_ids:
        return pl.DataFrame(schema=schema)
    sql = f"SELECT {_columns_of(schema)} FROM transactions WHERE {{match}}"
    return rows_frame(rows_where_in(conn, sql, "provider_txn_id", txn_ids), schema)


FIRST_ITEM_SCHEMA: dict[str, pl.DataType] = {"provider": pl.Utf8, "account_id": pl.Utf8, "first_day": pl.Date}


def first_item_days(conn: Connection, date_from: dt.date, date_to: dt.date) -> pl.DataFrame:
    """Per card (provider, account_id): the first London day in [date_from, date_to] it has an item."""
    rows = conn.execute(
        text(
            "SELECT provider, account_id, min(london_date) FROM transactions WHERE london_date >= :w AND london_date <= :t"
            " GROUP BY provider, account_id"
        ),
        {"w": date_from, "t": date_to},
    ).all()
    return rows_frame(rows, FIRST_ITEM_SCHEMA)


# --- one client's items, as the workspace's case page shows them -------------------------------------
EVIDENCE_ITEMS_MAX = 500  # evidence ids read for one page (a case's list; more are counted, not shown)
# Items that moved or hold money: settled, or authorised and still holding funds (a settled clearing and
# its closed authorisation are one payment, counted once).
LIVE_SQL = "(status = 'settled' OR (status = 'pending' AND hold_open))"
_SPEND_IN = "(" + ", ".join(f"'{k}'" for k in sorted(SPEND_KINDS)) + ")"
CLIENT_DAILY_FLOWS_SQL = (
    "SELECT london_date,"
    " coalesce(sum(CASE WHEN amount_pence > 0 THEN amount_pence ELSE 0 END), 0),"
    f" coalesce(sum(CASE WHEN amount_pence < 0 AND kind IN {_SPEND_IN} THEN -amount_pence ELSE 0 END), 0),"
    f" coalesce(sum(CASE WHEN amount_pence < 0 AND (kind = 'cash' OR ({CASH_LIKE_PURCHASE_SQL})) THEN -amount_pence ELSE 0 END), 0)"
    f" FROM transactions WHERE client_id = :c AND london_date >= :a AND london_date <= :b AND {LIVE_SQL}"
    " GROUP BY london_date ORDER BY london_date"
)


def _last4(number: str | None) -> str | None:
    return None if not number else str(number)[-4:]


def evidence_items(conn: Connection, evidence_ids: list[str]) -> list[dict]:
    """The items an evidence list names ('provider:provider_txn_id'), in its order, with the least data a
    person needs: when (UTC; a settlement is shown at its authorisation's time, when the card was used, as
    the rules see it), kind, status, amount, merchant, MCC, country, payee name, and the card's and payee
    account's last 4 digits only (never the full numbers). Ids not stored come back with ``missing``."""
    wanted = list(dict.fromkeys(evidence_ids))[:EVIDENCE_ITEMS_MAX]
    by_provider: dict[str, list[str]] = {}
    for ev in wanted:
        provider, _, txn_id = ev.partition(":")
        by_provider.setdefault(provider, []).append(txn_id)
    sql = (
        "SELECT t.provider, t.provider_txn_id, COALESCE(a.occurred_at_utc, t.occurred_at_utc), t.london_date, t.kind,"
        " t.status, t.amount_pence, t.merchant_name, t.mcc, t.merchant_country, t.payee_name, t.account_id,"
        " t.payee_account_number"
        " FROM transactions t LEFT JOIN transactions a ON a.provider = t.provider AND a.provider_txn_id = t.related_txn_id"
        " AND a.status = 'pending' AND t.status = 'settled'"
        " WHERE t.provider = :p AND {match}"
    )
    found: dict[str, dict] = {}
    for provider, ids in by_provider.items():
        for r in rows_where_in(conn, sql, "t.provider_txn_id", ids, {"p": provider}):
            found[f"{r[0]}:{r[1]}"] = {
                "id": f"{r[0]}:{r[1]}", "occurred_at_utc": to_utc(r[2]), "london_date": to_date(r[3]), "kind": r[4],
                "status": r[5], "amount_pence": int(r[6]), "merchant_name": r[7], "mcc": r[8], "merchant_country": r[9],
                "payee_name": r[10], "card_last4": _last4(r[11]), "payee_account_last4": _last4(r[12]), "missing": False,
            }
    return [found.get(ev, {"id": ev, "missing": True}) for ev in wanted]


def client_daily_flows(conn: Connection, client_id: str, date_from: dt.date, date_to: dt.date) -> list[dict]:
    """Per London day of [date_from, date_to] with live items: money in, money spent (card, cash, bank
    payments) and cash (cash and cash-like purchases), in pence. Read by the client's date index: the
    window's items only, summed in the database."""
    rows = conn.execute(text(CLIENT_DAILY_FLOWS_SQL), {"c": client_id, "a": date_from, "b": date_to}).all()
    return [{"london_date": to_date(r[0]), "in_pence": int(r[1]), "spend_pence": int(r[2]), "cash_pence": int(r[3])} for r in rows]


def client_recent_items(conn: Connection, client_id: str, date_from: dt.date, date_to: dt.date, kinds: Iterable[str],
                        *, limit: int = 20) -> list[dict]:
    """The client's latest live items of these kinds in [date_from, date_to], newest first, at most ``limit``."""
    assert 0 < limit <= 500, "a page shows a bounded number of items"
    stmt = text(
        "SELECT london_date, kind, amount_pence, reference, account_id FROM transactions"
        f" WHERE client_id = :c AND london_date >= :a AND london_date <= :b AND kind IN :k AND {LIVE_SQL}"
        " ORDER BY london_date DESC, occurred_at_utc DESC LIMIT :n"
    ).bindparams(bindparam("k", expanding=True))
    rows = conn.execute(stmt, {"c": client_id, "a": date_from, "b": date_to, "k": sorted(set(kinds)), "n": limit}).all()
    return [{"london_date": to_date(r[0]), "kind": r[1], "amount_pence": int(r[2]), "reference": r[3], "card_last4": _last4(r[4])}
            for r in rows]
