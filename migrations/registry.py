"""Every table, on one ``MetaData``.

Why a registry: the migrations, the schema document and the tests need *all* tables; the shared
records, the ledger and each area (screening, reconciliation, clawback) declare their own in their
own ``tables`` module (the workspace too: its users, sessions and access log), so the people working on one own its schema, and this is the one list that
brings them together. It sits above every area, as the migrations do: it knows every table.
"""

from __future__ import annotations

from types import ModuleType

from sqlalchemy import MetaData

import clawback.tables
import ledger.tables
import reconciliation.tables
import records.tables
import screening.tables
import workspace.tables
from db.metadata import metadata

TABLE_MODULES: tuple[ModuleType, ...] = (
    records.tables,
    ledger.tables,
    screening.tables,
    reconciliation.tables,
    clawback.tables,
    workspace.tables,
)


def load_all_tables() -> MetaData:
    """The shared metadata, with every table of every module above declared on it."""
    assert all(m.metadata is metadata for m in TABLE_MODULES)
    return metadata


def append_only_tables() -> dict[str, str]:
    """Every table the database must refuse to edit (``db/append_only.py``), with the refusal's reason:
    each tables module that has such tables declares them in its ``APPEND_ONLY``."""
    out: dict[str, str] = {}
    for module in TABLE_MODULES:
        out.update(getattr(module, "APPEND_ONLY", {}))
    return out
