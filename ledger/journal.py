"""Posting journal entries: the one way money enters the ledger.

A batch of entries (a polars frame) and their postings (another frame, keyed by the entry's
idempotency key) is written in one transaction, all or nothing:

1. The batch is checked in Python first (every entry balances to zero over at least two postings;
   keys are unique) so a bad entry is *named* before anything is written.
2. Keys already posted are set aside: with the same payload they are "already posted" (a quiet
   no-op); with a different payload they are conflicts, returned to the caller and never written.
3. The rest get consecutive entry ids and a hash chain (each entry's hash covers its postings and
   the previous entry's hash), under the ledger write lock.
4. Postings, then entries, are bulk-written; the database's own guards (ledger.guards) re-check
   the balance and refuse any later change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import polars as pl
from sqlalchemy import Connection, text

from db.bulk import bulk_insert
from db.engine import take_ledger_lock
from db.faults import crash_point
from ledger.accounts import ACCOUNT_SCHEMA

GENESIS_HASH = "0" * 64

ENTRY_SCHEMA: dict[str, pl.DataType] = {
    "idempotency_key": pl.Utf8,
    "entry_type": pl.Utf8,
    "effective_at": pl.Datetime("us", "UTC"),
    "london_date": pl.Date,
    "occurred_at": pl.Datetime("us", "UTC"),
    "description": pl.Utf8,
    "council": pl.Utf8,
    "client_id": pl.Utf8,
    "provider": pl.Utf8,
    "provider_account_id": pl.Utf8,
    "provider_txn_id": pl.Utf8,
    "source_file": pl.Utf8,
    "source_line": pl.Int64,
    "reverses_key": pl.Utf8,  # idempotency key of the entry this one reverses, if any
    "payload_hash": pl.Utf8,
}
POSTING_SCHEMA: dict[str, pl.DataType] = {
    "idempotency_key": pl.Utf8,
    "account_code": pl.Utf8,
    "amount_pence": pl.Int64,
}


class LedgerError(ValueError):
    """A batch the ledger refuses; the message names the entry and what is wrong with it."""


@dataclass(frozen=True)
class Conflict:
    idempotency_key: str
    existing_payload_hash: str
    new_payload_hash: str
    source_file: str | None
    source_line: int | None


@dataclass
class PostResult:
    posted: int = 0
    already_posted: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    batch_id: int | None = None
    entry_ids: dict[str, int] = field(default_factory=dict)  # key -> entry id, for new and existing

    def summary(self) -> str:
        return f"{self.posted} posted, {self.already_posted} already posted, {len(self.conflicts)} conflict(s)"


def entry_hash(prev_hash: str, entry_id: int, key: str, entry_type: str, london_date: str, lines: list[tuple[str, int]]) -> str:
    """The chained hash of one entry: what ``careledger verify`` recomputes."""
    body = "|".join(
        [prev_hash, str(entry_id), key, entry_type, london_date, ";".join(f"{a}={p}" for a, p in sorted(lines))]
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _entry_hash_tails(entries: pl.DataFrame, postings: pl.DataFrame) -> pl.Series:
    """For each entry (in the frame's order), the text ``entry_hash`` puts after the previous hash:
    ``"|entry_id|key|type|YYYY-MM-DD|code=pence;code=pence"`` with the lines sorted as Python sorts
    (code, pence) tuples (polars compares strings by UTF-8 bytes, which is code-point order)."""
    lines = (
        postings.sort("entry_id", "account_code", "amount_pence")
        .group_by("entry_id", maintain_order=True)
        .agg((pl.col("account_code") + "=" + pl.col("amount_pence").cast(pl.Utf8)).str.join(";").alias("_lines"))
    )
    return (
        entries.select("entry_id", "idempotency_key", "entry_type", "london_date")
        .join(lines, on="entry_id", how="left", maintain_order="left")
        .select(
            pl.concat_str(
                [
                    pl.lit(""),
                    pl.col("entry_id").cast(pl.Utf8),
                    pl.col("idempotency_key"),
                    pl.col("entry_type"),
                    pl.col("london_date").dt.strftime("%Y-%m-%d"),
                    pl.col("_lines").fill_null(""),
                ],
                separator="|",
            )
        )
        .to_series()
    )


def _chain(prev_hash: str, tails: pl.Series) -> tuple[list[str], list[str]]:
    """Chain SHA-256 over ``prev_hash + tail`` for each tail in order: (previous hashes, hashes)."""
    sha = hashlib.sha256
    prev_hashes: list[str] = []
    hashes: list[str] = []
    for tail in tails:
        prev_hashes.append(prev_hash)
        prev_hash = sha((prev_hash + tail).encode()).hexdigest()
        hashes.append(prev_hash)
    return prev_hashes, hashes


def payload_hash(*parts: object) -> str:
    """Hash of an item's source facts; the same item re-sent gives the same hash."""
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()


def check_batch(entries: pl.DataFrame, postings: pl.DataFrame) -> None:
    """Assert the batch is well formed before anything is written; raise LedgerError naming the entry."""
    dup = entries.group_by("idempotency_key").len().filter(pl.col("len") > 1)
    if dup.height:
        raise LedgerError(f"idempotency key {dup['idempotency_key'][0]!r} appears {dup['len'][0]} times in one batch")
    if postings["amount_pence"].null_count() or (postings["amount_pence"] == 0).any():
        bad = postings.filter(pl.col("amount_pence").is_null() | (pl.col("amount_pence") == 0))
        raise LedgerError(f"entry {bad['idempotency_key'][0]!r} has a posting of zero or no amount")
    sums = postings.group_by("idempotency_key").agg(
        pl.col("amount_pence").sum().alias("total_pence"), pl.len().alias("n_postings")
    )
    joined = entries.select("idempotency_key").join(sums, on="idempotency_key", how="left")
    bad = joined.filter(
        pl.col("total_pence").is_null() | (pl.col("total_pence") != 0) | (pl.col("n_postings") < 2)
    )
    if bad.height:
        row = bad.row(0, named=True)
        raise LedgerError(
            f"entry {row['idempotency_key']!r} does not balance: {row['n_postings'] or 0} posting(s) "
            f"summing to {row['total_pence'] or 0} pence (an entry needs two or more postings summing to zero)"
        )
    orphans = postings.join(entries.select("idempotency_key"), on="idempotency_key", how="anti")
    if orphans.height:
        raise LedgerError(f"posting for {orphans['idempotency_key'][0]!r} has no entry in the batch")


def existing_keys(conn: Connection, keys: list[str]) -> dict[str, tuple[int, str]]:
    """Already-posted keys among ``keys``: key -> (entry_id, payload_hash)."""
    from db.sqlfilters import rows_where_in

    found: dict[str, tuple[int, str]] = {}
    sql = "SELECT idempotency_key, entry_id, payload_hash FROM journal_entries WHERE {match}"
    for key, entry_id, phash in rows_where_in(conn, sql, "idempotency_key", keys):
        found[key] = (int(entry_id), phash)
    return found


def _last_ids(conn: Connection) -> tuple[int, int, int, str]:
    row = conn.execute(
        text(
            "SELECT (SELECT coalesce(max(entry_id), 0) FROM journal_entries),"
            " (SELECT coalesce(max(posting_id), 0) FROM postings),"
            " (SELECT coalesce(max(batch_id), 0) FROM posting_batches)"
        )
    ).one()
    last_hash = conn.execute(
        text("SELECT entry_hash FROM journal_entries ORDER BY entry_id DESC LIMIT 1")
    ).scalar()
    return int(row[0]), int(row[1]), int(row[2]), last_hash or GENESIS_HASH


def ensure_accounts(conn: Connection, accounts: pl.DataFrame) -> int:
    """Create any accounts not yet in the chart (existing ones are left exactly as they are)."""
    if accounts.height == 0:
        return 0
    accounts = accounts.select(list(ACCOUNT_SCHEMA)).unique("code", keep="first")
    have: set[str] = set()
    codes = accounts["code"].to_list()
    from db.sqlfilters import rows_where_in

    have.update(r[0] for r in rows_where_in(conn, "SELECT code FROM accounts WHERE {match}", "code", codes))
    new = accounts.filter(~pl.col("code").is_in(list(have)))
    if new.height:
        now = dt.datetime.now(dt.UTC)
        bulk_insert(conn, "accounts", new.with_columns(pl.lit(now, dtype=pl.Datetime("us", "UTC")).alias("created_at")))
    return new.height


def post_entries(
    conn: Connection,
    entries: pl.DataFrame,
    postings: pl.DataFrame,
    accounts: pl.DataFrame,
    *,
    source: str,
    existing: dict[str, tuple[int, str]] | None = None,
) -> PostResult:
    """Post a batch in the caller's transaction. Idempotent by key; conflicts are returned, not written.

    ``existing``: the already-posted keys among this batch's, when the caller has just looked them up
    under the ledger lock in this same transaction (ingest does, to avoid building entries for posted
    items; it asks only about items it had stored before, the only ones that can have an entry); the
    lookup is then not repeated. The unique key constraint stays the backstop.
    """
    entries = entries.select([pl.col(c).cast(t) for c, t in ENTRY_SCHEMA.items()])
    postings = postings.select([pl.col(c).cast(t) for c, t in POSTING_SCHEMA.items()])
    check_batch(entries, postings)
    result = PostResult()
    if entries.height == 0:
        return result
    take_ledger_lock(conn)

    keys = entries["idempotency_key"].to_list()
    if existing is None:
        existing = existing_keys(conn, keys)
    else:
        existing = {k: existing[k] for k in keys if k in existing}
    if existing:
        hashes = dict(zip(keys, entries["payload_hash"].to_list(), strict=True))
        for key, (entry_id, old_hash) in existing.items():
            result.entry_ids[key] = entry_id
            if old_hash == hashes[key]:
                result.already_posted += 1
            else:
                row = entries.filter(pl.col("idempotency_key") == key).row(0, named=True)
                result.conflicts.append(Conflict(key, old_hash, hashes[key], row["source_file"], row["source_line"]))
        entries = entries.filter(~pl.col("idempotency_key").is_in(list(existing)))
        postings = postings.filter(~pl.col("idempotency_key").is_in(list(existing)))
    if entries.height == 0:
        return result

    last_entry_id, last_posting_id, last_batch_id, prev_hash = _last_ids(conn)
    batch_id = last_batch_id + 1
    entries = entries.with_columns(
        pl.int_range(last_entry_id + 1, last_entry_id + 1 + entries.height, dtype=pl.Int64).alias("entry_id")
    )
    id_of = dict(zip(entries["idempotency_key"].to_list(), entries["entry_id"].to_list(), strict=True))
    result.entry_ids.update(id_of)

    # Reversals name what they reverse by key; resolve to ids (in this batch or already posted).
    rev_keys = [k for k in entries["reverses_key"].drop_nulls().unique().to_list() if k not in id_of]
    rev_existing = existing_keys(conn, rev_keys) if rev_keys else {}
    missing = [k for k in rev_keys if k not in rev_existing]
    if missing:
        raise LedgerError(f"reversal names entry {missing[0]!r}, which is not posted")
    rev_map = {**{k: v[0] for k, v in rev_existing.items()}, **id_of}
    entries = entries.with_columns(
        pl.col("reverses_key").replace_strict(rev_map, default=None, return_dtype=pl.Int64).alias("reverses_entry_id")
    )

    # Postings in entry order, with their entry's id and booking day.
    postings = (
        postings.join(
            entries.select("idempotency_key", "entry_id", "london_date", "effective_at"), on="idempotency_key", how="inner"
        )
        .sort("entry_id", maintain_order=True)
        .with_columns(
            pl.int_range(last_posting_id + 1, last_posting_id + 1 + postings.height, dtype=pl.Int64).alias("posting_id")
        )
    )

    # Hash chain, in entry-id order: everything after the previous hash is built column-wise, then
    # one loop chains the SHA-256s (the same text ``entry_hash`` hashes; tests/ledger checks).
    prev_hashes, hashes = _chain(prev_hash, _entry_hash_tails(entries, postings))
    entries = entries.with_columns(
        pl.Series("prev_hash", prev_hashes), pl.Series("entry_hash", hashes), pl.lit(batch_id).alias("batch_id")
    )

    ensure_accounts(conn, accounts)
    now = dt.datetime.now(dt.UTC)
    conn.execute(
        text(
            "INSERT INTO posting_batches (batch_id, source, entries, postings, committed_at)"
            " VALUES (:b, :s, :e, :p, :t)"
        ),
        {"b": batch_id, "s": source, "e": entries.height, "p": postings.height, "t": now},
    )
    bulk_insert(
        conn,
        "postings",
        postings.select("posting_id", "entry_id", "account_code", "amount_pence", "london_date", "effective_at"),
    )
    crash_point("mid_post")
    bulk_insert(
        conn,
        "journal_entries",
        entries.select(
            "entry_id",
            "idempotency_key",
            "entry_type",
            "effective_at",
            "london_date",
            "occurred_at",
            "description",
            "council",
            "client_id",
            "provider",
            "provider_account_id",
            "provider_txn_id",
            "source_file",
            "source_line",
            "reverses_entry_id",
            "payload_hash",
            "batch_id",
            "prev_hash",
            "entry_hash",
        ),
    )
    result.posted = entries.height
    result.batch_id = batch_id
    return result


def entries_frame(rows: list[dict]) -> pl.DataFrame:
    """Build an entries frame from dicts (missing optional fields become nulls)."""
    return pl.DataFrame([{c: r.get(c) for c in ENTRY_SCHEMA} for r in rows], schema=ENTRY_SCHEMA)


def postings_frame(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=POSTING_SCHEMA, orient="row")
