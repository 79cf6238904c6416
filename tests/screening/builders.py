"""Hand-built canonical transactions and reference data for the screening tests.

Times are given as London wall-clock strings ("2026-03-02 09:15") and converted to UTC the way the
readers do, so a test reads like a card statement.
"""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Connection

from db.bulk import bulk_insert
from db.engine import get_engine
from records.client_days import rebuild_client_days
from records.reference import save_reference
from schemas.canonical import CANONICAL_SCHEMA
from schemas.council_policy import parse_councils
from schemas.reference import CARDHOLDERS, CLIENT_EVENTS, PAYEES, ReferenceData

LONDON = ZoneInfo("Europe/London")
_ids = itertools.count(9_000_000)

COUNCIL_YAML = """
councils:
  - name: Testshire
    funding_account: {{sort_code: "401122", account_number: "90001234"}}
    restricted_mcc_groups: [alcohol, tobacco, gambling, adult, pawn, quasi_cash, money_transfer]
    cash: {{allowed_by_default: false, daily_atm_limit: 250.00}}
    safeguarding_mailbox: safeguarding@testshire.example
    finance_mailbox: dp-finance@testshire.example
    thresholds: {thresholds}
"""


def txn(
    client: str,
    when: str,
    kind: str,
    pence: int,
    *,
    status: str = "settled",
    mcc: str | None = None,
    country: str | None = None,
    payee: tuple[str, str, str] | None = None,  # (name, sort code, account)
    txn_id: str | None = None,
    related: str | None = None,
    provider: str = "A",
    merchant: str | None = None,
) -> dict:
    """One canonical row; ``pence`` is signed from the card's point of view (- = off the card)."""
    local = dt.datetime.fromisoformat(when).replace(tzinfo=LONDON)
    utc = local.astimezone(dt.UTC)
    return {
        "provider": provider,
        "provider_txn_id": txn_id or f"A{next(_ids)}",
        "account_id": "1000" + client[-4:].rjust(4, "0"),
        "client_id": client,
        "council": "Testshire",
        "kind": kind,
        "status": status,
        "amount_pence": pence,
        "currency": "GBP",
        "occurred_at_utc": utc,
        "london_date": local.date(),
        "posted_date": local.date() if status == "settled" else None,
        "merchant_name": merchant or ("SHOP" if mcc else None),
        "mcc": mcc,
        "merchant_country": country,
        "payee_name": payee[0] if payee else None,
        "payee_sort_code": payee[1] if payee else None,
        "payee_account_number": payee[2] if payee else None,
        "reference": None,
        "related_txn_id": related,
        "balance_after_pence": None,
        "source_file": "test.csv",
        "source_line": 1,
    }


def frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=CANONICAL_SCHEMA) if rows else pl.DataFrame(schema=CANONICAL_SCHEMA)


def cardholder(client: str, *, cash_allowed: bool = False, cash_weekly_limit_pence: int | None = None,
               email: str | None = None, opened: dt.date = dt.date(2025, 1, 1), closed: dt.date | None = None) -> dict:
    return {
        "client_id": client, "council": "Testshire", "provider": "A", "account_id": "1000" + client[-4:].rjust(4, "0"),
        "opened": opened, "closed": closed, "weekly_budget_pence": 30000, "contingency_weeks": None,
        "cash_allowed": cash_allowed, "cash_weekly_limit_pence": cash_weekly_limit_pence, "contribution_model": "none",
        "team": "North", "safeguarding_email": email, "source_line": 2,
    }


def payee(client: str, name: str, sort_code: str, account: str, *, kind: str = "personal_assistant",
          approved_from: dt.date = dt.date(2025, 1, 1), approved_to: dt.date | None = None) -> dict:
    return {"client_id": client, "payee_name": name, "sort_code": sort_code, "account_number": account, "kind": kind,
            "approved_from": approved_from, "approved_to": approved_to, "source_line": 2}


def event(client: str, name: str, day: dt.date) -> dict:
    return {"client_id": client, "event": name, "date": day, "source_line": 2}


def reference(cardholders: list[dict], *, payees: list[dict] = (), events: list[dict] = (), thresholds: str = "{}") -> ReferenceData:
    base = ReferenceData.empty(parse_councils(COUNCIL_YAML.format(thresholds=thresholds)))
    return ReferenceData(
        councils=base.councils,
        cardholders=pl.DataFrame(cardholders, schema=CARDHOLDERS.schema),
        payees=pl.DataFrame(list(payees), schema=PAYEES.schema),
        contributions=base.contributions,
        load_schedule=base.load_schedule,
        client_events=pl.DataFrame(list(events), schema=CLIENT_EVENTS.schema),
        commitments=base.commitments,
    )


def seed_transactions(conn: Connection, rows: list[dict]) -> None:
    """Store hand-built items as ingest would: a pending item holds money until a later row names it."""
    if not rows:
        return
    closed = {r["related_txn_id"] for r in rows if r["related_txn_id"]}
    bulk_insert(conn, "transactions", frame(rows).with_columns(
        ((pl.col("status") == "pending") & ~pl.col("provider_txn_id").is_in(list(closed))).alias("hold_open"),
        pl.lit("h").alias("payload_hash"),
        pl.lit(None, dtype=pl.Int64).alias("entry_id"),
    ))
    rebuild_client_days(conn)  # what ingest keeps in step with the items


def seed_two_findings(db_url: str) -> None:
    """Two clients, each with one finding's item in the week of 2 March 2026: C001 buys wine (restricted_mcc;
    C001 has a safeguarding lead) and C002 pays an unapproved payee (unapproved_payee; the council mailbox)."""
    ref = reference(
        [cardholder("C001", email="lead.north@testshire.example"), cardholder("C002")],
        payees=[payee("C002", "MARY JONES", "402715", "87654321")],
    )
    rows = [txn("C001", "2026-03-03 12:00", "card_purchase", -2340, mcc="5921", merchant="WINE RACK 12", txn_id="A77001"),
            txn("C002", "2026-03-04 10:00", "payment_to_payee", -24000, payee=("KEVIN SMITH", "401010", "33334444"), txn_id="A77002")]
    with get_engine(db_url).begin() as conn:
        save_reference(conn, ref, COUNCIL_YAML.format(thresholds="{}"), "test-extract")
        seed_transactions(conn, rows)
