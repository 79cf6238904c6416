"""Reading the ledger: balances as of a moment, the trial balance, statements of account.

Every figure here is a sum of postings. The one shortcut is ``card_balances`` as of a day: it starts
from a checkpoint (``card_balance_checkpoints``) and adds the postings made since, which gives
exactly the plain sum (see ``card_balances``) while the nightly read stops growing with history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, bindparam, text

from db.bulk import bulk_insert, to_date
from db.bulk_read import rows_frame
from ledger.posting_rules import TAKE_ON_ENTRY_TYPE

CARD_ROLES = ("card_council", "card_client", "suspense_card")
CHECKPOINT_KEEP_DAYS = 42  # checkpoints older than this before the newest are pruned (the look-back is 35 days)


def _as_of_clause(as_of: dt.date | dt.datetime | None) -> tuple[str, dict]:
    if as_of is None:
        return "", {}
    if isinstance(as_of, dt.datetime):
        if as_of.tzinfo is None:
            raise ValueError("as_of datetime must be timezone-aware (UTC or London)")
        return " AND p.effective_at <= :as_of", {"as_of": as_of.astimezone(dt.UTC)}
    return " AND p.london_date <= :as_of", {"as_of": as_of}


def balances(
    conn: Connection,
    as_of: dt.date | dt.datetime | None = None,
    *,
    prefix: str | None = None,
    codes: list[str] | None = None,
) -> pl.DataFrame:
    """Balance of every account (or those under ``prefix`` / in ``codes``) as of a London day or a moment.

    A date means "at the end of that London day"; a datetime means "at that instant".
    """
    # The as-of condition sits in the LEFT JOIN's ON clause so accounts with no postings yet show 0.
    on_clause, params = _as_of_clause(as_of)
    filters = []
    if prefix:
        filters.append("a.code LIKE :prefix")
        params["prefix"] = prefix + "%"
    if codes is not None:
        filters.append("a.code IN :codes")
        params["codes"] = codes
    stmt_sql = (
        "SELECT a.code, a.name, a.account_type, a.role, a.council, a.client_id,"
        " coalesce(sum(p.amount_pence), 0) AS balance_pence"
        " FROM accounts a LEFT JOIN postings p ON p.account_code = a.code" + on_clause
        + ((" WHERE " + " AND ".join(filters)) if filters else "")
        + " GROUP BY a.code, a.name, a.account_type, a.role, a.council, a.client_id ORDER BY a.code"
    )
    stmt = text(stmt_sql)
    if codes is not None:
        stmt = stmt.bindparams(bindparam("codes", expanding=True))
    rows = conn.execute(stmt, params).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={
            "code": pl.Utf8,
            "name": pl.Utf8,
            "account_type": pl.Utf8,
            "role": pl.Utf8,
            "council": pl.Utf8,
            "client_id": pl.Utf8,
            "balance_pence": pl.Int64,
        },
        orient="row",
    )


def trial_balance(conn: Connection, as_of: dt.date | dt.datetime | None = None) -> pl.DataFrame:
    """Totals by account type; the ``balance_pence`` column sums to zero in a sound ledger."""
    tb = (
        balances(conn, as_of)
        .group_by("account_type")
        .agg(pl.col("balance_pence").sum(), pl.len().alias("accounts"))
        .sort("account_type")
    )
    total = int(tb["balance_pence"].sum()) if tb.height else 0
    assert total == 0, f"trial balance does not sum to zero: {total} pence"
    return tb


CARD_BALANCES_SCHEMA = {
    "provider": pl.Utf8,
    "account_id": pl.Utf8,
    "client_id": pl.Utf8,
    "council": pl.Utf8,
    "council_part_pence": pl.Int64,
    "client_part_pence": pl.Int64,
    "balance_pence": pl.Int64,
}
_ROLE_FILTER = "a.role IN ('card_council', 'card_client', 'suspense_card')"


def card_balance_queries(as_of: dt.date) -> dict[str, tuple[str, dict]]:
    """The statements ``card_balances`` runs for a day (for the benchmark's query plans)."""
    return {
        "latest checkpoint on or before the day": (_CHECKPOINT_SQL, {"d": as_of}),
        "postings since the checkpoint": (_DELTA_SQL, {"w": 1, "wn": 2, "d": as_of}),
        "checkpoint balances": (_CHECKPOINT_ROWS_SQL, {"c": as_of}),
        "card accounts": (_ACCOUNTS_SQL, {}),
    }


_CHECKPOINT_SQL = (
    "SELECT as_of_date, through_posting_id FROM card_balance_checkpoints WHERE as_of_date <= :d"
    " ORDER BY as_of_date DESC LIMIT 1"
)
_DELTA_SQL = (
    "SELECT account_code, sum(amount_pence) FROM postings"
    " WHERE posting_id > :w AND posting_id <= :wn AND london_date <= :d GROUP BY account_code"
)
_CHECKPOINT_ROWS_SQL = "SELECT account_code, balance_pence FROM card_balance_checkpoints WHERE as_of_date = :c"
_ACCOUNTS_SQL = f"SELECT a.code, a.provider, a.provider_account_id, a.client_id, a.council, a.role FROM accounts a WHERE {_ROLE_FILTER}"


def _card_rows_plain(conn: Connection, as_of: dt.date | dt.datetime | None) -> pl.DataFrame:
    """Per card account: the sum of all its postings up to ``as_of`` (the definition)."""
    where, params = _as_of_clause(as_of)
    rows = conn.execute(
        text(
            "SELECT a.provider, a.provider_account_id, a.client_id, a.council, a.role,"
            " coalesce(sum(p.amount_pence), 0)"
            " FROM accounts a LEFT JOIN postings p ON p.account_code = a.code" + where +
            f" WHERE {_ROLE_FILTER}"
            " GROUP BY a.provider, a.provider_account_id, a.client_id, a.council, a.role"
        ),
        params,
    ).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={"provider": pl.Utf8, "account_id": pl.Utf8, "client_id": pl.Utf8, "council": pl.Utf8, "role": pl.Utf8,
                "balance_pence": pl.Int64},
        orient="row",
    )


def _card_rows_from_checkpoint(conn: Connection, as_of: dt.date) -> pl.DataFrame:
    """Per card account: its balance at the end of ``as_of`` = checkpoint + postings since, and a new checkpoint.

    A checkpoint row (D, W, B) holds B = the sum of the account's postings with ``posting_id <= W`` and
    ``london_date <= D``, written only when no posting with ``posting_id <= W`` is dated after D. Postings are
    never updated or deleted (the database refuses it) and ids rise in commit order (posting holds the ledger
    lock), so for any day X >= D the balance is exactly

        B + sum(postings with posting_id > W and london_date <= X)

    A back-dated posting (dated on or before D, posted after the checkpoint) has an id above W and is counted
    by the second term: no checkpoint ever needs invalidating. The second term reads only the postings made
    since the checkpoint, by the primary key — a night's postings, not the whole history.
    """
    cp = conn.execute(text(_CHECKPOINT_SQL), {"d": as_of}).one_or_none()
    cp_date, cp_through = (to_date(cp[0]), int(cp[1])) if cp else (None, 0)
    through = int(conn.execute(text("SELECT coalesce(max(posting_id), 0) FROM postings")).scalar_one())
    accounts = pl.DataFrame(
        [tuple(r) for r in conn.execute(text(_ACCOUNTS_SQL)).all()],
        schema={"account_code": pl.Utf8, "provider": pl.Utf8, "account_id": pl.Utf8, "client_id": pl.Utf8,
                "council": pl.Utf8, "role": pl.Utf8},
        orient="row",
    )
    pence = {"account_code": pl.Utf8, "pence": pl.Int64}
    base = pl.DataFrame(
        [tuple(r) for r in conn.execute(text(_CHECKPOINT_ROWS_SQL), {"c": cp_date}).all()] if cp_date else [],
        schema=pence, orient="row",
    )
    delta = pl.DataFrame(
        [tuple(r) for r in conn.execute(text(_DELTA_SQL), {"w": cp_through, "wn": through, "d": as_of}).all()]
        if through > cp_through else [],
        schema=pence, orient="row",
    )
    moved = pl.concat([base, delta]).group_by("account_code").agg(pl.col("pence").sum())
    out = accounts.join(moved, on="account_code", how="left").with_columns(
        pl.col("pence").fill_null(0).alias("balance_pence")
    )
    _save_checkpoint(conn, as_of, through, cp_date, cp_through, out.select("account_code", "balance_pence"))
    return out.select("provider", "account_id", "client_id", "council", "role", "balance_pence")


def _save_checkpoint(
    conn: Connection, as_of: dt.date, through: int, cp_date: dt.date | None, cp_through: int, rows: pl.DataFrame
) -> None:
    """Keep ``rows`` as the checkpoint for ``as_of`` when that is sound and new (see ``_card_rows_from_checkpoint``).

    Sound: no posting up to ``through`` is dated after ``as_of`` (checked on the entries' date index: every
    posting carries its entry's day). New: there is no checkpoint for this day at least this recent.
    """
    if through == 0 or (cp_date == as_of and cp_through >= through):
        return
    latest = to_date(conn.execute(text("SELECT max(london_date) FROM journal_entries")).scalar_one())
    if latest is None or latest > as_of:
        return
    conn.execute(text("DELETE FROM card_balance_checkpoints WHERE as_of_date = :d"), {"d": as_of})
    frame = rows.filter(pl.col("balance_pence") != 0).select(
        pl.lit(as_of).alias("as_of_date"),
        "account_code",
        pl.lit(through, dtype=pl.Int64).alias("through_posting_id"),
        "balance_pence",
        pl.lit(dt.datetime.now(dt.UTC)).dt.cast_time_unit("us").alias("created_at"),
    )
    bulk_insert(conn, "card_balance_checkpoints", frame)
    conn.execute(
        text("DELETE FROM card_balance_checkpoints WHERE as_of_date < :old"),
        {"old": as_of - dt.timedelta(days=CHECKPOINT_KEEP_DAYS)},
    )


def account_totals(conn: Connection, codes: list[str]) -> dict[str, int]:
    """Sum of all postings (every date) of each of these card accounts; codes with no postings are left out.

    For the posting rules' "what is on the card now": the newest checkpoint holds every posting up to its
    ``through_posting_id`` (none dated after its day), so the total is that plus every posting made since,
    read by the primary key — the same figure as summing the account's whole history.
    """
    if not codes:
        return {}
    from db.sqlfilters import rows_where_in

    wanted = set(codes)
    cp = conn.execute(
        text("SELECT as_of_date, through_posting_id FROM card_balance_checkpoints ORDER BY as_of_date DESC LIMIT 1")
    ).one_or_none()
    totals: dict[str, int] = {}
    if cp is not None:
        sql = "SELECT account_code, balance_pence FROM card_balance_checkpoints WHERE as_of_date = :c AND {match}"
        for code, pence in rows_where_in(conn, sql, "account_code", list(wanted), params={"c": cp[0]}):
            totals[code] = int(pence)
    # Both bounds on posting_id: with only ``>`` SQLite walks ix_postings_account_date for the GROUP BY
    # (the whole history) instead of the primary-key range (measured 2.95 s against 0.04 s at 5.8M postings).
    through = int(conn.execute(text("SELECT coalesce(max(posting_id), 0) FROM postings")).scalar_one())
    since = conn.execute(
        text("SELECT account_code, sum(amount_pence) FROM postings WHERE posting_id > :w AND posting_id <= :wn GROUP BY account_code"),
        {"w": int(cp[1]) if cp is not None else 0, "wn": through},
    ).all()
    for code, pence in since:
        if code in wanted:
            totals[code] = totals.get(code, 0) + int(pence)
    return totals


def card_balances(conn: Connection, as_of: dt.date | None = None, *, use_checkpoints: bool = True) -> pl.DataFrame:
    """Per card: council-funded part, client-funded part and total, as of the end of a London day.

    Each part is the sum of the card account's postings dated up to ``as_of``. For a day this is read
    from the newest checkpoint on or before it plus the postings made since (``_card_rows_from_checkpoint``),
    which equals the plain sum exactly; reading a day at or after every posted day also leaves a checkpoint
    for the next night. Callers hold the ledger lock (reconciliation, clawback), so writers never race.
    ``use_checkpoints=False`` sums every posting (the definition; tests compare the two).
    """
    if use_checkpoints and isinstance(as_of, dt.date) and not isinstance(as_of, dt.datetime):
        df = _card_rows_from_checkpoint(conn, as_of)
    else:
        df = _card_rows_plain(conn, as_of)
    if df.height == 0:
        return pl.DataFrame(schema=CARD_BALANCES_SCHEMA)
    out = df.group_by("provider", "account_id").agg(
        pl.col("client_id").drop_nulls().first(),
        pl.col("council").drop_nulls().first(),
        pl.col("balance_pence").filter(pl.col("role") != "card_client").sum().alias("council_part_pence"),
        pl.col("balance_pence").filter(pl.col("role") == "card_client").sum().alias("client_part_pence"),
    )
    return out.with_columns((pl.col("council_part_pence") + pl.col("client_part_pence")).alias("balance_pence")).sort(
        "provider", "account_id"
    )


@dataclass
class Statement:
    client_id: str
    date_from: dt.date
    date_to: dt.date
    opening_pence: int
    closing_pence: int
    items: pl.DataFrame  # london_date, entry_id, entry_type, description, amount_pence, running_balance_pence

    def __post_init__(self) -> None:
        total = int(self.items["amount_pence"].sum()) if self.items.height else 0
        assert self.opening_pence + total == self.closing_pence, "statement: opening + items != closing"


def client_known(conn: Connection, client_id: str) -> bool:
    """Whether the ledger has a card account of this client (a statement of anyone else is a mistake)."""
    sql = "SELECT 1 FROM accounts WHERE client_id = :c AND role IN ('card_council', 'card_client')"
    return conn.execute(text(sql), {"c": client_id}).first() is not None


def statement(conn: Connection, client_id: str, date_from: dt.date, date_to: dt.date) -> Statement:
    """A client's statement of account for a period: the card's money, both parts together."""
    if date_to < date_from:
        raise ValueError(f"statement period ends ({date_to}) before it starts ({date_from})")
    card_filter = "a.client_id = :c AND a.role IN ('card_council', 'card_client')"
    opening = client_card_balance(conn, client_id, date_from - dt.timedelta(days=1))["balance_pence"]
    rows = conn.execute(
        text(
            "SELECT e.london_date, e.entry_id, e.entry_type, e.description, e.provider_txn_id,"
            " sum(p.amount_pence) AS amount_pence"
            " FROM postings p JOIN accounts a ON a.code = p.account_code JOIN journal_entries e ON e.entry_id = p.entry_id"
            f" WHERE {card_filter} AND p.london_date >= :f AND p.london_date <= :t"
            " GROUP BY e.london_date, e.entry_id, e.entry_type, e.description, e.provider_txn_id"
            " HAVING sum(p.amount_pence) <> 0"
            # The take-on (money on the card before its first feed) comes first on its day: it was
            # there before that day's spending, though it is posted after it (at the day's balance).
            " ORDER BY e.london_date, CASE WHEN e.entry_type = :take_on THEN 0 ELSE 1 END, e.entry_id"
        ),
        {"c": client_id, "f": date_from, "t": date_to, "take_on": TAKE_ON_ENTRY_TYPE},
    ).all()
    items = pl.DataFrame(
        [(to_date(r[0]), int(r[1]), r[2], r[3], r[4], int(r[5])) for r in rows],
        schema={
            "london_date": pl.Date,
            "entry_id": pl.Int64,
            "entry_type": pl.Utf8,
            "description": pl.Utf8,
            "provider_txn_id": pl.Utf8,
            "amount_pence": pl.Int64,
        },
        orient="row",
    )
    opening = int(opening)
    items = items.with_columns((pl.col("amount_pence").cum_sum() + opening).alias("running_balance_pence"))
    closing = opening + (int(items["amount_pence"].sum()) if items.height else 0)
    return Statement(client_id, date_from, date_to, opening, closing, items)


# --- what reconciliation, clawback and the reports read of the ledger ----------------------------------------
def last_entry_id(conn: Connection) -> int:
    """The highest journal entry id posted so far (0 before the first): a mark to ask later what is new."""
    return int(conn.execute(text("SELECT coalesce(max(entry_id), 0) FROM journal_entries")).scalar_one())


def first_day_posted_since(conn: Connection, entry_id: int) -> dt.date | None:
    """The earliest London day of a journal entry posted after entry ``entry_id``, or None when none was.

    By the id range (the primary key), then their earliest day: written as a subquery with ORDER BY/LIMIT
    so neither planner turns min() into a walk of the date index from the oldest day (which it did: a
    night's cost growing with history)."""
    first = conn.execute(
        text(
            "SELECT min(d) FROM (SELECT london_date AS d FROM journal_entries WHERE entry_id > :e"
            " ORDER BY entry_id LIMIT :all) AS new_entries"
        ),
        {"e": entry_id, "all": 2**62},
    ).scalar_one()
    return to_date(first)


# The funding accounts first (a handful), then their postings in the period by the (account_code,
# london_date) index: written so, SQLite does not scan every posting (it did: 0.65 s at 2.9M postings).
FUNDING_POSTINGS_SQL = (
    "SELECT a.council, p.london_date, a.role, sum(p.amount_pence), count(*)"
    " FROM postings p JOIN accounts a ON a.code = p.account_code"
    " WHERE p.account_code IN (SELECT code FROM accounts WHERE role IN ('funding', 'recovered'))"
    " AND p.london_date >= :f AND p.london_date <= :t"
    " GROUP BY a.council, p.london_date, a.role, CASE WHEN p.amount_pence < 0 THEN 0 ELSE 1 END"
)
FUNDING_POSTINGS_SCHEMA: dict[str, pl.DataType] = {
    "council": pl.Utf8,
    "london_date": pl.Date,
    "role": pl.Utf8,
    "amount_pence": pl.Int64,
    "postings": pl.Int64,
}


def funding_postings(conn: Connection, date_from: dt.date, date_to: dt.date) -> pl.DataFrame:
    """Postings on councils' funding and recovered accounts in the period, summed by council, day, role
    and direction (one row each; bounded by councils × days × 4)."""
    rows = conn.execute(text(FUNDING_POSTINGS_SQL), {"f": date_from, "t": date_to}).all()
    return rows_frame(rows, FUNDING_POSTINGS_SCHEMA)


def spending_by_category(conn: Connection, council: str, date_from: dt.date, date_to: dt.date) -> list[tuple[str, int]]:
    """A council's spending and cash postings in the period per category (``cash`` for cash withdrawn,
    else the spending account's category), largest first; categories that net to zero are left out."""
    rows = conn.execute(
        text(
            "SELECT a.code, sum(p.amount_pence) FROM postings p JOIN accounts a ON a.code = p.account_code"
            " WHERE a.council = :c AND a.role IN ('spending', 'cash') AND p.london_date >= :f AND p.london_date <= :t"
            " GROUP BY a.code"
        ),
        {"c": council, "f": date_from, "t": date_to},
    ).all()
    out = []
    for code, pence in rows:
        # ledger.accounts: cash:{council} and spend:{council}:{category}
        category = "cash" if code.startswith("cash:") else code.split(":", 2)[2]
        if int(pence):
            out.append((category, int(pence)))
    return sorted(out, key=lambda x: -x[1])


TAKE_ON_DAYS_SCHEMA: dict[str, pl.DataType] = {"provider": pl.Utf8, "account_id": pl.Utf8, "balance_date": pl.Date}


def take_on_days(conn: Connection, through: dt.date) -> pl.DataFrame:
    """Per card with a take-on dated on or before ``through``: the day its balance was taken on."""
    rows = conn.execute(
        text("SELECT provider, account_id, balance_date FROM card_take_ons WHERE balance_date <= :t"), {"t": through}
    ).all()
    return rows_frame(rows, TAKE_ON_DAYS_SCHEMA)


def client_card_balance(conn: Connection, client_id: str, as_of: dt.date | None = None) -> dict[str, int]:
    """The money on a client's card in the ledger at the end of ``as_of`` (all postings if None): the
    council-funded and client-funded parts and their total. One aggregate in the database over the client's
    card accounts (``ix_accounts_client``, then ``ix_postings_account_date``); no row comes back per posting."""
    where_day = " AND p.london_date <= :d" if as_of is not None else ""
    rows = conn.execute(
        text(
            "SELECT a.role, coalesce(sum(p.amount_pence), 0) FROM accounts a JOIN postings p ON p.account_code = a.code"
            f" WHERE a.client_id = :c AND a.role IN ('card_council', 'card_client'){where_day} GROUP BY a.role"
        ),
        {"c": client_id, "d": as_of},
    ).all()
    parts = {role: int(pence) for role, pence in rows}
    council, client = parts.get("card_council", 0), parts.get("card_client", 0)
    return {"council_part_pence": council, "client_part_pence": client, "balance_pence": council + client}
