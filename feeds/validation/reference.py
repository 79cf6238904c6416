"""GX suites for the council's reference files, driven by schemas/reference.py's declarations.

Each ``Column`` declaration becomes expectations (required → not null; choice → in set; pattern →
full-match regex; money and counts → not negative), each file's key → uniqueness, and date pairs
→ order (closed ≥ opened, approved_to ≥ approved_from, effective_to ≥ effective_from). The reader
already refuses what it can; this suite is the independent record of the file's quality and what
Data Docs shows the council.
"""

from __future__ import annotations

import time

import great_expectations.expectations as gxe
import polars as pl

from feeds.validation.report import ERROR, Check, ValidationReport, interpret
from feeds.validation.runtime import runtime
from schemas.reference import REFERENCE_BY_NAME, Column, ReferenceFile

# (earlier, later) date pairs where later must not come before earlier. Besides these, every
# "<x>_from" date with a "<x>_to" partner is paired automatically.
EXTRA_DATE_ORDER: tuple[tuple[str, str], ...] = (("opened", "closed"),)


def _pounds(pence: int) -> str:
    return f"{'-' if pence < 0 else ''}£{abs(pence) / 100:,.2f}"


def date_pairs(spec: ReferenceFile) -> list[tuple[str, str]]:
    dates = {c.name for c in spec.columns if c.kind == "date"}
    pairs = [(a, b) for a, b in EXTRA_DATE_ORDER if a in dates and b in dates]
    pairs += [(c, c.removesuffix("_from") + "_to") for c in sorted(dates) if c.endswith("_from") and c.removesuffix("_from") + "_to" in dates]
    return pairs


def _column_checks(spec: ReferenceFile, col: Column) -> list[Check]:
    name, stored = col.name, col.stored_name
    out: list[Check] = []
    if col.required:
        out.append(
            Check(
                name=f"{stored}_present",
                rule=f"{name} is present",
                level=ERROR,
                why=f"{spec.file_name} must give {name} on every row",
                expectation=lambda: gxe.ExpectColumnValuesToNotBeNull(column=stored),
                failing=lambda p: pl.col(stored).is_null(),
                reason=lambda row, p: f"{name} is empty",
            )
        )
    if col.kind == "choice":
        choices = list(col.choices)
        out.append(
            Check(
                name=f"{stored}_choice",
                rule=f"{name} is one of {', '.join(choices)}",
                level=ERROR,
                why=f"{name} is one of {', '.join(choices)}",
                expectation=lambda: gxe.ExpectColumnValuesToBeInSet(column=stored, value_set=choices),
                failing=lambda p: pl.col(stored).is_not_null() & ~pl.col(stored).is_in(choices),
                reason=lambda row, p: f"{name} {row[stored]!r} is not one of {', '.join(choices)}",
            )
        )
    if col.pattern:
        regex = f"^(?:{col.pattern})$"
        out.append(
            Check(
                name=f"{stored}_format",
                rule=f"{name} matches {col.pattern}",
                level=ERROR,
                why=f"{name} must match {col.pattern} in full",
                expectation=lambda: gxe.ExpectColumnValuesToMatchRegex(column=stored, regex=regex),
                failing=lambda p: pl.col(stored).is_not_null() & ~pl.col(stored).str.contains(regex),
                # the value is not echoed: it may be a bank account number
                reason=lambda row, p: f"{name} does not have the expected form {col.pattern}",
            )
        )
    if col.kind in ("money", "int"):
        out.append(
            Check(
                name=f"{stored}_not_negative",
                rule=f"{name} ≥ 0",
                level=ERROR,
                why=f"{name} cannot be negative",
                expectation=lambda: gxe.ExpectColumnValuesToBeBetween(column=stored, min_value=0),
                failing=lambda p: pl.col(stored) < 0,
                reason=lambda row, p: f"{name} {_pounds(row[stored]) if col.kind == 'money' else row[stored]} is negative",
            )
        )
    return out


def reference_checks(spec: ReferenceFile) -> list[Check]:
    """Every check of one reference file's suite."""
    checks = [check for col in spec.columns for check in _column_checks(spec, col)]
    stored = {c.name: c.stored_name for c in spec.columns}
    key = [stored[k] for k in spec.key]
    checks.append(
        Check(
            name="key_unique",
            rule=f"({', '.join(spec.key)}) is unique",
            level=ERROR,
            why=f"({', '.join(spec.key)}) identifies a row; two rows with one key cannot both be the council's intent",
            expectation=(lambda: gxe.ExpectColumnValuesToBeUnique(column=key[0]))
            if len(key) == 1
            else (lambda: gxe.ExpectCompoundColumnsToBeUnique(column_list=key)),
            failing=lambda p: (pl.len().over(key) > 1) & pl.any_horizontal([pl.col(k).is_not_null() for k in key]),
            reason=lambda row, p: "duplicate key " + ", ".join(f"{k}={row[k]}" for k in key),
        )
    )
    for earlier, later in date_pairs(spec):
        checks.append(
            Check(
                name=f"{later}_not_before_{earlier}",
                rule=f"{later} ≥ {earlier} (when both are given)",
                level=ERROR,
                why=f"{later} cannot come before {earlier}",
                expectation=lambda earlier=earlier, later=later: gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=later, column_B=earlier, or_equal=True, ignore_row_if="either_value_is_missing"
                ),
                failing=lambda p, earlier=earlier, later=later: pl.col(later) < pl.col(earlier),
                reason=lambda row, p, earlier=earlier, later=later: f"{later} {row[later]} is before {earlier} {row[earlier]}",
            )
        )
    assert len({c.name for c in checks}) == len(checks)
    return checks


def validate_reference(file_name: str, frame: pl.DataFrame) -> ValidationReport:
    """Run the suite of one council reference file (``frame`` as schemas/reference.py declares it:
    money as ``<name>_pence``). Missing declared columns count as empty, so required ones fail."""
    spec = REFERENCE_BY_NAME.get(file_name)
    if spec is None:
        raise ValueError(f"{file_name} is not a council reference file (known: {', '.join(REFERENCE_BY_NAME)})")
    started = time.perf_counter()
    schema = spec.schema
    prepared = frame.select(
        [pl.col(c).cast(t, strict=False) if c in frame.columns else pl.lit(None, dtype=t).alias(c) for c, t in schema.items()]
    )
    batch_errors = [
        f"column {c} is {frame.schema[c]}, expected {t} (schemas/reference.py)"
        for c, t in schema.items()
        if c in frame.columns and frame.schema[c] != t and frame.schema[c] != pl.Null
    ]
    checks = reference_checks(spec)
    suite_name = f"reference_{file_name.removesuffix('.csv')}"
    result = runtime().run(suite_name, lambda: [c.build() for c in checks], prepared, result_format="COMPLETE")
    bad, reasons, warnings, results = interpret(result, checks, prepared, {}, gx_names_rows=True, batch_errors=batch_errors)
    if "source_line" in frame.columns:
        lines = prepared["source_line"]
        reasons = {i: f"line {lines[i]}: {r}" if lines[i] is not None else r for i, r in reasons.items()}
    return ValidationReport(
        success=not bad,
        bad_row_indices=bad,
        reasons_by_row=reasons,
        results=results,
        warnings=warnings,
        source_name=file_name,
        suite_name=suite_name,
        rows=frame.height,
        seconds=time.perf_counter() - started,
        gx_result=result,
    )
