"""Alembic migrations of the careledger schema (``ledger.migrate.upgrade`` runs them)."""

from __future__ import annotations

import sqlalchemy as sa


def add_columns_if_missing(op, table: str, columns: tuple[sa.Column, ...]) -> None:
    """Add ``columns`` to ``table`` where they are not there yet.

    Why "if missing": the baseline (0001) creates tables from the current declarations, so on a
    database created after a column was declared the column already exists; an older database
    gets it from the migration that introduced it.
    """
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
    for column in columns:
        if column.name not in present:
            op.add_column(table, column)
