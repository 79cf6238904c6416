"""Alembic migrations of the careledger schema (``migrations.migrate.upgrade`` runs them)."""

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


def create_table_if_missing(op, table: str, *columns: sa.Column, **kw) -> None:
    """Create ``table`` unless it is there already (the baseline creates every table declared in
    the tables modules on a new database; an older one gets it from the migration that introduced it)."""
    if not sa.inspect(op.get_bind()).has_table(table):
        op.create_table(table, *columns, **kw)


def index_names(op, table: str) -> set[str]:
    """The names of ``table``'s indexes, read from the catalogue.

    Why not ``sa.inspect().get_indexes``: it skips expression indexes (``ix_transactions_utc_hour``)
    with a warning; the catalogue lists every index."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
    else:
        sql = "SELECT indexname FROM pg_indexes WHERE tablename = :t AND schemaname = current_schema()"
    return {r[0] for r in bind.execute(sa.text(sql), {"t": table})}


def create_index_if_missing(op, name: str, table: str, columns: list[str], **kw) -> None:
    """Create index ``name`` on ``table`` unless it is there already (the baseline creates every index
    declared in the tables modules on a new database; an older one gets it from its migration)."""
    if name not in index_names(op, table):
        op.create_index(name, table, columns, **kw)
