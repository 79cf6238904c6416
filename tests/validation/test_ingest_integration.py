"""Goal: ingest with a validation folder quarantines exactly the rows the suite names (with the reason),
loads unknown accounts rather than dropping them, and leaves results.json and Data Docs for the run."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from db.engine import get_engine
from feeds.ingest import ingest_drop
from tests.ingest import drops

DAY1 = {"A": 134_588, "B": 65_000}
OUT_OF_WINDOW = "10442817,A9000099,03/01/2026 10:00:00,03/01/2026,POS,Card purchase,OLD SHOP,5411,,5.00,,SETTLED,,,,,"
UNKNOWN_CARD = "55501234,A9000100,02/03/2026 10:00:00,02/03/2026,POS,Card purchase,SOMEWHERE,5411,,7.00,,SETTLED,,,,,"


def test_ingest_with_validation_quarantines_named_rows_and_writes_data_docs(db_url, tmp_path):
    folder = drops.write_drop(tmp_path, "20260302", [*drops.A_DAY1, OUT_OF_WINDOW, UNKNOWN_CARD], drops.B_DAY1, DAY1)
    summary = ingest_drop(db_url, folder, validation_root=tmp_path / "validation", run_id="night-1")

    a_file = next(f for f in summary.files if f.file_name == "A_transactions_20260302.csv")
    assert a_file.status == "loaded" and a_file.rows_quarantined == 1
    with get_engine(db_url).connect() as conn:
        quarantined = conn.execute(text("SELECT source_line, provider_txn_id, reason FROM quarantine")).all()
        loaded = set(conn.execute(text("SELECT provider_txn_id FROM transactions WHERE provider = 'A'")).scalars())
    assert [tuple(r) for r in quarantined] == [
        (5, "A9000099", "validation: london_date 2026-01-03 outside the feed window 2026-02-20..2026-03-03")
    ]
    assert "A9000100" in loaded and "A9000099" not in loaded  # unknown card loads (suspense); bad date does not

    index = Path(summary.data_docs)
    assert index == tmp_path / "validation" / "night-1" / "data_docs" / "index.html" and index.exists()
    html = index.read_text(encoding="utf-8")
    assert "canonical_batch" in html and "reference_cardholders" in html
    doc = json.loads((tmp_path / "validation" / "night-1" / "results.json").read_text())
    assert doc["finished"] is True
    by_file = {r["source_file"]: r for r in doc["reports"]}
    assert by_file["A_transactions_20260302.csv"]["bad_rows"] == 1
    assert any("A:…1234" in w for w in by_file["A_transactions_20260302.csv"]["warnings"])
    assert {"cardholders.csv", "payees.csv", "B_events_20260302.jsonl"} <= set(by_file)
