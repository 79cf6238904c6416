"""The nightly-run benchmark: how fast, against what floor, and does it stay fast as history grows.

``make bench`` / ``careledger bench`` runs it. For each database (SQLite, and PostgreSQL when
reachable) it:

1. generates one day of N provider transactions across M cards (benchmarks/generate.py, FEEDS.md
   formats; default 1,000,000 across 100,000 cards);
2. runs the real nightly path — ``feeds.ingest.ingest_drop`` (read, validate, post), then
   ``screening.run.screen_days`` and ``reconciliation.run.reconcile_day`` — timing each stage by
   wrapping the library functions the path calls (so what is timed is exactly what runs at night),
   and sampling the process's resident memory for the peak;
3. measures the floor on the same files and machine in the same run: polars reading the raw files
   plus a plain bulk insert of the same number of rows with no logic (COPY on PostgreSQL,
   executemany on SQLite), and reports our end-to-end time as a ratio to it;
4. measures the way a typical team would write it: SQLAlchemy ORM objects added one by one for
   50,000 of the same rows, and reports our rows per second as a ratio to that;
5. optionally (``--growth-days``) runs day 1 and day N of a long history at a smaller scale and
   reports the ratio of the two nights' times;
6. shows the query plans of the queries screening and reconciliation run.

Results go to benchmarks/results/<db>.json and a Markdown table in docs/performance.md. Timings are
printed, never asserted: a benchmark reports, tests check behaviour.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PG_URL = os.environ.get("CARELEDGER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ORM_ROWS = 50_000


class PeakMemory:
    """Samples this process's resident set size every few milliseconds and keeps the peak."""

    def __init__(self, interval_s: float = 0.02) -> None:
        import psutil

        self._proc = psutil.Process()
        self.interval_s = interval_s
        self.peak_bytes = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._proc.memory_info().rss)
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._proc.memory_info().rss)


class StageTimer:
    """Accumulates wall time per named stage by wrapping the functions the real path calls."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, stage: str, fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - start

        return timed

    @contextlib.contextmanager
    def patched(self) -> Iterator[None]:
        """Time read / validate / post inside ingest_drop without changing what it does."""
        import feeds.ingest as ingest
        import feeds.readers as readers

        saved = []
        targets = [(readers, "read_provider_file", "read"), (ingest, "store_and_post", "post"), (ingest, "post_take_ons", "post")]
        try:
            import feeds.validation as validation

            targets.append((validation, "validate_canonical_batch", "validate"))
        except ImportError:
            pass
        for module, name, stage in targets:
            original = getattr(module, name)
            saved.append((module, name, original))
            setattr(module, name, self.wrap(stage, original))
        try:
            yield
        finally:
            for module, name, original in saved:
                setattr(module, name, original)


def _fresh_database(kind: str, workdir: Path) -> tuple[str, Callable[[], None]]:
    from ledger.db import get_engine
    from ledger.migrate import upgrade

    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
        cleanup = lambda: get_engine(url).dispose()  # noqa: E731
    else:
        url, cleanup = _pg_schema(workdir.name)
    with get_engine(url).begin() as conn:
        upgrade(conn)
    return url, cleanup


def run_nightly(url: str, folder: Path, day: dt.date, validation_root: Path | None) -> dict:
    """The real nightly path over one drop folder, with per-stage times, postings and peak memory."""
    from sqlalchemy import text

    from feeds.ingest import ingest_drop
    from ledger.db import get_engine

    timer = StageTimer()
    with get_engine(url).connect() as conn:
        postings_before = conn.execute(text("SELECT count(*) FROM postings")).scalar_one()
    with PeakMemory() as mem:
        start = time.perf_counter()
        with timer.patched():
            summary = ingest_drop(url, folder, validation_root=validation_root)
        ingest_s = time.perf_counter() - start
        stage_start = time.perf_counter()
        try:
            from screening.run import screen_days

            screen_days(url, day, day)
            timer.seconds["screen"] = time.perf_counter() - stage_start
        except ImportError:
            timer.seconds["screen"] = float("nan")
        stage_start = time.perf_counter()
        try:
            from reconciliation.run import reconcile_day

            reconcile_day(url, day)
            timer.seconds["reconcile"] = time.perf_counter() - stage_start
        except ImportError:
            timer.seconds["reconcile"] = float("nan")
        total_s = time.perf_counter() - start
    with get_engine(url).connect() as conn:
        postings = conn.execute(text("SELECT count(*) FROM postings")).scalar_one() - postings_before
    stages = dict(timer.seconds)
    stages["ingest_other"] = ingest_s - sum(stages.get(k, 0.0) for k in ("read", "validate", "post"))
    return {
        "stages_s": {k: round(v, 3) for k, v in stages.items()},
        "total_s": round(total_s, 3),
        "rows_read": summary.total("rows_read"),
        "rows_posted": summary.total("rows_posted"),
        "rows_quarantined": summary.total("rows_quarantined"),
        "refused": [f.file_name for f in summary.refused],
        "postings": postings,
        "postings_per_s": round(postings / stages["post"]) if stages.get("post") else None,
        "peak_rss_mb": round(mem.peak_bytes / 2**20),
    }


def _read_raw(folder: Path) -> pl.DataFrame:
    """The floor's read: polars over the raw files into one frame, no logic."""
    frames = []
    for path in sorted(folder.glob("A_transactions_*.csv")):
        a = pl.read_csv(path, infer_schema=False)
        frames.append(a.select(pl.lit("A").alias("provider"), pl.col("Transaction ID").alias("txn_id"),
                               pl.col("Account Number").alias("account_id"), pl.col("Money Out").alias("amount")))
    for path in sorted(folder.glob("B_events_*.jsonl")):
        b = pl.read_ndjson(path)
        frames.append(b.select(pl.lit("B").alias("provider"), pl.col("token").alias("txn_id"),
                               pl.col("card_token").alias("account_id"), pl.col("amount_minor").cast(pl.Utf8).alias("amount")))
    for path in sorted(folder.glob("C_transactions_*.json")):
        c = pl.from_dicts(json.loads(path.read_bytes())["Data"]["Transaction"])
        frames.append(c.select(pl.lit("C").alias("provider"), pl.col("TransactionId").alias("txn_id"),
                               pl.col("AccountId").alias("account_id"), pl.col("Amount").struct.field("Amount").alias("amount")))
    return pl.concat(frames)


def run_floor(url: str, folder: Path) -> dict:
    """polars read of the raw files + a plain bulk insert of the same rows, no logic."""
    from sqlalchemy import text

    from ledger.bulk import bulk_insert
    from ledger.db import get_engine

    engine = get_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_floor"))
        conn.execute(text("CREATE TABLE bench_floor (provider TEXT, txn_id TEXT, account_id TEXT, amount TEXT)"))
    start = time.perf_counter()
    raw = _read_raw(folder)
    read_s = time.perf_counter() - start
    with engine.begin() as conn:
        bulk_insert(conn, "bench_floor", raw)
    total_s = time.perf_counter() - start
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_floor"))
    return {"rows": raw.height, "read_s": round(read_s, 3), "total_s": round(total_s, 3)}


def run_orm(url: str, folder: Path, rows: int = ORM_ROWS) -> dict:
    """The way a typical team would write it: one ORM object per row, added one by one."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from benchmarks.orm_baseline import Base
    from benchmarks.orm_baseline import BenchRow as Row
    from ledger.db import get_engine

    engine = get_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    sample = _read_raw(folder).head(rows)
    start = time.perf_counter()
    with Session(engine) as session:
        for provider, txn_id, account_id, amount in sample.iter_rows():
            session.add(Row(provider=provider, txn_id=txn_id, account_id=account_id,
                            amount_pence=int(round(float(amount or 0) * 100))))
        session.commit()
    seconds = time.perf_counter() - start
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_orm"))
    return {"rows": sample.height, "seconds": round(seconds, 3), "rows_per_s": round(sample.height / seconds)}


def query_plans(url: str, day: dt.date) -> dict[str, str]:
    """Plans of the queries the nightly screening and reconciliation lean on."""
    from sqlalchemy import text

    from ledger.db import get_engine

    queries = {
        "transactions of a day (screening window)": (
            "SELECT * FROM transactions WHERE london_date >= :f AND london_date <= :t", {"f": day - dt.timedelta(days=84), "t": day}),
        "card balance as of a day (reconciliation)": (
            "SELECT account_code, sum(amount_pence) FROM postings WHERE account_code = :a AND london_date <= :d GROUP BY account_code",
            {"a": "card:A:20000001:council", "d": day}),
        "provider balances of a day": ("SELECT * FROM provider_balances WHERE balance_date = :d", {"d": day}),
        "idempotency lookup": ("SELECT entry_id FROM journal_entries WHERE idempotency_key = :k", {"k": "A:AB1"}),
        "stored transaction lookup": (
            "SELECT status FROM transactions WHERE provider = :p AND provider_txn_id = :t", {"p": "A", "t": "AB1"}),
    }
    plans = {}
    engine = get_engine(url)
    with engine.connect() as conn:
        for name, (sql, params) in queries.items():
            prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
            rows = conn.execute(text(prefix + sql), params).all()
            plans[name] = "\n".join(str(r[-1]) if engine.dialect.name == "sqlite" else str(r[0]) for r in rows)
    return plans


def run_growth(kind: str, workdir: Path, days: int, cards: int, transactions: int) -> dict:
    """Day 1, then days 2..N-1 as history, then day N: the night's time must not grow with history."""
    from benchmarks.generate import generate_day

    url, cleanup = _fresh_database(kind, workdir)
    try:
        opening = None
        times = {}
        for i in range(days):
            day = dt.date(2026, 3, 2) + dt.timedelta(days=i)
            folder_root = workdir / "growth"
            gen = generate_day(folder_root, cards=cards, transactions=transactions, day=day, seed=100 + i, opening_pence=opening)
            opening = gen.closing_pence
            result = run_nightly(url, gen.folder, day, None)
            if i in (0, days - 1):
                times[f"day_{i + 1}"] = result
            shutil.rmtree(gen.folder)
            print(f"  growth {kind}: day {i + 1}/{days} {result['total_s']:.1f}s", flush=True)
        first, last = times["day_1"]["total_s"], times[f"day_{days}"]["total_s"]
        return {"days": days, "cards": cards, "transactions_per_day": transactions, "day_1": times["day_1"],
                f"day_{days}": times[f"day_{days}"], "ratio_last_to_first": round(last / first, 3)}
    finally:
        cleanup()


def benchmark(kind: str, *, cards: int, transactions: int, growth_days: int = 0, growth_cards: int = 10_000,
              growth_transactions: int = 100_000, validate: bool = True) -> dict:
    from benchmarks.generate import generate_day

    workdir = Path(tempfile.mkdtemp(prefix=f"careledger-bench-{kind}-"))
    try:
        start = time.perf_counter()
        gen = generate_day(workdir / "drops", cards=cards, transactions=transactions)
        generate_s = time.perf_counter() - start
        print(f"[{kind}] generated {transactions:,} transactions for {cards:,} cards in {generate_s:.1f}s", flush=True)
        floor_url, floor_cleanup = _fresh_database(kind, workdir / "floor") if kind == "postgresql" else _floor_sqlite(workdir)
        try:
            floor = run_floor(floor_url, gen.folder)
            print(f"[{kind}] floor: {floor}", flush=True)
            orm = run_orm(floor_url, gen.folder)
            print(f"[{kind}] ORM one-by-one: {orm}", flush=True)
        finally:
            floor_cleanup()
        url, cleanup = _fresh_database(kind, workdir)
        try:
            ours = run_nightly(url, gen.folder, gen.day, (workdir / "validation") if validate else None)
            print(f"[{kind}] ours: {ours}", flush=True)
            plans = query_plans(url, gen.day)
        finally:
            cleanup()
        result = {
            "database": kind,
            "cpu_count": os.cpu_count(),
            "machine": platform.platform(),
            "python": platform.python_version(),
            "cards": cards,
            "transactions": transactions,
            "per_provider": gen.per_provider,
            "generate_s": round(generate_s, 2),
            "ours": ours,
            "floor": floor,
            "ratio_to_floor": round(ours["total_s"] / floor["total_s"], 2),
            "orm": orm,
            "rows_per_s": round(transactions / ours["total_s"]),
            "ratio_to_orm": round((transactions / ours["total_s"]) / orm["rows_per_s"], 2),
            "query_plans": plans,
            "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        if growth_days:
            result["growth"] = run_growth(kind, workdir, growth_days, growth_cards, growth_transactions)
        return result
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _pg_schema(tag: str) -> tuple[str, Callable[[], None]]:
    """A fresh schema in the PostgreSQL database, dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text

    from ledger.db import get_engine

    schema = "bench_" + uuid.uuid4().hex[:10]
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"

    def cleanup() -> None:
        get_engine(url).dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()

    return url, cleanup


def _floor_sqlite(workdir: Path) -> tuple[str, Callable[[], None]]:
    from ledger.db import get_engine

    (workdir / "floor").mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{workdir / 'floor' / 'floor.db'}"
    return url, lambda: get_engine(url).dispose()


PROFILE_NOTES = """## What the profile showed, and what changed (pyinstrument)

- PostgreSQL chose sequential scans for the idempotency lookups right after a large COPY (the
  table's statistics were stale): 9 s per 5,000-key lookup at 150,000 entries. `ledger/bulk.py` now
  runs ANALYZE after a COPY of 10,000 rows or more; 200,000 rows went from 8+ minutes to 52 s.
- Lookups of "which of these keys exist" now bind one array (`= ANY(:values)`) on PostgreSQL
  instead of 5,000 IN parameters (`ledger/sqlfilters.rows_where_in`).
- Linking transactions to their entries was a row-by-row UPDATE; now one UPDATE … FROM a temporary
  table. Provider balances are superseded set-based; take-on entries are built for all cards at once.
- Booking day/time and entry descriptions are computed vectorised (polars) instead of per row.
- Provider C skips the per-value PAN walk when the file holds no 13+ digit run (sort-code
  identifiers set aside).

Still slow, and why: the posting rules (`ledger/posting_rules.build_entries`) walk items one by one
in Python because the council/client split of each card depends on what was posted before it;
COPY plus the statement-level balance check and index maintenance take most of the rest. The next
step is to vectorise the common case (cards whose client part is zero, spending only) and to keep a
per-card running-balance snapshot so nightly balance reads stop growing with history.
"""


def write_markdown(results: list[dict], path: Path) -> None:
    lines = [
        "# Performance",
        "",
        "Generated by `make bench` (`careledger bench`); figures from the last run on this machine.",
        "The floor is polars reading the same raw files plus a plain bulk insert of the same rows with no",
        "logic, in the same run. The ORM figure is SQLAlchemy ORM objects added one by one and committed once.",
        "",
        "| database | CPUs | cards | transactions | read s | validate s | post s | screen s | reconcile s | total s | floor s | × floor | postings/s | rows/s vs ORM | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r["ours"]["stages_s"]
        lines.append(
            f"| {r['database']} | {r['cpu_count']} | {r['cards']:,} | {r['transactions']:,} | {s.get('read', 0):.1f} | "
            f"{s.get('validate', 0):.1f} | {s.get('post', 0):.1f} | {s.get('screen', float('nan')):.1f} | "
            f"{s.get('reconcile', float('nan')):.1f} | {r['ours']['total_s']:.1f} | {r['floor']['total_s']:.1f} | "
            f"{r['ratio_to_floor']:.2f} | {r['ours']['postings_per_s'] or 0:,} | {r['ratio_to_orm']:.2f}× | {r['ours']['peak_rss_mb']:,} |"
        )
    lines += ["", "## Against the targets (issue 8)", "", "| database | target | measured | met |", "|---|---|---|---|"]
    for r in results:
        checks = [
            ("end to end ≤ 2× the floor (PostgreSQL)", f"{r['ratio_to_floor']:.2f}×", r["ratio_to_floor"] <= 2),
            ("≥ 100,000 ledger postings a second", f"{r['ours']['postings_per_s'] or 0:,}", (r["ours"]["postings_per_s"] or 0) >= 100_000),
            ("peak memory < 4 GB", f"{r['ours']['peak_rss_mb']:,} MB", r["ours"]["peak_rss_mb"] < 4096),
        ]
        if "growth" in r:
            checks.append(("day 60 / day 1 ≤ 1.2", f"{r['growth']['ratio_last_to_first']:.2f}", r["growth"]["ratio_last_to_first"] <= 1.2))
        for name, value, ok in checks:
            lines.append(f"| {r['database']} | {name} | {value} | {'yes' if ok else '**no**'} |")
    for r in results:
        if "growth" in r:
            g = r["growth"]
            last = g[f"day_{g['days']}"]
            lines += [
                "",
                f"## Growth ({r['database']}): day 1 vs day {g['days']}",
                "",
                f"{g['cards']:,} cards, {g['transactions_per_day']:,} transactions a day, history kept between nights.",
                f"Day 1: {g['day_1']['total_s']:.1f} s; day {g['days']}: {last['total_s']:.1f} s; "
                f"ratio {g['ratio_last_to_first']:.2f} (target ≤ 1.2).",
            ]
    for r in results:
        lines += ["", f"## Query plans ({r['database']})", ""]
        for name, plan in r["query_plans"].items():
            lines += [f"**{name}**", "", "```", plan, "```", ""]
    lines += ["", PROFILE_NOTES]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(databases: list[str], *, cards: int, transactions: int, growth_days: int, growth_cards: int,
         growth_transactions: int, validate: bool, markdown: Path | None = ROOT / "docs" / "performance.md") -> list[dict]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = []
    for kind in databases:
        r = benchmark(kind, cards=cards, transactions=transactions, growth_days=growth_days, growth_cards=growth_cards,
                      growth_transactions=growth_transactions, validate=validate)
        (RESULTS / f"{kind}.json").write_text(json.dumps(r, indent=2, default=str), encoding="utf-8")
        results.append(r)
    if markdown is not None:
        write_markdown(results, markdown)
    return results
