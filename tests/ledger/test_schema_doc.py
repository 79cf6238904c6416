"""Goal: docs/schema.md (the audit team's map of the database) is exactly what the code declares."""

from pathlib import Path

from migrations.schema_doc import render


def test_schema_doc_is_current():
    doc = Path(__file__).resolve().parents[2] / "docs" / "schema.md"
    assert doc.read_text(encoding="utf-8") == render(), "run `careledger schema-doc` and commit docs/schema.md"
