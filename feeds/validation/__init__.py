"""Data-quality validation of feed batches and council files with Great Expectations (GX Core 1.x).

``validate_canonical_batch`` and ``validate_reference`` run one GX suite each and return a
``ValidationReport`` (the rows ingest quarantines, with reasons; warnings; the GX result).
``RunValidationStore`` keeps a run's reports and writes results.json and GX Data Docs for it.
See docs/validation.md for every expectation, its level and why.
"""

from feeds.validation.canonical import validate_canonical_batch
from feeds.validation.reference import validate_reference
from feeds.validation.report import ValidationReport
from feeds.validation.run_store import RunValidationStore

__all__ = ["RunValidationStore", "ValidationReport", "validate_canonical_batch", "validate_reference"]
