"""Goal: ingest recognises a payer who paid a contribution onto a card before (records.transactions.known_contributors)
by reading that card's contributions only, through the partial index ix_transactions_contribution_payers
(migration 0013), and the answer is the same as before: each card's earlier contribution payers, nobody
else's, and no payer of anything that was not a contribution."""

from __future__ import annotations

import polars as pl
from sqlalchemy import text

from db.bulk import bulk_insert
from db.engine import get_engine
from records.transactions import known_contributors, known_contributors_sql
from tests.screening.builders import frame, txn

MUM = ("MRS SMITH", "112233", "44556677")
BROTHER = ("J SMITH", "223344", "55667788")
SHOP = ("SHOP LTD", "998877", "11112222")


def _store(conn, rows: list[dict]) -> None:
    bulk_insert(conn, "transactions", frame(rows).with_columns(
        pl.lit(False).alias("hold_open"), pl.lit("h").alias("payload_hash"), pl.lit(None, dtype=pl.Int64).alias("entry_id"),
    ))


def test_earlier_contribution_payers_of_these_cards_only(db_url):
    rows = [
        txn("C001", "2026-03-02 09:00", "contribution", 5000, payee=MUM),
        txn("C001", "2026-03-09 09:00", "contribution", 5000, payee=MUM),  # the same payer again: once
        txn("C001", "2026-03-10 09:00", "other_money_in", 700, payee=BROTHER),  # not a contribution
        txn("C001", "2026-03-11 09:00", "payment_to_payee", -900, payee=SHOP),
        txn("C002", "2026-03-02 09:00", "contribution", 3000, payee=BROTHER),
        txn("C003", "2026-03-02 09:00", "contribution", 3000, payee=SHOP, provider="B"),  # another provider's card
        txn("C004", "2026-03-02 09:00", "contribution", 3000),  # no payer account: nothing to recognise
    ]
    with get_engine(db_url).begin() as conn:
        _store(conn, rows)
    card = {r["client_id"]: (r["provider"], r["account_id"]) for r in rows}
    with get_engine(db_url).connect() as conn:
        got = known_contributors(conn, [card["C001"], card["C002"], card["C004"]])
        assert sorted(got.rows()) == [("C001", MUM[1], MUM[2]), ("C002", BROTHER[1], BROTHER[2])]
        assert known_contributors(conn, [("A", card["C003"][1])]).height == 0  # C003's card is provider B's
        assert known_contributors(conn, [card["C003"]]).rows() == [("C003", SHOP[1], SHOP[2])]


def test_the_read_uses_the_contributions_index(db_url):
    # The statement as written must be one the partial index can serve (SQLite: INDEXED BY fails the
    # statement otherwise). On a test-sized table PostgreSQL prefers other paths; the index by card is
    # set aside for the length of a rolled-back transaction so what is checked is that this index matches.
    engine = get_engine(db_url)
    with engine.connect() as conn, conn.begin() as trans:
        dialect = conn.dialect.name
        if dialect == "postgresql":
            conn.execute(text("DROP INDEX ix_transactions_account"))
            conn.execute(text("SET LOCAL enable_seqscan = off"))
        explain = "EXPLAIN " if dialect == "postgresql" else "EXPLAIN QUERY PLAN "
        sql = known_contributors_sql(dialect).format(match="account_id IN ('10000001', '10000002')")
        plan = " ".join(str(r[-1]) for r in conn.execute(text(explain + sql), {"p": "A"}))
        assert "ix_transactions_contribution_payers" in plan, plan
        trans.rollback()
