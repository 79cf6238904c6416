"""Build clawback test state through the real ledger: reference data via ``save_reference`` and
canonical rows posted with ``feeds.ingest.store_and_post`` (the path the readers use)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Connection

from feeds.ingest import store_and_post
from records.reference import load_reference, save_reference
from schemas.canonical import CANONICAL_SCHEMA, conform
from schemas.reference import REFERENCE_BY_NAME, ReferenceData

LONDON = ZoneInfo("Europe/London")


def councils_yaml(
    name: str = "Testshire",
    *,
    minimum: str = "50.00",
    weekday: str = "Wednesday",
    contingency_weeks: int = 6,
    starter_float_weeks: int = 8,
    thresholds: str = "{}",
) -> str:
    return f"""councils:
  - name: {name}
    funding_account: {{sort_code: "401122", account_number: "90001234"}}
    default_contingency_weeks: {contingency_weeks}
    starter_float_weeks: {starter_float_weeks}
    clawback_minimum: {minimum}
    clawback_weekday: {weekday}
    restricted_mcc_groups: [alcohol, gambling]
    cash: {{allowed_by_default: false, daily_atm_limit: 250.00}}
    safeguarding_mailbox: safeguarding@testshire.example
    finance_mailbox: dp-finance@testshire.example
    thresholds: {thresholds}
"""


def _frame(file_name: str, rows: list[dict]) -> pl.DataFrame:
    spec = REFERENCE_BY_NAME[file_name]
    full = [{**{c: None for c in spec.schema}, **r, "source_line": i + 2} for i, r in enumerate(rows)]
    return pl.DataFrame(full, schema=spec.schema)


def holder(client_id: str, provider: str, account_id: str, *, opened: dt.date = dt.date(2025, 1, 6),
           closed: dt.date | None = None, weekly_budget_pence: int = 10_000, contingency_weeks: int | None = None,
           model: str = "none", council: str = "Testshire") -> dict:
    return {
        "client_id": client_id, "council": council, "provider": provider, "account_id": account_id, "opened": opened,
        "closed": closed, "weekly_budget_pence": weekly_budget_pence, "contingency_weeks": contingency_weeks,
        "cash_allowed": False, "cash_weekly_limit_pence": None, "contribution_model": model, "team": "North",
        "safeguarding_email": None,
    }


def save_ref(conn: Connection, *, holders: list[dict], contributions: list[dict] = (), commitments: list[dict] = (),
             events: list[dict] = (), yaml_text: str | None = None) -> ReferenceData:
    yaml_text = yaml_text or councils_yaml()
    from schemas.council_policy import parse_councils

    ref = ReferenceData(
        councils=parse_councils(yaml_text),
        cardholders=_frame("cardholders.csv", holders),
        payees=_frame("payees.csv", []),
        contributions=_frame("contributions.csv", list(contributions)),
        load_schedule=_frame("load_schedule.csv", []),
        client_events=_frame("client_events.csv", list(events)),
        commitments=_frame("commitments.csv", list(commitments)),
    )
    save_reference(conn, ref, yaml_text, "test-extract")
    return load_reference(conn)


_seq = [0]


def txn(provider: str, account_id: str, client_id: str | None, kind: str, amount_pence: int, day: dt.date, *,
        status: str = "settled", reference: str | None = None, txn_id: str | None = None, hour: int = 10,
        payer: tuple[str, str] | None = None, council: str = "Testshire") -> dict:
    _seq[0] += 1
    at = dt.datetime.combine(day, dt.time(hour, 0), LONDON).astimezone(dt.UTC)
    return {
        "provider": provider, "provider_txn_id": txn_id or f"T{_seq[0]:06d}", "account_id": account_id,
        "client_id": client_id, "council": council if client_id else None, "kind": kind, "status": status,
        "amount_pence": amount_pence, "currency": "GBP", "occurred_at_utc": at, "london_date": day,
        "posted_date": day if status == "settled" else None, "reference": reference,
        "payee_sort_code": payer[0] if payer else None, "payee_account_number": payer[1] if payer else None,
        "mcc": "5411" if kind == "card_purchase" else None, "source_file": "test", "source_line": _seq[0],
    }


def post(conn: Connection, ref: ReferenceData, rows: list[dict]) -> dict:
    return post_file(conn, ref, rows)


def post_file(conn: Connection, ref: ReferenceData, rows: list[dict], *, feed_date: dt.date | None = None) -> dict:
    """Rows as one provider file of ``feed_date`` would bring them."""
    columns = dict.fromkeys(k for r in rows for k in r)
    frame = conform(pl.DataFrame(rows, schema={k: CANONICAL_SCHEMA[k] for k in columns}))
    return store_and_post(conn, frame, ref, source="test", feed_date=feed_date)
