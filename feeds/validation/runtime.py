"""One Great Expectations context per process, reused for every batch.

Why: importing GX costs about 2.7 s and each new context, data source and suite costs more; the
nightly run validates a dozen files, so the suites are built once per process (per name) and each
batch only runs them. The context is ephemeral (in memory): the record of a run is written by
``RunValidationStore`` to its own folder, never to a shared GX project, so two runs cannot
overwrite each other's results.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402
import pandas as pd  # noqa: E402
import polars as pl  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402

DATASOURCE = "careledger_batches"


@dataclass
class _Suite:
    suite: Any  # gx.ExpectationSuite
    definition: Any  # gx.ValidationDefinition


def quiet_context(**kwargs) -> Any:
    """An ephemeral GX context without progress bars (they would flood the nightly log)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = gx.get_context(mode="ephemeral", **kwargs)
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    return ctx


class Runtime:
    """The process's GX context and the suites built in it, by name."""

    def __init__(self) -> None:
        self.context = quiet_context()
        self.datasource = self.context.data_sources.add_pandas(DATASOURCE)
        self._suites: dict[str, _Suite] = {}
        self._lock = threading.Lock()

    def suite(self, name: str, build: Callable[[], list]) -> _Suite:
        """The suite ``name``; ``build`` returns its expectations the first time it is asked for."""
        with self._lock:
            if name not in self._suites:
                asset = self.datasource.add_dataframe_asset(name)
                batch_definition = asset.add_batch_definition_whole_dataframe(f"{name}_whole")
                suite = self.context.suites.add(gx.ExpectationSuite(name=name))
                for expectation in build():
                    suite.add_expectation(expectation)
                definition = self.context.validation_definitions.add(
                    gx.ValidationDefinition(name=f"{name}_definition", data=batch_definition, suite=suite)
                )
                self._suites[name] = _Suite(suite, definition)
            return self._suites[name]

    def run(
        self,
        name: str,
        build: Callable[[], list],
        frame: pl.DataFrame,
        *,
        parameters: dict | None = None,
        result_format: str = "COMPLETE",
    ) -> Any:
        """Run suite ``name`` over ``frame``; returns the ExpectationSuiteValidationResult.

        Row positions: the pandas frame keeps polars' row order with a fresh RangeIndex, so GX's
        ``unexpected_index_list`` holds positions in ``frame`` (asserted here, tested in
        tests/validation). Arrow-backed pandas keeps Int64 columns with nulls as integers (plain
        ``to_pandas`` would turn them into floats).
        """
        entry = self.suite(name, build)
        pdf = frame.to_pandas(use_pyarrow_extension_array=True)
        assert isinstance(pdf.index, pd.RangeIndex) and pdf.index.start == 0 and len(pdf) == frame.height
        with self._lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = entry.definition.run(
                batch_parameters={"dataframe": pdf},
                expectation_parameters=parameters or {},
                result_format={"result_format": result_format},
            )
            # The in-memory results store would grow with every batch of a long-lived worker;
            # the caller keeps what it needs (RunValidationStore), so drop GX's copy.
            store = self.context.validation_results_store
            for key in store.list_keys():
                store.remove_key(key)
        return result

    def suite_dict(self, name: str) -> dict | None:
        entry = self._suites.get(name)
        return None if entry is None else entry.suite.to_json_dict()


_RUNTIME: Runtime | None = None
_RUNTIME_LOCK = threading.Lock()


def runtime() -> Runtime:
    """The process-wide runtime, created on first use."""
    global _RUNTIME
    with _RUNTIME_LOCK:
        if _RUNTIME is None:
            _RUNTIME = Runtime()
        return _RUNTIME
