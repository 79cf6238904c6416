"""Goal: when GX cannot evaluate an expectation, the polars twin still names the rows (and says so)
rather than the batch silently passing."""

from __future__ import annotations

import great_expectations.expectations as gxe
import polars as pl

from feeds.validation.report import ERROR, Check, interpret
from feeds.validation.runtime import runtime


def test_an_expectation_gx_cannot_evaluate_falls_back_to_the_twin():
    checks = [
        Check(
            name="x_small",
            level=ERROR,
            why="test",
            expectation=lambda: gxe.ExpectColumnValuesToBeBetween(column="not_there", max_value=1),
            failing=lambda p: pl.col("x") > 1,
            reason=lambda row, p: f"x {row['x']} is too big",
        )
    ]
    frame = pl.DataFrame({"x": [1, 5, 0, 7]})
    result = runtime().run("test_fallback_suite", lambda: [c.build() for c in checks], frame)
    assert result.success is False
    bad, reasons, warnings, results = interpret(result, checks, frame, {}, gx_names_rows=True)
    assert bad == {1, 3} and reasons == {1: "x 5 is too big", 3: "x 7 is too big"}
    assert warnings == ["GX could not evaluate check x_small; the polars twin named 2 row(s)"]
    assert results["careledger"]["failing_rows_by_check"] == {"x_small": 2}
