"""A run's validation record: results.json and GX Data Docs under ``root/<run_id>/``.

Each run writes only inside its own folder, so runs never overwrite each other (a run id that
was already used gets ``<run_id>.2``, ``.3``, ...). results.json is rewritten after every
``record`` so a run that dies half-way still leaves what it validated; ``finish`` marks it complete
and renders Data Docs once for the whole run (rendering per file would redo the index each time).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

from feeds.validation.report import ValidationReport
from feeds.validation.runtime import quiet_context, runtime

SITE_NAME = "careledger_run"
RUNS_PER_ID_MAX = 1_000  # bound on the ".N" suffixes tried for a reused run id


def _free_dir(root: Path, run_id: str) -> Path:
    for n in range(1, RUNS_PER_ID_MAX + 1):
        candidate = root / (run_id if n == 1 else f"{run_id}.{n}")
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"{RUNS_PER_ID_MAX} validation runs already use run id {run_id} under {root}")


class RunValidationStore:
    """Keeps every report of one run; ``finish`` writes results.json and builds Data Docs."""

    def __init__(self, root: Path, run_id: str) -> None:
        self.root = Path(root).resolve()  # GX's file store needs an absolute path (the CLI default is relative)
        self.run_id = run_id
        self.dir = _free_dir(self.root, run_id)
        self.results_path = self.dir / "results.json"
        self.docs_dir = self.dir / "data_docs"
        self.started_at = dt.datetime.now(dt.UTC)
        self._entries: list[tuple[str, ValidationReport]] = []
        self._write(finished=False)

    def record(self, report: ValidationReport, source_file: str) -> None:
        """Keep ``report`` (validated from ``source_file``) and rewrite results.json."""
        self._entries.append((source_file, report))
        self._write(finished=False)

    @property
    def reports(self) -> list[tuple[str, ValidationReport]]:
        return list(self._entries)

    def _document(self, finished: bool, docs_index: Path | None = None, docs_seconds: float | None = None) -> dict:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "finished": finished,
            "data_docs": str(docs_index) if docs_index else None,
            "data_docs_seconds": None if docs_seconds is None else round(docs_seconds, 3),
            "validation_seconds": round(sum(r.seconds for _, r in self._entries), 3),
            "success": all(r.success for _, r in self._entries),
            "reports": [
                {"source_file": source_file, **report.summary(), "results": report.results}
                for source_file, report in self._entries
            ],
        }

    def _write(self, finished: bool, docs_index: Path | None = None, docs_seconds: float | None = None) -> None:
        doc = self._document(finished, docs_index, docs_seconds)
        tmp = self.results_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
        os.replace(tmp, self.results_path)  # never a half-written results.json

    def finish(self) -> Path:
        """Write the run's results.json and its Data Docs; returns the Data Docs index.html."""
        from great_expectations.core.expectation_suite import ExpectationSuite
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        started = time.perf_counter()
        ctx = quiet_context()
        for site in list(ctx.list_data_docs_sites()):
            ctx.delete_data_docs_site(site)
        ctx.add_data_docs_site(
            SITE_NAME,
            {
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(self.docs_dir)},
            },
        )
        suites_added: set[str] = set()
        store = ctx.validation_results_store
        for n, (source_file, report) in enumerate(self._entries, 1):
            result: Any = report.gx_result
            if result is None:
                continue
            suite_name = report.suite_name or result.suite_name
            suite_dict = runtime().suite_dict(suite_name)
            if suite_dict is not None and suite_name not in suites_added:
                suite_dict.pop("id", None)
                ctx.suites.add(ExpectationSuite(**suite_dict))
                suites_added.add(suite_name)
            run_time = result.meta.get("run_id").run_time if result.meta.get("run_id") else dt.datetime.now(dt.UTC)
            run_identifier = RunIdentifier(run_name=self.run_id, run_time=run_time)
            result.meta["run_id"] = run_identifier  # the page header names this run, not "__none__"
            result.meta["source_file"] = source_file
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite_name),
                run_id=run_identifier,
                batch_identifier=f"{n:03d}_{source_file}",
            )
            store.set(key, result)
        built = ctx.build_data_docs(site_names=[SITE_NAME])
        index = self.docs_dir / "index.html"
        assert index.exists(), f"GX did not write {index} (built: {built})"
        self._write(finished=True, docs_index=index, docs_seconds=time.perf_counter() - started)
        return index
