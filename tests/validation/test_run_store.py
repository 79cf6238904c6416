"""Goal: a run's validation record (results.json + GX Data Docs) is written to its own folder, says what
was validated, and no run overwrites another's."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from feeds.validation import RunValidationStore, validate_canonical_batch, validate_reference
from tests.validation.frames import FEED_DATE, KNOWN, batch, cardholder, clean_batch, reference_frame, txn


def _reports():
    bad = batch(txn(1), txn(2, currency="USD"))
    canonical = validate_canonical_batch(bad, feed_date=FEED_DATE, known_accounts=KNOWN)
    reference = validate_reference("cardholders.csv", reference_frame("cardholders.csv", [cardholder("C1")]))
    return canonical, reference


def test_finish_writes_results_json_and_data_docs(tmp_path):
    canonical, reference = _reports()
    store = RunValidationStore(tmp_path, "ingest-20260303-abc")
    store.record(reference, source_file="cardholders.csv")
    # results.json is kept up to date before finish, so a run that dies still leaves its record
    early = json.loads((tmp_path / "ingest-20260303-abc" / "results.json").read_text())
    assert early["finished"] is False and [r["source_file"] for r in early["reports"]] == ["cardholders.csv"]
    store.record(canonical, source_file="A_transactions_20260303.csv")
    index = store.finish()

    assert index == tmp_path / "ingest-20260303-abc" / "data_docs" / "index.html"
    html = index.read_text(encoding="utf-8")
    assert "canonical_batch" in html and "reference_cardholders" in html
    pages = sorted(p.name for p in (index.parent / "validations").rglob("*.html"))
    assert pages == ["001_cardholders.csv.html", "002_A_transactions_20260303.csv.html"]
    page = next((index.parent / "validations").rglob("002_*.html")).read_text(encoding="utf-8")
    assert "currency" in page and "USD" in page  # the failing expectation and its unexpected value

    doc = json.loads((tmp_path / "ingest-20260303-abc" / "results.json").read_text())
    assert doc["finished"] is True and doc["run_id"] == "ingest-20260303-abc" and doc["success"] is False
    assert doc["data_docs"] == str(index)
    a_file = doc["reports"][1]
    assert a_file["source_file"] == "A_transactions_20260303.csv" and a_file["bad_rows"] == 1
    assert a_file["reasons_by_row"] == {"1": "currency USD is not GBP"}
    assert a_file["results"]["statistics"]["unsuccessful_expectations"] == 1


def test_two_runs_keep_separate_results(tmp_path):
    canonical, reference = _reports()
    first = RunValidationStore(tmp_path, "run-1")
    first.record(canonical, source_file="A_transactions_20260303.csv")
    first_index = first.finish()
    second = RunValidationStore(tmp_path, "run-2")
    second.record(reference, source_file="cardholders.csv")
    second.finish()
    again = RunValidationStore(tmp_path, "run-1")  # a reused run id does not overwrite run-1
    clean = validate_canonical_batch(clean_batch(), feed_date=FEED_DATE, known_accounts=KNOWN)
    again.record(clean, source_file="A_transactions_20260304.csv")
    again_index = again.finish()

    def sources(folder):
        return [r["source_file"] for r in json.loads((tmp_path / folder / "results.json").read_text())["reports"]]

    assert sources("run-1") == ["A_transactions_20260303.csv"]
    assert sources("run-2") == ["cardholders.csv"]
    assert sources("run-1.2") == ["A_transactions_20260304.csv"]
    assert again_index == tmp_path / "run-1.2" / "data_docs" / "index.html" and again_index.exists()
    assert first_index.exists() and "A_transactions_20260304" not in first_index.read_text(encoding="utf-8")


def test_an_empty_run_still_has_results_and_an_index(tmp_path):
    store = RunValidationStore(tmp_path, "empty")
    index = store.finish()
    assert index.exists()
    assert json.loads((tmp_path / "empty" / "results.json").read_text())["reports"] == []
    assert dt.datetime.fromisoformat(json.loads((tmp_path / "empty" / "results.json").read_text())["started_at"])


def test_a_relative_validation_dir_works(tmp_path, monkeypatch):
    # the CLI's default --validation-dir is the relative path out/validation
    monkeypatch.chdir(tmp_path)
    store = RunValidationStore(Path("out/validation"), "rel")
    store.record(_reports()[0], source_file="A_transactions_20260303.csv")
    index = store.finish()
    assert index == tmp_path / "out" / "validation" / "rel" / "data_docs" / "index.html" and index.exists()
