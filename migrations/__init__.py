"""Alembic migrations of the careledger schema (``migrations.migrate.upgrade`` runs them).

The "if missing" helpers below are for revisions 0002-0014 only. The frozen baseline (0001, the schema
as of 0014) already holds what each of them adds, so on a new database they find their change made;
an older database, migrated before they existed, gets it from them. A revision after 0014 is not in the
baseline: it uses plain, explicit operations (``op.add_column``, ``op.create_index``, ...).
"""

from __future__ import annotations

import sqlalchemy as sa


def add_columns_if_missing(op, table: str, columns: tuple[sa.Column, ...]) -> None:
    """Add ``columns`` to ``table`` where they are not there yet.

    Why "if missing": the frozen baseline (0001) already has every column revisions 0002-0014 add, so
    on a new database the column exists; an older database gets it from the migration that introduced it.
    """
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
    for column in columns:
        if column.name not in present:
            op.add_column(table, column)


def create_table_if_missing(op, table: str, *columns: sa.Column, **kw) -> None:
    """Create ``table`` unless it is there already (the frozen baseline has every table of revisions
    0002-0014 on a new database; an older one gets it from the migration that introduced it)."""
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
    """Create index ``name`` on ``table`` unless it is there already (the frozen baseline has every index
    of revisions 0002-0014 on a new database; an older one gets it from its migration)."""
    if name not in index_names(op, table):
        op.create_index(name, table, columns, **kw)
