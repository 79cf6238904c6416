"""``careledger verify``: recompute every invariant of the ledger from its rows.

Why a separate check when the database already refuses bad writes: trust comes from checking, not
from assuming. This reads everything back and proves, independently of the write path, that

* every entry has at least two postings and they sum to zero;
* the trial balance (all postings) sums to zero;
* no posting is orphaned (no entry, or an account not in the chart);
* every reversal points at a real, earlier entry and exactly negates its postings;
* the hash chain is unbroken (each entry's hash covers its postings and the previous hash); the
  first broken link is named, so tampering with history is evident.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from ledger.journal import GENESIS_HASH, entry_hash

ENTRIES_PER_CHUNK = 50_000  # bound on rows held in memory while walking the hash chain


@dataclass
class Problem:
    check: str
    detail: str


@dataclass
class VerifyReport:
    entries: int = 0
    postings: int = 0
    problems: list[Problem] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "postings": self.postings,
            "checks": self.checks,
            "problems": [p.__dict__ for p in self.problems],
        }


def _check(report: VerifyReport, name: str, rows, fmt) -> None:
    report.checks.append(name)
    for row in rows:
        report.problems.append(Problem(name, fmt(row)))


def verify_ledger(conn: Connection, *, max_problems_per_check: int = 50) -> VerifyReport:
    report = VerifyReport()
    lim = max_problems_per_check
    report.entries = int(conn.execute(text("SELECT count(*) FROM journal_entries")).scalar_one())
    report.postings = int(conn.execute(text("SELECT count(*) FROM postings")).scalar_one())

    _check(
        report,
        "entries balance",
        conn.execute(
            text(
                "SELECT e.entry_id, e.idempotency_key, count(p.posting_id), coalesce(sum(p.amount_pence), 0)"
                " FROM journal_entries e LEFT JOIN postings p ON p.entry_id = e.entry_id"
                " GROUP BY e.entry_id, e.idempotency_key"
                " HAVING count(p.posting_id) < 2 OR coalesce(sum(p.amount_pence), 0) <> 0"
                f" ORDER BY e.entry_id LIMIT {lim}"
            )
        ).all(),
        lambda r: f"entry {r[0]} ({r[1]}): {r[2]} posting(s) summing to {r[3]} pence",
    )
    total = int(conn.execute(text("SELECT coalesce(sum(amount_pence), 0) FROM postings")).scalar_one())
    _check(report, "trial balance is zero", [total] if total else [], lambda t: f"all postings sum to {t} pence, not 0")
    _check(
        report,
        "no orphan postings",
        conn.execute(
            text(
                "SELECT p.posting_id, p.entry_id FROM postings p"
                " LEFT JOIN journal_entries e ON e.entry_id = p.entry_id WHERE e.entry_id IS NULL"
                f" ORDER BY p.posting_id LIMIT {lim}"
            )
        ).all(),
        lambda r: f"posting {r[0]} names entry {r[1]}, which does not exist",
    )
    _check(
        report,
        "postings name known accounts",
        conn.execute(
            text(
                "SELECT p.posting_id, p.account_code FROM postings p"
                " LEFT JOIN accounts a ON a.code = p.account_code WHERE a.code IS NULL"
                f" ORDER BY p.posting_id LIMIT {lim}"
            )
        ).all(),
        lambda r: f"posting {r[0]} names account {r[1]!r}, which is not in the chart",
    )
    _check(
        report,
        "postings carry their entry's date",
        conn.execute(
            text(
                "SELECT p.posting_id, p.entry_id FROM postings p JOIN journal_entries e ON e.entry_id = p.entry_id"
                " WHERE p.london_date <> e.london_date"
                f" ORDER BY p.posting_id LIMIT {lim}"
            )
        ).all(),
        lambda r: f"posting {r[0]} has a different booking day from its entry {r[1]}",
    )
    _check(
        report,
        "reversals point at real, earlier entries",
        conn.execute(
            text(
                "SELECT r.entry_id, r.reverses_entry_id FROM journal_entries r"
                " LEFT JOIN journal_entries o ON o.entry_id = r.reverses_entry_id"
                " WHERE r.reverses_entry_id IS NOT NULL AND (o.entry_id IS NULL OR o.entry_id >= r.entry_id)"
                f" ORDER BY r.entry_id LIMIT {lim}"
            )
        ).all(),
        lambda r: f"entry {r[0]} reverses entry {r[1]}, which does not exist before it",
    )
    _check(
        report,
        "reversals negate what they reverse",
        conn.execute(
            text(
                "SELECT x.entry_id, x.reverses_entry_id, x.account_code FROM ("
                "  SELECT r.entry_id, r.reverses_entry_id, p.account_code, sum(p.amount_pence) AS amount_pence"
                "  FROM journal_entries r JOIN postings p ON p.entry_id = r.entry_id"
                "  WHERE r.reverses_entry_id IS NOT NULL AND r.entry_type = 'correction'"
                "  GROUP BY r.entry_id, r.reverses_entry_id, p.account_code"
                " ) x LEFT JOIN ("
                "  SELECT entry_id, account_code, sum(amount_pence) AS amount_pence FROM postings"
                "  GROUP BY entry_id, account_code"
                " ) o ON o.entry_id = x.reverses_entry_id AND o.account_code = x.account_code"
                " WHERE o.amount_pence IS NULL OR o.amount_pence <> -x.amount_pence"
                f" LIMIT {lim}"
            )
        ).all(),
        lambda r: f"correction {r[0]} does not exactly negate entry {r[1]} on account {r[2]}",
    )
    _verify_chain(conn, report)
    return report


def _verify_chain(conn: Connection, report: VerifyReport) -> None:
    report.checks.append("hash chain unbroken")
    prev = GENESIS_HASH
    last_id = 0
    while True:
        entries = conn.execute(
            text(
                "SELECT entry_id, idempotency_key, entry_type, london_date, prev_hash, entry_hash FROM journal_entries"
                " WHERE entry_id > :last ORDER BY entry_id LIMIT :n"
            ),
            {"last": last_id, "n": ENTRIES_PER_CHUNK},
        ).all()
        if not entries:
            return
        hi = entries[-1][0]
        lines: dict[int, list[tuple[str, int]]] = {}
        for entry_id, code, amount in conn.execute(
            text(
                "SELECT entry_id, account_code, amount_pence FROM postings"
                " WHERE entry_id > :last AND entry_id <= :hi"
            ),
            {"last": last_id, "hi": hi},
        ):
            lines.setdefault(int(entry_id), []).append((code, int(amount)))
        for entry_id, key, etype, ldate, stored_prev, stored_hash in entries:
            london = ldate.isoformat() if hasattr(ldate, "isoformat") else str(ldate)[:10]
            expected = entry_hash(prev, int(entry_id), key, etype, london, lines.get(int(entry_id), []))
            if stored_prev != prev or stored_hash != expected:
                report.problems.append(
                    Problem(
                        "hash chain unbroken",
                        f"first broken link at entry {entry_id} ({key}): its stored hash does not match its "
                        "postings and the previous entry's hash; history from here on may have been altered",
                    )
                )
                return
            prev = stored_hash
        last_id = int(hi)
