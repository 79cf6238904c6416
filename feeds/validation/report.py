"""What a validation says, and how a GX result becomes row positions and plain reasons.

Each data-quality rule is one ``Check``: the GX expectation that is the record of the rule (it is
what Data Docs shows), its level (``error``: the row is quarantined; ``warning``: reported only),
and a polars twin of the same rule. GX names the failing rows (``unexpected_index_list`` with
``result_format="COMPLETE"``); the twin names them when a batch is too big for GX's COMPLETE
format or when GX could not evaluate the expectation, and tests hold the two to the same answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

ERROR = "error"  # the row is quarantined with the reason
WARNING = "warning"  # reported only; the row loads

# Result lists kept in results.json and Data Docs per expectation (the counts are always complete;
# the full row list is in ValidationReport.bad_row_indices).
LISTED_MAX = 100


@dataclass(frozen=True)
class Check:
    """One data-quality rule, written once: GX expectation + level + polars twin + reason."""

    name: str
    level: str  # ERROR or WARNING
    why: str
    expectation: Callable[[], Any]  # builds the GX expectation (meta and severity are added)
    failing: Callable[[dict], pl.Expr]  # params -> True where a row fails (nulls never fail, as in GX)
    reason: Callable[[dict, dict], str] | None = None  # (row, params) -> plain reason (row-level errors)
    warn: Callable[[pl.DataFrame, dict], str] | None = None  # (failing rows, params) -> one warning line
    rule: str = ""  # the rule in a few words, for Data Docs ("currency is GBP")

    def build(self) -> Any:
        """The GX expectation, tagged so a result maps back to this check; Data Docs shows the
        description, so it carries the level, the rule and why."""
        expectation = self.expectation()
        expectation.meta = {"check": self.name, "level": self.level, "why": self.why}
        expectation.severity = "critical" if self.level == ERROR else "warning"
        consequence = "row quarantined" if self.level == ERROR else "reported only"
        expectation.description = f"[{self.level}: {consequence}] {self.rule or self.name} — {self.why}"
        return expectation


@dataclass
class ValidationReport:
    """The outcome of one suite over one batch or reference file.

    ``bad_row_indices`` are 0-based positions in the frame that was validated (ingest quarantines
    exactly those rows); ``reasons_by_row`` says why in words a finance officer can act on.
    ``success`` is False only when an error-level check failed; warnings never fail a batch.
    """

    success: bool
    bad_row_indices: set[int]
    reasons_by_row: dict[int, str]
    results: dict
    warnings: list[str]
    source_name: str
    suite_name: str = ""
    rows: int = 0
    engine: str = "gx"  # "gx": GX named the rows; "polars": the twin did (batch over the COMPLETE limit)
    seconds: float = 0.0
    gx_result: Any = field(default=None, repr=False, compare=False)  # kept for Data Docs

    def summary(self) -> dict:
        """A small JSON-able digest (results.json keeps it next to the GX result)."""
        return {
            "source_name": self.source_name,
            "suite_name": self.suite_name,
            "success": self.success,
            "rows": self.rows,
            "bad_rows": len(self.bad_row_indices),
            "reasons_by_row": {str(i): r for i, r in sorted(self.reasons_by_row.items())[:LISTED_MAX]},
            "warnings": self.warnings,
            "engine": self.engine,
            "seconds": round(self.seconds, 3),
        }


def _trim(result: dict) -> None:
    """Bound the per-row lists of one expectation result (counts stay exact)."""
    for key in ("unexpected_list", "unexpected_index_list", "partial_unexpected_list", "partial_unexpected_index_list",
                "partial_unexpected_counts"):
        values = result.get(key)
        if isinstance(values, list) and len(values) > LISTED_MAX:
            result[key] = values[:LISTED_MAX]
            result[f"{key}_truncated_from"] = len(values)
    query = result.get("unexpected_index_query")
    if isinstance(query, str) and len(query) > 500:
        result["unexpected_index_query"] = query[:500] + " ... (truncated)"


def _indices(raw: Any) -> list[int]:
    out = []
    for item in raw or []:
        if isinstance(item, dict):  # when unexpected_index_column_names were asked for
            item = item.get("index", next(iter(item.values())))
        out.append(int(item))
    return out


def interpret(
    gx_result: Any,
    checks: list[Check],
    frame: pl.DataFrame,
    params: dict,
    *,
    gx_names_rows: bool,
    batch_errors: list[str] = (),  # type: ignore[assignment]
) -> tuple[set[int], dict[int, str], list[str], dict]:
    """Turn a GX suite result into (bad rows, reasons, warnings, JSON-able results).

    A row-level error names rows; a failing warning adds one line to warnings; ``batch_errors``
    (the batch does not have the canonical shape) make every row bad, since none can be trusted.
    """
    by_name = {c.name: c for c in checks}
    failing_rows: dict[str, list[int]] = {}
    warnings_out: list[str] = []
    for res in gx_result.results:
        meta = res.expectation_config.meta or {}
        check = by_name.get(meta.get("check"))
        if check is None:
            continue
        raised = (res.exception_info or {}).get("raised_exception") or any(
            isinstance(v, dict) and v.get("raised_exception") for v in (res.exception_info or {}).values()
        )
        if res.success and not raised:
            continue
        if raised or not gx_names_rows or "unexpected_index_list" not in res.result:
            rows = twin_rows(check, frame, params)
            if raised:
                warnings_out.append(f"GX could not evaluate check {check.name}; the polars twin named {len(rows)} row(s)")
        else:
            rows = _indices(res.result.get("unexpected_index_list"))
        if rows:
            failing_rows[check.name] = rows
        _trim(res.result)

    bad: set[int] = set()
    reasons: dict[int, list[str]] = {}
    for name, rows in failing_rows.items():
        check = by_name[name]
        sub = frame[rows]
        if check.level == ERROR:
            for i, row in zip(rows, sub.iter_rows(named=True), strict=True):
                bad.add(i)
                text = check.reason(row, params) if check.reason else f"failed check {check.name}"
                reasons.setdefault(i, []).append(text)
        elif check.warn is not None:
            warnings_out.append(check.warn(sub, params))
        else:
            warnings_out.append(f"{len(rows)} row(s) failed warning-level check {check.name}")
    if batch_errors:
        for i in range(frame.height):
            bad.add(i)
            reasons.setdefault(i, []).extend(batch_errors)
    results = gx_result.to_json_dict()
    results["careledger"] = {
        "failing_rows_by_check": {k: len(v) for k, v in failing_rows.items()},
        "batch_errors": list(batch_errors),
        "row_positions_from": "gx" if gx_names_rows else "polars",
    }
    json.dumps(results)  # assert: results must be JSON-able for results.json
    return bad, {i: "; ".join(r) for i, r in reasons.items()}, warnings_out, results


def twin_rows(check: Check, frame: pl.DataFrame, params: dict) -> list[int]:
    """Positions where the polars twin of ``check`` fails."""
    mask = frame.select(check.failing(params).fill_null(False).alias("_fail"))["_fail"]
    return mask.arg_true().to_list()
