"""Reading the ledger: balances as of a moment, the trial balance, statements of account.

Every figure here is a sum of postings; nothing is cached, so what is read always agrees with
what was posted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Connection, bindparam, text

from ledger.bulk import to_date


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


def card_balances(conn: Connection, as_of: dt.date | None = None) -> pl.DataFrame:
    """Per card: council-funded part, client-funded part and total, as of the end of a London day."""
    where, params = _as_of_clause(as_of)
    rows = conn.execute(
        text(
            "SELECT a.provider, a.provider_account_id, a.client_id, a.council, a.role,"
            " coalesce(sum(p.amount_pence), 0)"
            " FROM accounts a LEFT JOIN postings p ON p.account_code = a.code" + where +
            " WHERE a.role IN ('card_council', 'card_client', 'suspense_card')"
            " GROUP BY a.provider, a.provider_account_id, a.client_id, a.council, a.role"
        ),
        params,
    ).all()
    df = pl.DataFrame(
        [tuple(r) for r in rows],
        schema={
            "provider": pl.Utf8,
            "account_id": pl.Utf8,
            "client_id": pl.Utf8,
            "council": pl.Utf8,
            "role": pl.Utf8,
            "balance_pence": pl.Int64,
        },
        orient="row",
    )
    if df.height == 0:
        return pl.DataFrame(
            schema={
                "provider": pl.Utf8,
                "account_id": pl.Utf8,
                "client_id": pl.Utf8,
                "council": pl.Utf8,
                "council_part_pence": pl.Int64,
                "client_part_pence": pl.Int64,
                "balance_pence": pl.Int64,
            }
        )
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


def statement(conn: Connection, client_id: str, date_from: dt.date, date_to: dt.date) -> Statement:
    """A client's statement of account for a period: the card's money, both parts together."""
    if date_to < date_from:
        raise ValueError(f"statement period ends ({date_to}) before it starts ({date_from})")
    card_filter = "a.client_id = :c AND a.role IN ('card_council', 'card_client')"
    opening = conn.execute(
        text(
            "SELECT coalesce(sum(p.amount_pence), 0) FROM postings p JOIN accounts a ON a.code = p.account_code"
            f" WHERE {card_filter} AND p.london_date < :f"
        ),
        {"c": client_id, "f": date_from},
    ).scalar_one()
    rows = conn.execute(
        text(
            "SELECT e.london_date, e.entry_id, e.entry_type, e.description, e.provider_txn_id,"
            " sum(p.amount_pence) AS amount_pence"
            " FROM postings p JOIN accounts a ON a.code = p.account_code JOIN journal_entries e ON e.entry_id = p.entry_id"
            f" WHERE {card_filter} AND p.london_date >= :f AND p.london_date <= :t"
            " GROUP BY e.london_date, e.entry_id, e.entry_type, e.description, e.provider_txn_id"
            " HAVING sum(p.amount_pence) <> 0"
            " ORDER BY e.london_date, e.entry_id"
        ),
        {"c": client_id, "f": date_from, "t": date_to},
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
