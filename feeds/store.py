"""Reading and writing the feed-side tables: canonical transactions, reference data, provider balances.

Why here: screening, reconciliation and clawback read the same canonical transactions and the
same council reference data; they get them through these functions, as polars frames in the
shapes of ``schemas/``, so none of them writes its own SQL against the feed tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl
import yaml
from sqlalchemy import Connection, bindparam, select, text

from feeds import take_ons
from ledger.bulk import bulk_insert, sql_datetime
from ledger.bulk_read import query_frame, rows_frame
from ledger.sqlfilters import execute_where_in, filtered_query, frame_where_in, rows_where_in
from ledger.tables import REFERENCE_TABLES, ref_councils, transactions, utc_hour_sql
from schemas.canonical import BALANCE_SCHEMA, CANONICAL_SCHEMA, CONTRIBUTION_SQL, SPEND_KINDS
from schemas.council_policy import parse_councils
from schemas.mcc import CASH_LIKE_PURCHASE_SQL
from schemas.reference import REFERENCE_FILES, ReferenceData

# Driver rows into a typed frame; the one definition is ledger.bulk_read.rows_frame (many callers use this name).
_frame = rows_frame


# --- reference data ---------------------------------------------------------------------------
def save_reference(conn: Connection, ref: ReferenceData, councils_yaml: str, extract_file: str) -> None:
    """Replace the stored reference data with this extract (the council sends full state, not deltas)."""
    for spec in REFERENCE_FILES:
        table = REFERENCE_TABLES[spec.file_name]
        conn.execute(table.delete())
        frame = ref.frame(spec)
        cols = [c.stored_name for c in spec.columns] + ["source_line"]
        bulk_insert(conn, table.name, frame.select(cols).with_columns(pl.lit(extract_file).alias("extract_file")))
    conn.execute(ref_councils.delete())
    doc = yaml.safe_load(councils_yaml)
    for raw in doc["councils"]:
        conn.execute(
            ref_councils.insert().values(
                name=str(raw["name"]),
                policy_yaml=yaml.safe_dump({"councils": [raw]}, sort_keys=True),
                extract_file=extract_file,
            )
        )


def load_reference(conn: Connection) -> ReferenceData:
    """The council reference data as last loaded (empty frames before the first extract)."""
    councils = {}
    for (policy_yaml,) in conn.execute(select(ref_councils.c.policy_yaml).order_by(ref_councils.c.name)):
        councils.update(parse_councils(policy_yaml))
    frames = {}
    for spec in REFERENCE_FILES:
        table = REFERENCE_TABLES[spec.file_name]
        cols = [c.stored_name for c in spec.columns] + ["source_line"]
        stmt = select(*[table.c[c] for c in cols]).order_by(table.c.row_id)
        frames[spec.file_name.removesuffix(".csv")] = query_frame(conn, stmt, None, spec.schema)
    return ReferenceData(councils=councils, **frames)


# --- canonical transactions -------------------------------------------------------------------
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


CLIENT_ACTIVITY_SCHEMA = {"client_id": pl.Utf8, "first_seen": pl.Date, "last_spend_day": pl.Date}
_SPEND_IN = "(" + ", ".join(f"'{k}'" for k in sorted(SPEND_KINDS)) + ")"
# One row per client per day with live items (the definition of table client_days): how many, and
# the last day money was spent by them (a settled spend's posting day, or an open authorisation's day).
CLIENT_DAYS_SQL = (
    "SELECT london_date, client_id, count(*),"
    f" max(CASE WHEN kind IN {_SPEND_IN} AND amount_pence < 0 AND status = 'settled' THEN coalesce(posted_date, london_date)"
    f" WHEN kind IN {_SPEND_IN} AND amount_pence < 0 AND status = 'pending' AND hold_open THEN london_date END)"
    " FROM transactions WHERE client_id IS NOT NULL AND status IN ('settled', 'pending') AND {where}"
    " GROUP BY london_date, client_id"
)
_CLIENT_DAYS_INSERT = "INSERT INTO client_days (london_date, client_id, live_items, last_spend_day) " + CLIENT_DAYS_SQL
CLIENT_ACTIVITY_SQL = (
    "SELECT client_id, min(london_date), max(last_spend_day) FROM client_days"
    " WHERE london_date >= :a AND london_date <= :b GROUP BY client_id"
)


def refresh_client_days(conn: Connection, touched: pl.DataFrame) -> int:
    """Recompute ``client_days`` for the (client_id, london_date) pairs in ``touched`` from their items.

    Called by whatever writes or changes transactions, in the same transaction (``feeds.ingest``
    does; tests that write items directly call it too): the rows are then exactly what aggregating
    the items would give (tests/screening/test_history_selection.py compares the whole table with
    that). Per day, by ``ix_transactions_client_date``: a night's cost follows its items, not the
    history. Returns the rows written."""
    touched = touched.select("client_id", "london_date").drop_nulls().unique()
    written = 0
    for (day,), group in touched.group_by("london_date"):
        clients = sorted(group["client_id"].to_list())
        params = {"d": day}
        execute_where_in(conn, "DELETE FROM client_days WHERE london_date = :d AND {match}", "client_id", clients, params)
        insert = _CLIENT_DAYS_INSERT.format(where="london_date = :d AND {match}")
        written += execute_where_in(conn, insert, "client_id", clients, params)
    return written


def rebuild_client_days(conn: Connection, date_from: dt.date | None = None, date_to: dt.date | None = None) -> int:
    """Rebuild ``client_days`` for [date_from, date_to] (all days when not given) from the items: for
    a migrated database and for bulk-copied history. Returns the rows written."""
    where, params = "1 = 1", {}
    if date_from is not None:
        where, params = where + " AND london_date >= :a", {**params, "a": date_from}
    if date_to is not None:
        where, params = where + " AND london_date <= :b", {**params, "b": date_to}
    conn.execute(text(f"DELETE FROM client_days WHERE {where}"), params)
    return conn.execute(text(_CLIENT_DAYS_INSERT.format(where=where)), params).rowcount


def client_activity(conn: Connection, date_from: dt.date, date_to: dt.date) -> pl.DataFrame:
    """Per client over [date_from, date_to]: the first day any live item was seen, and the last day
    money was spent (a settled spend's posting day, or an open authorisation's day). One row per
    client instead of every item: what the dormant-card and cash-spike rules need of older history.
    Read from ``client_days`` (a row per client per day), so the window's items are never scanned:
    on a 60-day SQLite history of 10,000 cards this read was 3.2 s of a 17 s night."""
    return query_frame(conn, text(CLIENT_ACTIVITY_SQL), {"a": date_from, "b": date_to}, CLIENT_ACTIVITY_SCHEMA)


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
    return _frame(rows, schema).unique()


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
    return _frame(
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


# --- provider balances ------------------------------------------------------------------------
_BALANCE_KEY_SCHEMA = {k: BALANCE_SCHEMA[k] for k in ("provider", "account_id", "balance_date")}  # a stored balance's key


def save_provider_balances(conn: Connection, balances: pl.DataFrame) -> int:
    """Store closing balances; a later file for the same account and day supersedes the earlier. Rows that
    could need or move their card's take-on are queued with them (``feeds.take_ons``)."""
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


__all__ = [
    "known_contributors",
    "load_provider_balances",
    "load_reference",
    "load_transactions",
    "open_holds",
    "save_provider_balances",
    "save_reference",
    "transactions",
]
