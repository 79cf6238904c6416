"""A small hand-built ledger for reconciliation and report tests, written through the real storage path.

Why not drop folders: the provider readers and the classifier are written by another area at the same
time; these tests build canonical rows (the readers' output) and hand them to
``feeds.ingest.store_and_post`` (the real storing and posting path), plus provider balances via
``records.balances.save_provider_balances`` and ``feed_files`` rows as the ingest would register them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import text

from db.engine import get_engine
from feeds.ingest import post_take_ons, store_and_post
from records.balances import save_provider_balances
from records.reference import save_reference
from schemas.canonical import CANONICAL_SCHEMA, conform
from schemas.council_policy import parse_councils
from schemas.reference import REFERENCE_FILES, ReferenceData

LONDON = ZoneInfo("Europe/London")
COUNCIL = "Testshire"
COUNCILS_YAML = """councils:
  - name: Testshire
    funding_account: {sort_code: "401122", account_number: "90001234"}
    default_contingency_weeks: 6
    starter_float_weeks: 8
    clawback_minimum: 50.00
    clawback_weekday: Wednesday
    restricted_mcc_groups: [alcohol, tobacco, gambling]
    cash: {allowed_by_default: false, daily_atm_limit: 250.00}
    safeguarding_mailbox: safeguarding@testshire.example
    finance_mailbox: dp-finance@testshire.example
    thresholds: {load_match_tolerance_days: 3}
"""
START = dt.date(2026, 3, 2)


def day(n: int) -> dt.date:
    """Day n of the test month (1 = 2 March 2026)."""
    return START + dt.timedelta(days=n - 1)


class Book:
    """Builder: cards, schedule, then day by day items, balances and file registrations."""

    def __init__(self, db_url: str) -> None:
        self.url = db_url
        self.engine = get_engine(db_url)
        self.cards: list[dict] = []
        self.schedule: list[dict] = []
        self.running: dict[tuple[str, str], int] = {}
        self._ref: ReferenceData | None = None

    # --- reference data -----------------------------------------------------------------
    def card(self, client_id: str, provider: str, account_id: str) -> Book:
        self.cards.append({"client_id": client_id, "council": COUNCIL, "provider": provider, "account_id": account_id})
        self.running[(provider, account_id)] = 0
        return self

    def scheduled(self, client_id: str, due: dt.date, pence: int, reference: str) -> Book:
        self.schedule.append({"client_id": client_id, "due_date": due, "amount_pence": pence, "reference": reference})
        return self

    def save_reference(self) -> ReferenceData:
        frames = {}
        for spec in REFERENCE_FILES:
            name = spec.file_name.removesuffix(".csv")
            rows: list[dict] = []
            if name == "cardholders":
                rows = [
                    {**c, "opened": dt.date(2025, 1, 6), "weekly_budget_pence": 28_000, "cash_allowed": False,
                     "contribution_model": "none", "source_line": i + 2}
                    for i, c in enumerate(self.cards)
                ]
            elif name == "load_schedule":
                rows = [{**s, "source_line": i + 2} for i, s in enumerate(self.schedule)]
            frames[name] = pl.DataFrame(
                [{k: r.get(k) for k in spec.schema} for r in rows], schema=spec.schema
            ) if rows else pl.DataFrame(schema=spec.schema)
        ref = ReferenceData(councils=parse_councils(COUNCILS_YAML), **frames)
        with self.engine.begin() as conn:
            save_reference(conn, ref, COUNCILS_YAML, "extract")
        self._ref = ref
        return ref

    # --- provider items ------------------------------------------------------------------
    def item(
        self, provider: str, txn_id: str, account_id: str, kind: str, pence: int, on: dt.date, *,
        status: str = "settled", posted: dt.date | None = None, reference: str | None = None, hour: int = 10,
        payee_account: str | None = None,
    ) -> dict:
        owner = next((c for c in self.cards if (c["provider"], c["account_id"]) == (provider, account_id)), None)
        at = dt.datetime.combine(on, dt.time(hour, 0), LONDON).astimezone(dt.UTC)
        return {
            "provider": provider, "provider_txn_id": txn_id, "account_id": account_id,
            "client_id": owner["client_id"] if owner else None, "council": owner["council"] if owner else None,
            "kind": kind, "status": status, "amount_pence": pence, "currency": "GBP", "occurred_at_utc": at,
            "london_date": on, "posted_date": (posted or on) if status == "settled" else None,
            "merchant_name": "SHOP" if kind == "card_purchase" else None, "mcc": "5411" if kind == "card_purchase" else None,
            "reference": reference, "payee_account_number": payee_account,
            "source_file": f"{provider}_transactions_{on:%Y%m%d}", "source_line": 2,
        }

    def post(self, rows: list[dict], source: str = "test", file_day: dt.date | None = None) -> dict:
        """Store and post canonical rows; conflicts are quarantined against that day's transactions file."""
        assert self._ref is not None, "save_reference first"
        df = conform(pl.DataFrame(rows, schema={k: CANONICAL_SCHEMA[k] for k in rows[0]})) if rows else None
        with self.engine.begin() as conn:
            counts = store_and_post(conn, df, self._ref, source=source) if df is not None else {}
            conflicts = counts.get("conflict_rows") or []
            if conflicts:
                p = conflicts[0]["provider"]
                self.quarantine(conn, conflicts, sha=self.sha(p, "transactions", file_day) if file_day else None)
        refused = {(c["provider"], c["provider_txn_id"]) for c in counts.get("conflict_rows") or []}
        for r in rows:
            if r["status"] == "settled" and (r["provider"], r["provider_txn_id"]) not in refused:
                self.running[(r["provider"], r["account_id"])] = self.running.get((r["provider"], r["account_id"]), 0) + r["amount_pence"]
        return counts

    def quarantine(self, conn, rows: list[dict], sha: str | None = None) -> None:
        for r in rows:
            conn.execute(
                text(
                    "INSERT INTO quarantine (run_id, source_file, file_sha256, source_line, provider, provider_txn_id, reason,"
                    " raw_text, created_at) VALUES ('t', :f, :s, :l, :p, :t, :r, :raw, :c)"
                ),
                {"f": r["source_file"], "s": sha, "l": r["source_line"], "p": r["provider"], "t": r["provider_txn_id"],
                 "r": r["reason"], "raw": r["raw_text"], "c": dt.datetime.now(dt.UTC)},
            )

    def quarantine_row(self, provider: str, on: dt.date, line: int, txn_id: str | None, reason: str, raw: str) -> None:
        with self.engine.begin() as conn:
            self.quarantine(
                conn,
                [{"source_file": f"{provider}_transactions_{on:%Y%m%d}", "source_line": line, "provider": provider,
                  "provider_txn_id": txn_id, "reason": reason, "raw_text": raw}],
                sha=self.sha(provider, "transactions", on),
            )

    # --- balances and files ----------------------------------------------------------------
    def balances(self, provider: str, on: dt.date, overrides: dict[str, int] | None = None) -> None:
        """The provider's closing balances for its cards = the running settled total, unless overridden."""
        rows = []
        for (p, a), pence in sorted(self.running.items()):
            if p != provider:
                continue
            rows.append({"provider": p, "account_id": a, "balance_date": on, "closing_balance_pence": pence,
                         "available_balance_pence": pence, "source_file": f"{p}_balances_{on:%Y%m%d}", "source_line": 2})
        for a, pence in (overrides or {}).items():
            rows = [r for r in rows if r["account_id"] != a]
            rows.append({"provider": provider, "account_id": a, "balance_date": on, "closing_balance_pence": pence,
                         "available_balance_pence": pence, "source_file": f"{provider}_balances_{on:%Y%m%d}", "source_line": 2})
        if rows:
            df = pl.DataFrame(rows, schema={"provider": pl.Utf8, "account_id": pl.Utf8, "balance_date": pl.Date,
                                            "closing_balance_pence": pl.Int64, "available_balance_pence": pl.Int64,
                                            "source_file": pl.Utf8, "source_line": pl.Int64})
            with self.engine.begin() as conn:
                save_provider_balances(conn, df)

    @staticmethod
    def sha(provider: str, kind: str, on: dt.date, status: str = "loaded") -> str:
        return hashlib.sha256(f"{provider}{kind}{on}{status}".encode()).hexdigest()

    def file(self, provider: str, kind: str, on: dt.date, *, drop: dt.date | None = None, status: str = "loaded") -> None:
        """Register a file as the ingest does; ``drop`` = the day of the drop folder it came in (default on time)."""
        drop = drop or on
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO feed_files (sha256, file_name, provider, file_kind, feed_date, drop_dir, run_id, status, message,"
                    " rows_read, rows_posted, rows_already_posted, rows_pending, rows_quarantined, incidents, loaded_at)"
                    " VALUES (:s, :n, :p, :k, :d, :dd, 'test', :st, :m, 0, 0, 0, 0, 0, 0, :at)"
                ),
                {"s": self.sha(provider, kind, on, status),
                 "n": f"{provider}_{kind}_{on:%Y%m%d}", "p": provider, "k": kind, "d": on,
                 "dd": f"/drops/{drop:%Y%m%d}", "st": status, "m": "bad header" if status == "refused" else "",
                 "at": dt.datetime.now(dt.UTC)},
            )

    def day_files(self, on: dt.date, providers: tuple[str, ...] = ("A", "B"), drop: dt.date | None = None) -> None:
        for p in providers:
            self.file(p, "transactions", on, drop=drop)
            self.file(p, "balances", on, drop=drop)

    def take_ons(self) -> None:
        with self.engine.begin() as conn:
            post_take_ons(conn, self._ref, "take-on")
