"""Every area's tables on one ``MetaData``.

Why a registry: the initial migration and the tests need *all* tables; each area (ledger,
screening, reconciliation, clawback) declares its own in its own ``tables`` module so the people
working on an area own its schema, and this is the one list that brings them together.
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

TABLE_MODULES: tuple[str, ...] = (
    "ledger.tables",
    "screening.tables",
    "reconciliation.tables",
    "clawback.tables",
)


def load_all_tables() -> MetaData:
    """Import every area's tables module and return the shared metadata."""
    for name in TABLE_MODULES:
        importlib.import_module(name)
    from ledger.tables import metadata

    return metadata
