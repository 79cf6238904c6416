"""``careledger ingest DROP_DIR``: load a day's drop folder into the ledger.

Each provider file is one all-or-nothing unit (one database transaction): it is registered by its
SHA-256 (the same file twice is skipped and said so), its rows are read, validated, classified and
stored as canonical transactions; settled items are posted through the ledger's bulk path; pending
items hold funds; closing balances are kept for reconciliation. A bad row goes to quarantine with
file, line and reason; a file that cannot be read is refused whole and the run carries on with the
other files. A crash part-way through a file leaves nothing of that file behind and the file is not
marked loaded, so re-running the folder finishes the job.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from sqlalchemy import Connection, text

from db.bulk import bulk_insert
from db.bulk_read import rows_frame
from db.engine import get_engine, take_ledger_lock
from db.faults import crash_point
from db.heap import bulk_gc
from db.sqlfilters import execute_where_in, rows_where_in
from feeds.archive import archive_file
from feeds.read_ahead import read_ahead
from ledger.corrections import reverse_entry
from ledger.journal import existing_keys, post_entries
from ledger.posting_rules import (
    CardState,
    build_entries,
    entry_key,
    item_payload_hashes,
    take_on_entries,
)
from ledger.queries import account_totals
from records import take_on_queue as take_ons
from records.balances import save_provider_balances
from records.client_days import refresh_client_days
from records.reference import load_reference, save_reference
from records.tables import feed_files
from records.transactions import known_contributors
from schemas.canonical import CANONICAL_SCHEMA
from schemas.reference import ReferenceData

if TYPE_CHECKING:
    from feeds.readers.common import ReadResult

HOLD_CLOSING_STATUSES = ("settled", "released", "declined")


@dataclass
class FileSummary:
    file_name: str
    provider: str
    file_kind: str
    status: str  # loaded, skipped (already loaded), refused
    message: str = ""
    rows_read: int = 0
    rows_posted: int = 0
    rows_already_posted: int = 0
    rows_pending: int = 0
    rows_quarantined: int = 0
    conflicts: int = 0
    incidents: int = 0


@dataclass
class IngestSummary:
    run_id: str
    drop_dir: str
    files: list[FileSummary] = field(default_factory=list)
    take_ons: int = 0
    data_docs: str | None = None

    def total(self, attr: str) -> int:
        return sum(getattr(f, attr) for f in self.files)

    @property
    def refused(self) -> list[FileSummary]:
        return [f for f in self.files if f.status == "refused"]

    def as_dict(self) -> dict:
        d = asdict(self)
        for attr in ("rows_read", "rows_posted", "rows_already_posted", "rows_pending", "rows_quarantined", "conflicts", "incidents"):
            d[attr] = self.total(attr)
        return d


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _already_registered(conn: Connection, sha: str) -> tuple[str, str] | None:
    row = conn.execute(
        text("SELECT status, file_name FROM feed_files WHERE sha256 = :s"), {"s": sha}
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def _register(conn: Connection, summary: FileSummary, sha: str, feed_date: dt.date | None, drop_dir: Path, run_id: str, batch_id: int | None) -> None:
    conn.execute(
        feed_files.insert().values(
            sha256=sha,
            file_name=summary.file_name,
            provider=summary.provider,
            file_kind=summary.file_kind,
            feed_date=feed_date,
            drop_dir=str(drop_dir),
            run_id=run_id,
            status=summary.status,
            message=summary.message,
            rows_read=summary.rows_read,
            rows_posted=summary.rows_posted,
            rows_already_posted=summary.rows_already_posted,
            rows_pending=summary.rows_pending,
            rows_quarantined=summary.rows_quarantined,
            incidents=summary.incidents,
            batch_id=batch_id,
            loaded_at=dt.datetime.now(dt.UTC),
        )
    )


def _quarantine(conn: Connection, rows: pl.DataFrame, run_id: str, sha: str) -> int:
    if rows.height == 0:
        return 0
    now = dt.datetime.now(dt.UTC)
    bulk_insert(
        conn,
        "quarantine",
        rows.select("source_file", "source_line", "provider", "provider_txn_id", "reason", "raw_text").with_columns(
            pl.lit(run_id).alias("run_id"),
            pl.lit(sha).alias("file_sha256"),
            pl.lit(now, dtype=pl.Datetime("us", "UTC")).alias("created_at"),
        ),
    )
    return rows.height


def _stored_transactions(conn: Connection, provider: str, ids: list[str]) -> pl.DataFrame:
    """Stored rows for these provider ids: status, payload hash, hold history, and the client and day
    (a rewritten row's old version leaves its day in ``client_days`` to be recomputed)."""
    rows = rows_where_in(
        conn,
        "SELECT provider_txn_id, status, payload_hash, held_amount_pence, hold_closed_on, client_id, london_date FROM transactions"
        " WHERE provider = :p AND {match}",
        "provider_txn_id", ids, {"p": provider},
    )
    return rows_frame(rows, STORED_SCHEMA)


STORED_SCHEMA: dict[str, pl.DataType] = {
    "provider_txn_id": pl.Utf8, "stored_status": pl.Utf8, "stored_hash": pl.Utf8,
    "stored_held_pence": pl.Int64, "stored_closed_on": pl.Date, "stored_client_id": pl.Utf8, "stored_day": pl.Date,
}


def _hold_columns(feed_date: pl.Expr) -> list[pl.Expr]:
    """``hold_open``, ``held_amount_pence`` and ``hold_closed_on`` for rows about to be written.

    Why keep history: a re-run of an older day must see the holds open at the end of *that* day,
    not today's. A pending row holds its amount until something closes it; an item moving from
    pending to a final state closes its hold on its posted date or, with none (a reversal), on the
    day of the feed that said so. A hold already closed by a related event stays closed.
    """
    pending = pl.col("status") == "pending"
    closed_before = pl.col("stored_closed_on").is_not_null()
    advancing = (pl.col("stored_status") == "pending") & ~pending
    return [
        (pending & ~closed_before).alias("hold_open"),
        pl.when(pending).then(pl.col("amount_pence"))
        .when(advancing).then(pl.coalesce("stored_held_pence", "amount_pence"))
        .otherwise(None).cast(pl.Int64).alias("held_amount_pence"),
        pl.when(closed_before).then(pl.col("stored_closed_on"))
        .when(advancing).then(pl.coalesce("posted_date", feed_date))
        .otherwise(None).cast(pl.Date).alias("hold_closed_on"),
    ]


def _status_rank(col: str) -> pl.Expr:
    """Lifecycle order: a later state never goes back to an earlier one (pending < final states)."""
    return pl.when(pl.col(col) == "pending").then(0).otherwise(1)


def _card_states(conn: Connection, cards: list[tuple[str, str]]) -> dict[tuple[str, str], CardState]:
    """Current council and client parts for these cards (all posted history): the newest balance
    checkpoint plus the postings since (``ledger.queries.account_totals``, the same figure as summing
    each card's whole history, which made a night's posting grow with the length of the ledger)."""
    states: dict[tuple[str, str], CardState] = {}
    if not cards:
        return states
    codes = [f"card:{p}:{a}:{part}" for p, a in cards for part in ("council", "client")]
    for code, pence in account_totals(conn, codes).items():
        _, p, a, part = code.split(":")
        state = states.setdefault((p, a), CardState())
        if part == "council":
            state.council_pence = int(pence)
        else:
            state.client_pence = int(pence)
    return states


def _originals(conn: Connection, keys: list[str]) -> dict[str, list[tuple[str, int]]]:
    """Postings of already-posted entries that reversals, refunds and chargebacks name."""
    out: dict[str, list[tuple[str, int]]] = {}
    if not keys:
        return out
    sql = (
        "SELECT e.idempotency_key, p.account_code, p.amount_pence FROM journal_entries e"
        " JOIN postings p ON p.entry_id = e.entry_id WHERE {match} ORDER BY p.posting_id"
    )
    for key, code, pence in rows_where_in(conn, sql, "e.idempotency_key", keys):
        out.setdefault(key, []).append((code, int(pence)))
    return out


MIN_CARDHOLDER_SHARE = 0.5  # an extract with fewer usable cardholders than this share of the stored one is refused


def refuse_a_shrunken_extract(stored: ReferenceData, new: ReferenceData, drop_dir: Path) -> None:
    """Refuse an extract that would drop most of the cards in use.

    Why: the extract is full state, so a cardholders.csv cut short (a failed export, a file
    truncated in transit, one written with only its header) would make every missing card unknown
    overnight and send its money to suspense. Real changes are gradual; a halving is far more
    likely a broken file. When the council confirms it, ``accept_smaller_extract`` loads it.
    """
    from feeds.readers import FileRefused

    before, after = stored.cardholders.height, new.cardholders.height
    if before and after < before * MIN_CARDHOLDER_SHARE:
        raise FileRefused(
            f"{drop_dir / 'cardholders.csv'}: expected about the {before} cardholders of the extract in use; found "
            f"{after} usable row(s), which would make {before - after} card(s) unknown. Nothing from this extract was "
            "loaded; the stored one stays in use. If the council confirms the cards really went, load the drop with "
            "`careledger ingest --accept-smaller-extract`."
        )


def _record_incidents(
    conn: Connection, fs: FileSummary, incidents: list, run_id: str, sha_by_file: dict[str, str], *, tell: str
) -> None:
    """Store each card number found (and already masked) as a security incident, and say so loudly
    in the file's summary: someone must tell the sender that a PAN left their system."""
    now = dt.datetime.now(dt.UTC)
    for inc in incidents:
        conn.execute(
            text(
                "INSERT INTO security_incidents (run_id, source_file, file_sha256, source_line, field, description, detected_at)"
                " VALUES (:r, :f, :s, :l, :fld, :d, :t)"
            ),
            {"r": run_id, "f": inc.source_file, "s": sha_by_file[inc.source_file], "l": inc.source_line, "fld": inc.field,
             "d": inc.description, "t": now},
        )
    fs.incidents = len(incidents)
    if fs.incidents:
        where = ", ".join(f"{i.source_file} line {i.source_line}" for i in incidents[:10])
        fs.message = f"SECURITY: {fs.incidents} card number(s) found and masked ({where}); tell {tell}"


def store_and_post(
    conn: Connection,
    txns: pl.DataFrame,
    ref: ReferenceData,
    *,
    source: str,
    feed_date: dt.date | None = None,
    payload_hashes: pl.Series | None = None,
) -> dict[str, int]:
    """Store canonical transactions and post the settled ones; returns counts.

    Must run inside the caller's transaction. Returns posted, already_posted, pending, conflicts
    and the conflicting rows (as a quarantine frame under key "conflict_rows"). ``feed_date`` is
    the day of the file the rows came from: a hold that a final state closes without a posted
    date (a reversal) ends on it; without one, the latest day among the rows stands in.
    ``payload_hashes``: each row's ``item_payload_hash``, in the rows' order, if already known.
    """
    counts = {"posted": 0, "already_posted": 0, "pending": 0, "conflicts": 0}
    conflict_rows: list[dict] = []
    if txns.height == 0:
        return counts | {"conflict_rows": conflict_rows}  # type: ignore[return-value]
    take_ledger_lock(conn)
    txns = txns.with_columns(payload_hashes.alias("payload_hash") if payload_hashes is not None else item_payload_hashes(txns))
    # Within a file the same item can appear twice (pending then settled): keep its latest state.
    txns = (
        txns.with_columns(_status_rank("status").alias("_rank"))
        .sort(["_rank", "source_line"])
        .unique(["provider", "provider_txn_id"], keep="last", maintain_order=True)
        .drop("_rank")
    )

    # Compare with what is stored: new rows insert; a pending row moving to a final state updates;
    # a final row never goes back; a final row with a different payload is a conflict.
    stored_parts = [
        _stored_transactions(conn, p, txns.filter(pl.col("provider") == p)["provider_txn_id"].to_list())
        .with_columns(pl.lit(p).alias("provider"))
        for p in txns["provider"].unique().to_list()
    ]
    stored = pl.concat(stored_parts) if stored_parts else pl.DataFrame()
    merged = txns.join(stored, on=["provider", "provider_txn_id"], how="left") if stored.height else txns.with_columns(
        pl.lit(None, dtype=dtype).alias(name) for name, dtype in STORED_SCHEMA.items() if name != "provider_txn_id"
    )
    closing_day = pl.lit(feed_date if feed_date is not None else txns["london_date"].max(), dtype=pl.Date)
    is_new = pl.col("stored_status").is_null()
    stored_final = pl.col("stored_status").is_not_null() & (pl.col("stored_status") != "pending")
    conflict = stored_final & (pl.col("status") != "pending") & (pl.col("stored_hash") != pl.col("payload_hash"))
    advance = (pl.col("stored_status") == "pending") & (pl.col("status") != "pending")
    pending_changed = (pl.col("stored_status") == "pending") & (pl.col("status") == "pending") & (
        pl.col("stored_hash") != pl.col("payload_hash")
    )
    conflicts = merged.filter(conflict)
    counts["conflicts"] = conflicts.height
    for r in conflicts.iter_rows(named=True):
        conflict_rows.append(
            {
                "source_file": r["source_file"],
                "source_line": r["source_line"],
                "provider": r["provider"],
                "provider_txn_id": r["provider_txn_id"],
                "reason": f"conflict: {r['provider']} item {r['provider_txn_id']} was already loaded with different "
                f"details (amount, account or type); the stored version is kept and this one is held here for review",
                "raw_text": json.dumps({k: r[k] for k in CANONICAL_SCHEMA}, default=str),
            }
        )
    # Post the settled items first, so that each row stored below carries the id of the entry that
    # posted it (an UPDATE of the just-written rows afterwards cost more than writing them).
    stored_items = merged.filter(~is_new).select("provider", "provider_txn_id")
    links = _post_settled(
        conn, txns, conflicts, stored_items, ref, source=source, counts=counts, conflict_rows=conflict_rows
    )
    to_write = merged.filter(is_new | advance | pending_changed)
    if to_write.height:
        ids_by_provider: dict[str, list[str]] = {}
        for p, tid in to_write.filter(~is_new).select("provider", "provider_txn_id").iter_rows():
            ids_by_provider.setdefault(p, []).append(tid)
        for p, ids in ids_by_provider.items():
            execute_where_in(conn, "DELETE FROM transactions WHERE provider = :p AND {match}", "provider_txn_id", ids, {"p": p})
        rows = to_write.with_columns(*_hold_columns(closing_day), pl.lit(None, dtype=pl.Int64).alias("entry_id"))
        rows = _with_entry_ids(rows, links).with_columns(
            pl.lit(dt.datetime.now(dt.UTC), dtype=pl.Datetime("us", "UTC")).alias("stored_at")
        )
        bulk_insert(
            conn, "transactions",
            rows.select(
                list(CANONICAL_SCHEMA) + ["hold_open", "held_amount_pence", "hold_closed_on", "payload_hash", "entry_id", "stored_at"]
            ),
        )
    counts["pending"] = to_write.filter(pl.col("status") == "pending").height
    # Client-days whose items changed: each written row's, and its replaced version's.
    touched = [
        to_write.select("client_id", "london_date"),
        to_write.filter(~is_new).select(pl.col("stored_client_id").alias("client_id"), pl.col("stored_day").alias("london_date")),
    ]

    # Holds closed by a later event that names them (B: clearing, release, reversal).
    closers = txns.filter(pl.col("status").is_in(HOLD_CLOSING_STATUSES) & pl.col("related_txn_id").is_not_null())
    # The hold ends on the closing event's posted date, else on the day the event happened.
    if closers.height:
        close = (
            "UPDATE transactions SET hold_open = :f, hold_closed_on = :closed"
            " WHERE provider = :p AND {match} AND hold_open"
        )
        held = "SELECT client_id, london_date FROM transactions WHERE provider = :p AND {match} AND hold_open"
        closers = closers.with_columns(pl.coalesce("posted_date", "london_date").alias("_closed_on"))
        for (p, closed_on), group in closers.group_by("provider", "_closed_on", maintain_order=True):
            ids = group["related_txn_id"].unique().to_list()
            closed = rows_where_in(conn, held, "provider_txn_id", ids, {"p": p})
            touched.append(rows_frame(closed, {"client_id": pl.Utf8, "london_date": pl.Date}))
            execute_where_in(conn, close, "provider_txn_id", ids, {"f": False, "closed": closed_on, "p": p})
    refresh_client_days(conn, pl.concat(touched, how="vertical_relaxed"))

    # Rows posted now that were not written above (stored earlier, final and unchanged): link them.
    _link_stored(conn, links, to_write)
    return counts | {"conflict_rows": conflict_rows}  # type: ignore[return-value]


def _post_settled(
    conn: Connection,
    txns: pl.DataFrame,
    conflicts: pl.DataFrame,
    stored_items: pl.DataFrame,
    ref: ReferenceData,
    *,
    source: str,
    counts: dict[str, int],
    conflict_rows: list[dict],
) -> pl.DataFrame:
    """Post the settled items not yet in the ledger; returns (provider, provider_txn_id, entry_id) of
    each item posted now. Updates ``counts`` (posted, already_posted, conflicts) and ``conflict_rows``.

    ``stored_items`` (provider, provider_txn_id): the items of ``txns`` already in ``transactions``. Only
    they can have been posted: an item's entry is written in the same database transaction as its stored
    row, and a stored row is only ever deleted to be re-written in that same transaction. So the ledger's
    idempotency lookup asks about those keys only; on a night of new items it asks about none (a million
    index probes, 3.8 s of a 1,000,000-item PostgreSQL night). The unique ``idempotency_key`` stays the
    backstop: were the rule ever broken, the file would be refused by the database, never posted twice."""
    links = pl.DataFrame(schema={"provider": pl.Utf8, "provider_txn_id": pl.Utf8, "entry_id": pl.Int64})
    settled = txns.join(conflicts.select("provider", "provider_txn_id"), on=["provider", "provider_txn_id"], how="anti").filter(
        pl.col("status") == "settled"
    )
    if settled.height == 0:
        return links
    settled = settled.with_columns((pl.col("provider") + ":" + pl.col("provider_txn_id")).alias("_key"))  # = entry_key
    maybe_posted = settled.join(stored_items, on=["provider", "provider_txn_id"], how="semi")["_key"]
    already = existing_keys(conn, maybe_posted.to_list())
    ledger_conflicts = settled.filter(
        pl.col("_key").is_in(list(already))
        & (pl.col("_key").replace_strict({k: v[1] for k, v in already.items()}, default=None) != pl.col("payload_hash"))
    )
    for r in ledger_conflicts.iter_rows(named=True):
        counts["conflicts"] += 1
        conflict_rows.append(
            {
                "source_file": r["source_file"],
                "source_line": r["source_line"],
                "provider": r["provider"],
                "provider_txn_id": r["provider_txn_id"],
                "reason": f"conflict: {r['_key']} is already posted with different details; the posted entry stands",
                "raw_text": json.dumps({k: r[k] for k in CANONICAL_SCHEMA}, default=str),
            }
        )
    counts["already_posted"] = settled.filter(pl.col("_key").is_in(list(already))).height - ledger_conflicts.height
    new_items = settled.filter(~pl.col("_key").is_in(list(already)))
    if new_items.height == 0:
        return links
    new_items = new_items.sort(["provider", "account_id", pl.coalesce("posted_date", "london_date"), "occurred_at_utc", "provider_txn_id"])
    cards = new_items.select("provider", "account_id").unique().rows()
    related = [
        entry_key(p, r) for p, r in new_items.select("provider", "related_txn_id").drop_nulls().iter_rows()
    ]
    split = {name: str(pol.threshold("balance_split")) for name, pol in ref.councils.items()}
    built = build_entries(new_items, _card_states(conn, cards), _originals(conn, related), split)
    # ``already`` was looked up above under the same lock and transaction: new_items are not in it.
    result = post_entries(conn, built.entries, built.postings, built.accounts, source=source, existing=already)
    counts["posted"] = result.posted
    return new_items.select(
        "provider",
        "provider_txn_id",
        pl.col("_key").replace_strict(result.entry_ids, default=None, return_dtype=pl.Int64).alias("entry_id"),
    ).drop_nulls("entry_id")


def _with_entry_ids(rows: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """Rows about to be stored, each with the id of the entry that posted it (null if none)."""
    return rows.drop("entry_id").join(links, on=["provider", "provider_txn_id"], how="left", maintain_order="left")


def _link_stored(conn: Connection, links: pl.DataFrame, written: pl.DataFrame) -> None:
    """Link already-stored transactions (not re-written in this call) to the entries just posted:
    one set-based UPDATE from a temporary table. Rows written in this call carry their entry id
    already (updating 200,000 just-written rows cost more than writing them)."""
    links = links.join(written.select("provider", "provider_txn_id"), on=["provider", "provider_txn_id"], how="anti")
    if links.height == 0:
        return
    conn.execute(text("CREATE TEMP TABLE IF NOT EXISTS txn_links (provider TEXT, provider_txn_id TEXT, entry_id BIGINT)"))
    conn.execute(text("DELETE FROM txn_links"))
    bulk_insert(conn, "txn_links", links)
    conn.execute(
        text(
            "UPDATE transactions SET entry_id = l.entry_id FROM txn_links l"
            " WHERE transactions.provider = l.provider AND transactions.provider_txn_id = l.provider_txn_id"
        )
    )
    conn.execute(text("DELETE FROM txn_links"))


def post_take_ons(conn: Connection, ref: ReferenceData, source_file: str) -> int:
    """Post the take-on balance of every card whose first closing balance is known.

    Take-on = the provider's first closing balance minus what the ledger holds for the card at the
    end of that day, once that day's transactions file for the provider has been loaded (so a late
    file is not absorbed into the take-on and then counted twice). If an earlier day arrives later
    still, the take-on moves: the old one is reversed (a correction entry) and a new one is posted
    at the earlier day. Set-based: one query for the candidates (``records.take_on_queue``: the queued balance
    rows, not the whole history), one for their ledger balances.
    """
    candidates = take_ons.take_on_candidates(conn)
    if candidates.height == 0:
        take_ons.settle(conn)
        return 0
    # A take-on that an earlier day has overtaken: reverse it, on its own day, before recomputing.
    for r in candidates.filter(pl.col("old_date").is_not_null()).iter_rows(named=True):
        if r["old_entry_id"] is not None:
            reverse_entry(
                conn, r["old_entry_id"], reason=f"take-on moved to {r['balance_date']}, the card's earlier first day",
                on_date=r["old_date"],
            )
        conn.execute(
            text("DELETE FROM card_take_ons WHERE provider = :p AND account_id = :a"), {"p": r["provider"], "a": r["account_id"]}
        )
    owners = ref.cardholders.select("provider", "account_id", "council", "client_id")
    candidates = candidates.join(owners, on=["provider", "account_id"], how="left").with_columns(
        pl.when(pl.col("client_id").is_null())
        .then(pl.lit("suspense:") + pl.col("provider") + ":" + pl.col("account_id"))
        .otherwise(pl.lit("card:") + pl.col("provider") + ":" + pl.col("account_id") + ":council")
        .alias("_main"),
        pl.when(pl.col("client_id").is_null())
        .then(None)
        .otherwise(pl.lit("card:") + pl.col("provider") + ":" + pl.col("account_id") + ":client")
        .alias("_other"),
    )
    codes = [c for c in candidates["_main"].to_list() + candidates["_other"].to_list() if c]
    rows = rows_where_in(
        conn, "SELECT account_code, london_date, sum(amount_pence) FROM postings WHERE {match} GROUP BY account_code, london_date",
        "account_code", codes,
    )
    by_day = rows_frame(rows, {"account_code": pl.Utf8, "london_date": pl.Date, "pence": pl.Int64})
    long = pl.concat(
        [
            candidates.select("provider", "account_id", "balance_date", pl.col("_main").alias("account_code")),
            candidates.select("provider", "account_id", "balance_date", pl.col("_other").alias("account_code")).drop_nulls(),
        ]
    )
    held = (
        long.join(by_day, on="account_code", how="inner")
        .filter(pl.col("london_date") <= pl.col("balance_date"))
        .group_by("provider", "account_id")
        .agg(pl.col("pence").sum().alias("held_pence"))
    )
    candidates = candidates.join(held, on=["provider", "account_id"], how="left").with_columns(
        (pl.col("closing_balance_pence") - pl.col("held_pence").fill_null(0)).alias("amount_pence")
    )
    posted = 0
    entry_ids: dict[str, int] = {}
    to_post = candidates.filter(pl.col("amount_pence") != 0).select(
        "provider", "account_id", "council", "client_id", "balance_date", "amount_pence"
    )
    if to_post.height:
        built = take_on_entries(to_post, source_file)
        result = post_entries(conn, built.entries, built.postings, built.accounts, source="take-on")
        posted, entry_ids = result.posted, result.entry_ids
    bulk_insert(
        conn,
        "card_take_ons",
        candidates.select(
            "provider",
            "account_id",
            "balance_date",
            "amount_pence",
            # The take-on entry's key: takeon:provider:account:YYYY-MM-DD (ledger.posting_rules.take_on_entries).
            pl.concat_str(
                [pl.lit("takeon"), "provider", "account_id", pl.col("balance_date").dt.strftime("%Y-%m-%d")], separator=":"
            )
            .replace_strict(entry_ids, default=None, return_dtype=pl.Int64)
            .alias("entry_id"),
        ),
    )
    take_ons.settle(conn)  # the queued balances these take-ons now cover leave the queue with them
    return posted


ProgressFn = Callable[[str], None]


@bulk_gc()  # db.heap: the collector held back while the night's rows are in memory
def ingest_drop(
    db_url: str | None,
    drop_dir: Path,
    *,
    run_id: str | None = None,
    validation_root: Path | None = None,
    archive_root: Path | None = None,
    progress: ProgressFn | None = None,
    only_files: list[str] | None = None,
    reference: bool = True,
    accept_smaller_extract: bool = False,
) -> IngestSummary:
    """Load every file of a drop folder. Council files first (they say whose cards these are), then
    provider transactions, then balances, each file in its own transaction.

    ``reference=False`` leaves the folder's council extract alone and uses the stored one (Airflow's
    per-file tasks: the extract is loaded once, by its own task, not re-read for every file)."""
    from feeds.readers import FileRefused, detect_file, provider_files, read_reference

    drop_dir = Path(drop_dir)
    if not drop_dir.is_dir():
        raise FileNotFoundError(f"drop folder {drop_dir} does not exist")
    run_id = run_id or f"ingest-{drop_dir.name}-{uuid.uuid4().hex[:8]}"
    summary = IngestSummary(run_id, str(drop_dir))
    engine = get_engine(db_url)
    say = progress or (lambda _msg: None)
    validation = _validation_store(validation_root, run_id)

    # 1. The council's reference extract (full state; supersedes the stored one).
    ref_files = [p for p in sorted(drop_dir.iterdir()) if p.is_file() and detect_file(p) is None]
    with engine.begin() as conn:
        ref = load_reference(conn)
    if reference and any(p.name == "cardholders.csv" for p in ref_files):
        digest = hashlib.sha256(b"".join(sha256_of(p).encode() for p in ref_files)).hexdigest()
        fs = FileSummary("council reference extract", "council", "reference", "loaded")
        try:
            new_ref, quarantined, incidents = read_reference(drop_dir)
            if not accept_smaller_extract:
                refuse_a_shrunken_extract(ref, new_ref, drop_dir)
        except FileRefused as exc:
            fs.status, fs.message = "refused", str(exc)
            summary.files.append(fs)
            say(f"refused council extract: {exc}")
        else:
            with engine.begin() as conn:
                take_ledger_lock(conn)
                if _already_registered(conn, digest) is None:
                    councils_yaml = (drop_dir / "councils.yaml").read_text(encoding="utf-8")
                    save_reference(conn, new_ref, councils_yaml, str(drop_dir.name))
                    fs.rows_read = sum(new_ref.frame(s).height for s in _ref_specs())
                    fs.rows_quarantined = _quarantine(conn, quarantined, run_id, digest)
                    sha_by_file = {p.name: sha256_of(p) for p in ref_files}
                    _record_incidents(conn, fs, incidents, run_id, sha_by_file, tell="the council's data team")
                    _register(conn, fs, digest, None, drop_dir, run_id, None)
                else:
                    fs.status, fs.message = "skipped", "this council extract was already loaded"
            if validation is not None and fs.status == "loaded":  # a skipped extract was validated when it loaded
                from feeds.validation import validate_reference

                for spec in _ref_specs():
                    validation.record(validate_reference(spec.file_name, new_ref.frame(spec)), source_file=spec.file_name)
            ref = new_ref
            summary.files.append(fs)

    to_load = provider_files(drop_dir)
    if only_files is not None:
        to_load = [p for p in to_load if p.name in only_files]
    known_accounts = set(ref.cardholders.select("provider", "account_id").iter_rows())
    summary.files.extend(
        _ingest_files(engine, to_load, drop_dir, run_id, ref, known_accounts, validation, archive_root, say)
    )
    with engine.begin() as conn:
        take_ledger_lock(conn)  # another ingest may be posting take-ons for the same cards right now
        summary.take_ons = post_take_ons(conn, ref, "take-on")
    if validation is not None:
        summary.data_docs = str(validation.finish())
    return summary


def _ref_specs():
    from schemas.reference import REFERENCE_FILES

    return REFERENCE_FILES


def _validation_store(root: Path | None, run_id: str):
    if root is None:
        return None
    from feeds.validation import RunValidationStore

    return RunValidationStore(Path(root), run_id)


@dataclass
class _ReadFile:
    """One provider file as the read-ahead worker hands it over: read, archived, validated; nothing
    written to the ledger yet. A file the reader refused whole has ``fs.status`` "refused" and no rows."""

    path: Path
    feed_date: dt.date
    sha: str
    fs: FileSummary
    result: ReadResult | None = None
    txns: pl.DataFrame | None = None
    quarantine: pl.DataFrame | None = None
    payload_hashes: pl.Series | None = None  # item_payload_hash of each of txns, before classify


def _read_and_validate(
    path: Path, feed_date: dt.date, sha: str, fs: FileSummary,
    known_accounts: set, validation, archive_root: Path | None,
) -> _ReadFile:
    """Read, archive and validate one provider file. No database access: it runs in the read-ahead
    worker while the previous file is being written (``read_ahead``)."""
    from feeds.readers import FileRefused, read_provider_file

    try:
        result = read_provider_file(path)
    except FileRefused as exc:
        fs.status, fs.message = "refused", str(exc)
        return _ReadFile(path, feed_date, sha, fs)
    if archive_root is not None:
        archive_file(path, Path(archive_root), fs.provider, feed_date, sha)

    crash_point("after_read")
    txns = result.transactions
    quarantine = result.quarantine
    fs.rows_read = txns.height + result.balances.height + quarantine.height
    if txns.height and validation is not None:
        from feeds.validation import validate_canonical_batch

        report = validate_canonical_batch(txns, feed_date=feed_date, known_accounts=known_accounts)
        validation.record(report, source_file=path.name)
        bad = sorted(report.bad_row_indices)
        if bad:
            reasons = getattr(report, "reasons_by_row", {}) or {}
            bad_rows = txns[bad]
            quarantine = pl.concat(
                [
                    quarantine,
                    bad_rows.select(
                        "source_file",
                        "source_line",
                        "provider",
                        "provider_txn_id",
                        pl.Series("reason", [f"validation: {reasons.get(i, 'failed a data-quality check')}" for i in bad]),
                        pl.lit(None, dtype=pl.Utf8).alias("raw_text"),
                    ),
                ],
                how="vertical_relaxed",
            )
            keep = pl.Series([i not in set(bad) for i in range(txns.height)])
            txns = txns.filter(keep)
    # The items' payload hashes (2 µs an item in Python) are computed here, off the critical path.
    hashes = item_payload_hashes(txns)
    return _ReadFile(path, feed_date, sha, fs, result=result, txns=txns, quarantine=quarantine, payload_hashes=hashes)


def _store_file(engine, read: _ReadFile, drop_dir: Path, run_id: str, ref: ReferenceData) -> FileSummary:
    """Write one read file in its own transaction, all or nothing: the refusal of a refused file, else
    its items (stored and posted), balances, quarantine, incidents and registration."""
    from feeds.classify import classify

    fs, sha = read.fs, read.sha
    with engine.begin() as conn:
        # Under the ledger lock, check again: another process may have loaded this file meanwhile.
        take_ledger_lock(conn)
        if (seen := _already_registered(conn, sha)) is not None:
            return _skipped(fs, seen)
        if fs.status == "refused":
            _register(conn, fs, sha, read.feed_date, drop_dir, run_id, None)
            return fs
        assert read.result is not None and read.txns is not None and read.quarantine is not None and read.payload_hashes is not None
        txns, quarantine, result = read.txns, read.quarantine, read.result
        if txns.height:
            money_in_cards = txns.filter(pl.col("kind") == "other_money_in").select("provider", "account_id").unique().rows()
            known = known_contributors(conn, money_in_cards) if money_in_cards else None
            classified = classify(txns, ref, known_contributors=known)
            # Hashed by the worker before classify; only an item whose kind classify moved to another family
            # (a payment that is the council's unload) is hashed again here.
            hashes = item_payload_hashes(classified, earlier=(txns, read.payload_hashes))
            counts = store_and_post(conn, classified, ref, source=read.path.name, feed_date=read.feed_date, payload_hashes=hashes)
            fs.rows_posted, fs.rows_already_posted, fs.rows_pending = counts["posted"], counts["already_posted"], counts["pending"]
            fs.conflicts = counts["conflicts"]
            if counts["conflict_rows"]:
                quarantine = pl.concat([quarantine, pl.DataFrame(counts["conflict_rows"], schema=quarantine.schema)], how="vertical_relaxed")
        if result.balances.height:
            save_provider_balances(conn, result.balances)
        fs.rows_quarantined = _quarantine(conn, quarantine, run_id, sha)
        _record_incidents(conn, fs, result.incidents, run_id, {read.path.name: sha}, tell="the provider")
        _register(conn, fs, sha, read.feed_date, drop_dir, run_id, None)
        crash_point("before_commit")
    crash_point("after_commit")
    return fs


def _ingest_files(
    engine, provider_files: list[Path], drop_dir: Path, run_id: str, ref: ReferenceData, known_accounts: set,
    validation, archive_root: Path | None, say: ProgressFn,
) -> list[FileSummary]:
    """Load the provider files in order, each in its own transaction, reading ahead.

    Why read ahead: while a file's rows are written, the database server does most of the work and this
    process mostly waits on it; reading and validating the next file meanwhile (in one worker thread; the
    wait releases Python's lock) takes that file's read and validation off the night's critical path. Only
    this thread touches the database: it checks each file's registration (by SHA-256) before handing the
    file to the worker, so a re-run of a loaded folder still reads nothing. At most two files' rows are in
    memory at once: the one being written and the one read ahead.
    """
    from feeds.readers import detect_file

    summaries: list[FileSummary] = []
    work: list[tuple[int, Path, dt.date, str, FileSummary]] = []
    for i, path in enumerate(provider_files, 1):
        provider, kind, feed_date = detect_file(path)  # type: ignore[misc]
        sha = sha256_of(path)
        fs = FileSummary(path.name, provider, kind, "loaded")
        with engine.begin() as conn:
            seen = _already_registered(conn, sha)
        if seen is not None:
            say(f"[{i}/{len(provider_files)}] {path.name}: already loaded")
            summaries.append(_skipped(fs, seen))
            continue
        work.append((i, path, feed_date, sha, fs))

    def read(item: tuple[int, Path, dt.date, str, FileSummary]) -> _ReadFile:
        _, path, feed_date, sha, fs = item
        return _read_and_validate(path, feed_date, sha, fs, known_accounts, validation, archive_root)

    for (i, path, *_), read_file in zip(work, read_ahead(read, work), strict=True):
        say(f"[{i}/{len(provider_files)}] {path.name}")
        summaries.append(_store_file(engine, read_file, drop_dir, run_id, ref))
    order = {p.name: n for n, p in enumerate(provider_files)}
    return sorted(summaries, key=lambda fs: order[fs.file_name])


def _skipped(fs: FileSummary, seen: tuple[str, str]) -> FileSummary:
    fs.status = "skipped"
    fs.message = f"already {seen[0]} (same content as {seen[1]}); nothing to do"
    return fs
