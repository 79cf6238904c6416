"""What a ledger database holds, as comparable values: two runs of the same days must give equal snapshots.

Columns that legitimately differ between two correct runs are left out: surrogate ids and hash-chain
links (they depend on insertion order across processes), timestamps, run ids and folder paths.
"""

from __future__ import annotations

from sqlalchemy import inspect, text

from db.engine import get_engine

# Tables whose content is the outcome of the pipeline (those present in the database are compared).
TABLES = (
    "accounts", "journal_entries", "postings", "transactions", "provider_balances", "card_take_ons", "take_on_pending",
    "quarantine", "security_incidents", "feed_files", "exceptions", "clawback_runs", "clawback_lines",
    "clawback_instructions", "safeguarding_cases", "alerts", "screening_findings", "findings",
    "contribution_checks", "contribution_weeks", "reconciliation_runs",
)
VOLATILE = {
    "entry_id", "posting_id", "file_id", "exception_id", "batch_id", "prev_hash", "entry_hash", "run_id", "drop_dir",
    "row_id", "alert_id", "case_id", "finding_id", "message", "file_path", "path", "outbox_path", "incident_id",
    "quarantine_id", "message_id", "reverses_entry_id", "reversed_by_entry_id", "related_entry_id", "validation_path",
}


def _volatile(name: str) -> bool:
    return name in VOLATILE or name.endswith("_at") or name.endswith("_path") or name.endswith("_dttm")


def snapshot(url: str) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    # One connection for everything: on SQLite each transaction takes the write lock (BEGIN IMMEDIATE).
    with get_engine(url).connect() as conn:
        insp = inspect(conn)
        present = set(insp.get_table_names())
        for table in TABLES:
            if table not in present:
                continue
            cols = [c["name"] for c in insp.get_columns(table) if not _volatile(c["name"])]
            rows = conn.execute(text(f"SELECT {', '.join(cols)} FROM {table}")).all()
            out[table] = sorted(tuple(str(v) for v in r) for r in rows)
    return out


def account_balances(url: str) -> dict[str, int]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(text("SELECT account_code, sum(amount_pence) FROM postings GROUP BY account_code")).all()
    return {code: int(p) for code, p in rows if int(p) != 0}


def diff(a: dict[str, list[tuple]], b: dict[str, list[tuple]]) -> dict[str, str]:
    """Tables that differ, with a short description (empty when equal)."""
    problems = {}
    for table in sorted(set(a) | set(b)):
        ra, rb = a.get(table), b.get(table)
        if ra != rb:
            sa, sb = set(ra or ()), set(rb or ())
            problems[table] = f"{len(ra or ())} vs {len(rb or ())} rows; only first: {sorted(sa - sb)[:3]}; only second: {sorted(sb - sa)[:3]}"
    return problems
