"""Goal: the growth benchmark's fast history is a ledger real nights could have produced — every day's card
balances agree with the providers', loads match the council's schedule — and its tables have the right size."""

from __future__ import annotations

import json

import pytest

from benchmarks.run import LOAD_EVERY_DAYS, growth_benchmark, stored_results, write_markdown
from tests.conftest import require_pg


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_day_n_after_a_copied_history_reconciles_to_the_penny(kind):
    if kind == "postgresql":
        require_pg()
    days = LOAD_EVERY_DAYS + 2  # history days 1..N-2 include one day that repeats day 1's loads
    g = growth_benchmark(kind, days=days, cards=300, transactions=3_000)
    last = g[f"day_{days}"]
    checks = last["reconciliation"]["checks"]
    assert checks["balances"] == {"found": 0, "raised": 0, "carried": 0, "resolved": 0}
    assert checks["loads"]["found"] == 0  # every load in the window matched its scheduled row
    assert last["refused"] == [] and last["rows_quarantined"] == 0
    assert last["reconciliation"]["balance_days_checked"] == [f"2026-03-{1 + days:02d}"]

    assert g["day_1"]["rows_posted"] == 3_000  # the generator settles every item
    rows = g["table_rows_before_day_n"]
    history = days - 2  # days 2..N-1; exactly one of them (the 7th) repeats day 1's loads
    missing = 3_000 * (1 + history) - rows["transactions"]
    assert missing > 0 and missing % (history - 1) == 0  # the other history days each leave out the same loads
    day1_loads = missing // (history - 1)
    assert 0 < day1_loads < 300  # about 3% of the items are loads
    assert rows["provider_balances"] == 300 * (days - 1)
    assert rows["postings"] == 2 * rows["journal_entries"]  # every copied entry has its two postings
    assert g["table_rows_after_day_n"]["transactions"] == rows["transactions"] + 3_000
    assert len(g["day_1_totals_s"]) == 2 and g["ratio_last_to_first"] > 0
    assert any("card_balances" in name for name in g["query_plans"])


def test_the_doc_shows_every_stored_result_with_its_label(tmp_path):
    nightly = {"database": "postgresql", "cpu_count": 2, "cards": 1, "transactions": 10, "ours": {
        "stages_s": {"read": 1.0, "post": 2.0}, "total_s": 3.0, "postings_per_s": 5, "peak_rss_mb": 100},
        "floor": {"total_s": 1.0}, "ratio_to_floor": 3.0, "ratio_to_orm": 0.5, "query_plans": {"q": "Index Scan"}}
    growth = {"database": "sqlite", "days": 60, "cards": 1, "transactions_per_day": 10, "ratio_last_to_first": 1.5,
              "table_rows_before_day_n": {"postings": 1234}, "day_1": {"total_s": 2.0, "stages_s": {"screen": 1.0}},
              "day_60": {"total_s": 3.0, "stages_s": {"screen": 2.0}}, "query_plans": {"p": "SEARCH postings"}}
    (tmp_path / "postgresql_1m.json").write_text(json.dumps(nightly))
    (tmp_path / "sqlite_growth.json").write_text(json.dumps(growth))
    (tmp_path / "posting_speed_x_sqlite.json").write_text(json.dumps({**nightly, "database": "sqlite"}))
    runs, growths = stored_results(tmp_path)
    assert [label for label, _ in runs] == ["postgresql (1M)"]
    assert [label for label, _ in growths] == ["sqlite"]
    doc = tmp_path / "performance.md"
    write_markdown(doc, tmp_path)
    text = doc.read_text()
    assert "| postgresql (1M) | 2 | 1 | 10 |" in text
    assert "| sqlite | day 60 / day 1 ≤ 1.2 | 1.50 | **no** |" in text
    assert "| sqlite | 1 | 10 | 60 | 1,234 | 2.0 | 3.0 | 1.50 | **no** |" in text
    assert "SEARCH postings" in text and "Index Scan" in text
    assert "Code and server settings of each run" not in text  # no run here recorded them, so no such table


def test_a_tagged_run_keeps_its_own_row_with_the_server_settings_it_ran_under(tmp_path):
    """A run against a differently set-up server (``careledger bench --tag tuned``) is shown beside the
    default one, labelled, with the PostgreSQL settings each was measured under."""
    base = {"database": "postgresql", "cpu_count": 2, "cards": 1, "transactions": 10, "ours": {
        "stages_s": {"post": 2.0}, "total_s": 3.0, "postings_per_s": 5, "peak_rss_mb": 100},
        "floor": {"total_s": 1.0}, "ratio_to_floor": 3.0, "ratio_to_orm": 0.5, "query_plans": {}}
    (tmp_path / "postgresql_1m.json").write_text(json.dumps({**base, "server": {"shared_buffers": "128MB"}, "code": "abc1234"}))
    (tmp_path / "postgresql_1m_tuned.json").write_text(json.dumps({**base, "server": {"shared_buffers": "4GB"}}))
    runs, _ = stored_results(tmp_path)
    assert [label for label, _ in runs] == ["postgresql (1M)", "postgresql (1M, tuned)"]
    doc = tmp_path / "performance.md"
    write_markdown(doc, tmp_path)
    text = doc.read_text()
    assert "| postgresql (1M) | abc1234 | 128MB |" in text and "| postgresql (1M, tuned) | not recorded | 4GB |" in text
