"""Goal: under any sequence of feed operations, the ledger's invariants hold after every step.

A seeded hypothesis state machine plays the card providers: it keeps the provider's own truth (each
card's running balance of settled items, the holds still pending) and writes each day's drop folder
in FEEDS.md's formats (Provider A's CSV, Provider B's JSON lines). Operations: ingest a new day with
a random mix of loads, purchases that settle (sometimes for another amount), authorisations that are
released, refunds, reversals and unloads; re-ingest a day; send an overlapping file; repeat events;
send a conflicting version of a settled item; send a damaged file. After every operation:

* every entry balances and the hash chain is whole (``verify_ledger``);
* each card's ledger balance equals the provider's own running balance for the last day loaded;
* nothing is posted twice (one entry per provider item);
* a refused or conflicting input leaves the ledger tables exactly as they were.

Failing examples found so far are kept below as explicit regression sequences.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from db.engine import get_engine
from feeds.ingest import ingest_drop
from ledger.queries import card_balances
from ledger.verify import verify_ledger
from records import take_on_queue as take_ons
from tests.conftest import migrate
from tests.feeds.test_take_on_candidates import PLAIN_SQL as PLAIN_TAKE_ON_SQL
from tests.ingest import drops

A_ACCOUNT, B_CARD = "10442817", "ct_19a0"
FIRST_DAY = dt.date(2026, 3, 2)  # GMT all month until the 29th: the London day equals the UTC day
MAX_DAYS = 20

LEDGER_TABLES = ("accounts", "journal_entries", "postings", "posting_batches", "transactions", "provider_balances")


def fields(row: str) -> list[str]:
    return next(csv.reader([row]))


def join(values: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(values)
    return buf.getvalue()


def pounds(pence: int) -> str:
    return f'"{pence / 100:,.2f}"' if pence >= 100_000 else f"{pence / 100:.2f}"


class ProviderWorld:
    """The providers' side of the story: what they sent and what their books say."""

    def __init__(self) -> None:
        self.balance = {"A": 25_000, "B": 7_500}  # take-on balances: money no feed showed arriving
        self.day_index = -1
        self.ids = itertools.count(1)
        self.a_pending: list[tuple[str, int, str]] = []  # (id, pence, original row date text)
        self.b_pending: list[tuple[str, int]] = []
        self.a_settled_spend: list[tuple[str, int]] = []  # purchases that can be refunded or reversed
        self.b_settled_spend: list[tuple[str, int]] = []
        self.days: list[tuple[list[str], list[str], dict[str, int]]] = []  # rows sent per day + closing

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self.ids):05d}"

    def day(self) -> dt.date:
        return FIRST_DAY + dt.timedelta(days=self.day_index)

    def a_row(self, txn_id: str, hour: int, typ: str, pence_in: int, pence_out: int, status: str, related: str = "", posted: bool = True) -> str:
        d = self.day().strftime("%d/%m/%Y")
        money_in = pounds(pence_in) if pence_in else ""
        money_out = pounds(pence_out) if pence_out else ""
        balance = pounds(self.balance["A"]) if posted else ""
        mcc, merchant = ("5411", "TESCO 22") if typ in ("POS", "REFUND") else ("", "")
        return (
            f"{A_ACCOUNT},{txn_id},{d} {hour:02d}:{hour:02d}:00,{d if posted else ''},{typ},{typ.title()},{merchant},{mcc},"
            f"{money_in},{money_out},{balance},{status},{related},,,,"
        )

    def b_row(self, token: str, etype: str, state: str, pence: int, hour: int, related: str | None = None, settled: bool = True) -> str:
        iso = self.day().isoformat()
        return drops.b_event(
            token, etype, state, pence, f"{iso}T{hour:02d}:30:00Z", iso if settled else None, related,
            mcc="5411" if etype.startswith("authorization") or etype == "refund" else None,
            balance=self.balance["B"] if settled else None,
        )

    def make_day(self, actions: list[tuple[str, int]]) -> tuple[list[str], list[str]]:
        """Apply the day's actions to the providers' books and return the rows they send."""
        self.day_index += 1
        a_rows: list[str] = []
        b_rows: list[str] = []
        for hour, (action, pence) in enumerate(actions, start=6):
            if action == "load":
                self.balance["A"] += pence
                a_rows.append(self.a_row(self.next_id("AL"), hour, "LOAD", pence, 0, "SETTLED"))
                self.balance["B"] += pence
                b_rows.append(self.b_row(self.next_id("bl"), "gpa.credit", "COMPLETION", pence, hour))
            elif action == "authorise":
                txn = self.next_id("AP")
                self.a_pending.append((txn, pence, self.day().strftime("%d/%m/%Y")))
                a_rows.append(self.a_row(txn, hour, "POS", 0, pence, "PENDING", posted=False))
                tok = self.next_id("ba")
                self.b_pending.append((tok, pence))
                b_rows.append(self.b_row(tok, "authorization", "PENDING", pence, hour, settled=False))
            elif action == "settle" and self.a_pending:
                txn, authorised, _ = self.a_pending.pop(0)
                final = max(1, authorised + (pence % 7) - 3)  # settles for another amount, sometimes
                self.balance["A"] -= final
                a_rows.append(self.a_row(txn, hour, "POS", 0, final, "SETTLED"))
                self.a_settled_spend.append((txn, final))
                if self.b_pending:
                    tok, b_auth = self.b_pending.pop(0)
                    b_final = max(1, b_auth + (pence % 5) - 2)
                    self.balance["B"] -= b_final
                    clearing = self.next_id("bc")
                    b_rows.append(self.b_row(clearing, "authorization.clearing", "COMPLETION", b_final, hour, tok))
                    self.b_settled_spend.append((clearing, b_final))
            elif action == "release" and self.a_pending:
                txn, authorised, _ = self.a_pending.pop(0)
                a_rows.append(self.a_row(txn, hour, "POS", 0, authorised, "REVERSED", posted=False))
                if self.b_pending:
                    tok, b_auth = self.b_pending.pop(0)
                    b_rows.append(self.b_row(self.next_id("br"), "authorization.release", "CLEARED", b_auth, hour, tok, settled=False))
            elif action == "force_post":
                self.balance["A"] -= pence
                txn = self.next_id("AF")
                a_rows.append(self.a_row(txn, hour, "POS", 0, pence, "SETTLED"))
                self.a_settled_spend.append((txn, pence))
                self.balance["B"] -= pence
                tok = self.next_id("bf")
                b_rows.append(self.b_row(tok, "authorization.clearing", "COMPLETION", pence, hour))
                self.b_settled_spend.append((tok, pence))
            elif action == "refund" and self.a_settled_spend:
                txn, spent = self.a_settled_spend.pop(0)
                back = max(1, spent // 2)
                self.balance["A"] += back
                a_rows.append(self.a_row(self.next_id("AR"), hour, "REFUND", back, 0, "SETTLED", related=txn))
                if self.b_settled_spend:
                    tok, b_spent = self.b_settled_spend.pop(0)
                    b_back = max(1, b_spent // 2)
                    self.balance["B"] += b_back
                    b_rows.append(self.b_row(self.next_id("bf"), "refund", "COMPLETION", b_back, hour, tok))
            elif action == "reversal" and self.a_settled_spend:
                txn, spent = self.a_settled_spend.pop(0)
                self.balance["A"] += spent
                a_rows.append(self.a_row(self.next_id("AV"), hour, "REVERSAL", spent, 0, "SETTLED", related=txn))
            elif action == "unload":
                take = min(pence, max(self.balance["A"], 0))
                if take:
                    self.balance["A"] -= take
                    a_rows.append(self.a_row(self.next_id("AU"), hour, "UNLOAD", 0, take, "SETTLED"))
                b_take = min(pence, max(self.balance["B"], 0))
                if b_take:
                    self.balance["B"] -= b_take
                    b_rows.append(self.b_row(self.next_id("bu"), "gpa.debit", "COMPLETION", b_take, hour))
            elif action == "fee":
                self.balance["A"] -= 150
                a_rows.append(self.a_row(self.next_id("AX"), hour, "FEE", 0, 150, "SETTLED"))
                self.balance["B"] -= 150
                b_rows.append(self.b_row(self.next_id("bx"), "fee.charge", "COMPLETION", 150, hour))
        # A day's A file repeats items still pending from earlier days (FEEDS.md).
        for txn, authorised, _ in self.a_pending:
            if not any(fields(r)[1] == txn for r in a_rows):
                a_rows.append(self.a_row(txn, 23, "POS", 0, authorised, "PENDING", posted=False))
        self.days.append((a_rows, b_rows, dict(self.balance)))
        return a_rows, b_rows


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["load", "authorise", "settle", "release", "force_post", "refund", "reversal", "unload", "fee"]),
        st.integers(min_value=1, max_value=150_000),
    ),
    max_size=8,
)


def ledger_snapshot(url: str) -> tuple:
    with get_engine(url).connect() as conn:
        return tuple(
            tuple(conn.execute(text(f"SELECT * FROM {t} ORDER BY 1, 2")).all()) for t in LEDGER_TABLES  # noqa: S608
        )


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="careledger-fuzz-"))
        self.url = f"sqlite:///{self.tmp / 'db.engine'}"
        migrate(self.url)
        self.world = ProviderWorld()
        self.folders: list[Path] = []
        self.copies = itertools.count(1)

    def teardown(self) -> None:
        get_engine(self.url).dispose()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _write(self, root: Path, day_index: int, a_rows: list[str], b_rows: list[str], closing: dict[str, int]) -> Path:
        day = (FIRST_DAY + dt.timedelta(days=day_index)).strftime("%Y%m%d")
        return drops.write_drop(root, day, a_rows, b_rows, closing)

    def _ingest(self, folder: Path):
        summary = ingest_drop(self.url, folder)
        return summary

    @precondition(lambda self: self.world.day_index < MAX_DAYS - 1)
    @rule(actions=ACTIONS)
    def ingest_new_day(self, actions):
        a_rows, b_rows = self.world.make_day(actions)
        folder = self._write(self.tmp / "drops", self.world.day_index, a_rows, b_rows, self.world.balance)
        self.folders.append(folder)
        summary = self._ingest(folder)
        assert not summary.refused, [f.message for f in summary.refused]

    @precondition(lambda self: self.folders)
    @rule(which=st.integers(min_value=0, max_value=MAX_DAYS))
    def reingest_a_day(self, which):
        before = ledger_snapshot(self.url)
        folder = self.folders[which % len(self.folders)]
        summary = self._ingest(folder)
        assert all(f.status == "skipped" for f in summary.files), [(f.file_name, f.status) for f in summary.files]
        assert ledger_snapshot(self.url) == before

    @precondition(lambda self: len(self.folders) >= 2)
    @rule(repeat=st.booleans())
    def overlapping_resend(self, repeat):
        """Yesterday's and today's rows again in one new file (and B events repeated): nothing moves."""
        before = ledger_snapshot(self.url)
        (a1, b1, _), (a2, b2, closing) = self.world.days[-2], self.world.days[-1]
        b_rows = b1 + b2 + (b2 if repeat else [])
        folder = self._write(self.tmp / f"resend{next(self.copies)}", self.world.day_index, a1 + a2, b_rows, closing)
        # Only the transaction files are new content; balances and council files were already loaded.
        summary = self._ingest(folder)
        assert not summary.refused
        assert sum(f.rows_posted for f in summary.files) == 0
        assert ledger_snapshot(self.url) == before

    @precondition(lambda self: any(fields(r)[11] == "SETTLED" for a, _, _ in self.world.days for r in a))
    @rule(pick=st.integers(min_value=0, max_value=10_000), delta=st.integers(min_value=1, max_value=9_999))
    def conflicting_resend(self, pick, delta):
        """A settled item again under its id with another amount: a conflict, quarantined, ledger unchanged."""
        before = ledger_snapshot(self.url)
        settled = [fields(r) for a, _, _ in self.world.days for r in a if fields(r)[11] == "SETTLED"]
        row = settled[pick % len(settled)]
        had_in = row[8] != ""
        money = f"{(delta * 3 + 7) / 100:.2f}"
        changed = join([*row[:8], money if had_in else "", "" if had_in else money, *row[10:]])
        folder = self._write(self.tmp / f"conflict{next(self.copies)}", self.world.day_index, [changed], [], self.world.balance)
        summary = self._ingest(folder)
        a_file = next(f for f in summary.files if f.file_name.startswith("A_transactions"))
        assert a_file.rows_posted == 0
        assert a_file.conflicts == 1 or a_file.rows_already_posted == 1 or a_file.rows_quarantined == 1
        after = ledger_snapshot(self.url)
        assert after[:4] == before[:4], "a conflicting item must not change the journal"
        with get_engine(self.url).connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM quarantine WHERE reason LIKE 'conflict%'")).scalar_one() >= 1

    @precondition(lambda self: self.folders)
    @rule(cut=st.integers(min_value=5, max_value=400))
    def damaged_file_is_refused(self, cut):
        """A truncated B file is refused whole; the ledger tables do not change at all."""
        before = ledger_snapshot(self.url)
        _, b_rows, closing = self.world.days[-1]
        folder = self._write(self.tmp / f"damaged{next(self.copies)}", self.world.day_index, [], [], closing)
        body = ("\n".join(b_rows + [drops.b_event("b-trunc", "gpa.credit", "COMPLETION", 999, "2026-03-02T08:00:00Z", "2026-03-02", mcc=None)]))
        (folder / f"B_events_{folder.name}.jsonl").write_text(body[: max(1, len(body) - cut)], encoding="utf-8")
        summary = self._ingest(folder)
        b_file = next(f for f in summary.files if f.file_name.startswith("B_events"))
        assert b_file.status in ("refused", "skipped", "loaded")
        if b_file.status == "refused":
            assert ledger_snapshot(self.url) == before

    @invariant()
    def books_balance_and_tie_to_the_provider(self):
        with get_engine(self.url).connect() as conn:
            report = verify_ledger(conn)
            assert report.ok, [p.detail for p in report.problems]
            twice = conn.execute(
                text(
                    "SELECT provider, provider_txn_id, count(*) FROM journal_entries WHERE provider_txn_id IS NOT NULL"
                    " AND reverses_entry_id IS NULL AND entry_type <> 'take_on' GROUP BY provider, provider_txn_id HAVING count(*) > 1"
                )
            ).all()
            assert not twice, f"posted twice: {twice}"
            # Every ingest ends with the take-on pass: no card is left without its take-on or with a late one,
            # by the queue (records.take_on_queue) and by the plain definition over every balance row.
            assert take_ons.take_on_candidates(conn).height == 0
            assert not conn.execute(text(PLAIN_TAKE_ON_SQL)).all(), "a take-on the queue did not see"
            if self.world.day_index >= 0:
                cards = {
                    r["provider"]: r["balance_pence"]
                    for r in card_balances(conn, self.world.day()).iter_rows(named=True)
                }
                _, _, closing = self.world.days[-1]
                assert cards == closing, f"ledger {cards} != provider {closing} on {self.world.day()}"


FUZZ_SETTINGS = settings(
    max_examples=12,
    stateful_step_count=10,
    deadline=None,
    derandomize=True,  # seeded: the same sequences every run, so CI is repeatable
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.slow
def test_invariants_hold_under_random_feed_operations():
    run_state_machine_as_test(LedgerMachine, settings=FUZZ_SETTINGS)


# --- regressions: sequences hypothesis found failing, kept as explicit steps -------------------
def _replay(steps) -> None:
    machine = LedgerMachine()
    try:
        for name, kwargs in steps:
            getattr(machine, name)(**kwargs)
            machine.books_balance_and_tie_to_the_provider()
    finally:
        machine.teardown()


REGRESSIONS: dict[str, list] = {
    "settle_after_release_then_overlap": [
        ("ingest_new_day", {"actions": [("load", 50_000), ("authorise", 1_234), ("authorise", 999)]}),
        ("ingest_new_day", {"actions": [("release", 0), ("settle", 5)]}),
        ("overlapping_resend", {"repeat": True}),
        ("reingest_a_day", {"which": 0}),
    ],
    "refund_reversal_unload_big_amounts": [
        ("ingest_new_day", {"actions": [("load", 150_000), ("force_post", 120_000), ("force_post", 10)]}),
        ("ingest_new_day", {"actions": [("refund", 0), ("reversal", 0), ("unload", 150_000), ("fee", 0)]}),
        ("conflicting_resend", {"pick": 1, "delta": 77}),
        ("damaged_file_is_refused", {"cut": 30}),
    ],
}


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regression_sequences(name):
    _replay(REGRESSIONS[name])
