"""Goal: a day's drop folder loads into the ledger exactly once, whatever is re-sent, and ties to the provider.

Hand-written files in FEEDS.md's formats (FEEDS.md's own example rows for Provider A).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from db.engine import get_engine
from feeds.ingest import ingest_drop
from ledger.queries import card_balances
from ledger.verify import verify_ledger
from tests.ingest import drops

# A: take-on 190.55, load 1,120.00, contribution 35.33 → 1,345.88 on day 1 (BOOTS pending).
# Day 2: BOOTS settles for 12.30 (not the 12.49 authorised), PA wages 240.00 → 1,093.58.
# B: take-on 50.00 + load 600.00 = 650.00 on day 1 (auth pending); clearing 23.10 on day 2 → 626.90.
DAY1 = {"A": 134_588, "B": 65_000}
DAY2 = {"A": 109_358, "B": 62_690}


def _drops(tmp_path):
    d1 = drops.write_drop(tmp_path, "20260302", drops.A_DAY1, drops.B_DAY1, DAY1)
    d2 = drops.write_drop(tmp_path, "20260303", drops.A_DAY2, drops.B_DAY2, DAY2)
    return d1, d2


def _ledger_cards(url, day):
    with get_engine(url).connect() as conn:
        return {(r["provider"], r["account_id"]): r["balance_pence"] for r in card_balances(conn, day).iter_rows(named=True)}


def _fingerprint(url):
    with get_engine(url).connect() as conn:
        return (
            conn.execute(text("SELECT idempotency_key FROM journal_entries ORDER BY entry_id")).scalars().all(),
            conn.execute(text("SELECT account_code, sum(amount_pence) FROM postings GROUP BY account_code ORDER BY 1")).all(),
        )


def test_two_days_tie_to_provider_balances_and_reload_changes_nothing(db_url, tmp_path):
    d1, d2 = _drops(tmp_path)
    s1 = ingest_drop(db_url, d1)
    assert not s1.refused, [f.message for f in s1.refused]
    assert _ledger_cards(db_url, dt.date(2026, 3, 2)) == {("A", "10442817"): DAY1["A"], ("B", "ct_19a0"): DAY1["B"]}
    s2 = ingest_drop(db_url, d2)
    assert not s2.refused
    assert _ledger_cards(db_url, dt.date(2026, 3, 3)) == {("A", "10442817"): DAY2["A"], ("B", "ct_19a0"): DAY2["B"]}
    before = _fingerprint(db_url)

    again = ingest_drop(db_url, d2)
    assert {f.status for f in again.files} == {"skipped"}
    assert _fingerprint(db_url) == before

    # An overlapping file under a new name: yesterday's rows again plus today's; nothing double-posts.
    overlap = drops.write_drop(tmp_path / "resent", "20260303", drops.A_DAY1[:2] + drops.A_DAY2, drops.B_DAY1 + drops.B_DAY2, DAY2)
    (overlap / "A_transactions_20260303.csv").write_bytes(
        (overlap / "A_transactions_20260303.csv").read_bytes() + b""
    )
    s3 = ingest_drop(db_url, overlap)
    loaded = [f for f in s3.files if f.status == "loaded" and f.file_kind == "transactions"]
    assert loaded and sum(f.rows_posted for f in loaded) == 0
    assert sum(f.rows_already_posted for f in loaded) >= 4
    assert _fingerprint(db_url) == before
    with get_engine(db_url).connect() as conn:
        assert verify_ledger(conn).ok
        # the pending authorisation no longer holds funds once it settled
        assert conn.execute(text("SELECT count(*) FROM transactions WHERE hold_open")).scalar_one() == 0
        contributions = conn.execute(
            text("SELECT kind FROM transactions WHERE provider_txn_id = 'A9000002'")
        ).scalar_one()
    assert contributions == "contribution"


def test_a_refused_file_does_not_stop_the_others(db_url, tmp_path):
    d1, _ = _drops(tmp_path)
    (d1 / "B_events_20260302.jsonl").write_text('{"token": "b-1", "card_token": "ct_19a0", "ty', encoding="utf-8")
    summary = ingest_drop(db_url, d1)
    refused = [f.file_name for f in summary.refused]
    assert refused == ["B_events_20260302.jsonl"]
    assert "B_events_20260302.jsonl" in summary.refused[0].message
    assert any(f.file_name == "A_transactions_20260302.csv" and f.status == "loaded" for f in summary.files)
    with get_engine(db_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM journal_entries WHERE provider = 'A'")).scalar_one() >= 2
        assert conn.execute(text("SELECT count(*) FROM journal_entries WHERE provider = 'B' AND entry_type <> 'take_on'")).scalar_one() == 0


def test_conflicting_resend_is_quarantined_not_posted(db_url, tmp_path):
    d1, _ = _drops(tmp_path)
    ingest_drop(db_url, d1)
    changed = [drops.A_DAY1[0].replace('"1,120.00"', '"1,210.00"')]
    d3 = drops.write_drop(tmp_path / "again", "20260302", changed, [], DAY1)
    summary = ingest_drop(db_url, d3)
    a = next(f for f in summary.files if f.file_name == "A_transactions_20260302.csv")
    assert a.conflicts == 1 and a.rows_posted == 0
    with get_engine(db_url).connect() as conn:
        reason = conn.execute(text("SELECT reason FROM quarantine WHERE provider_txn_id = 'A9000001'")).scalar_one()
        load = conn.execute(
            text("SELECT sum(amount_pence) FROM postings p JOIN journal_entries e ON e.entry_id = p.entry_id"
                 " WHERE e.provider_txn_id = 'A9000001' AND p.account_code LIKE 'card:%'")
        ).scalar_one()
    assert reason.startswith("conflict:")
    assert load == 112_000
