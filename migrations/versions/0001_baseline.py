"""Baseline schema: every table, plus the database's guards on posted history.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Frozen: the schema as of the freeze (revision 0014, December 2026), as SQL files next to this one,
one per database (``0001_baseline.sqlite.sql``, ``0001_baseline.postgresql.sql``). They are exactly
the statements this revision used to run on a new database (``create_all`` over the declarations in
the tables modules, then ``ledger.guards.guard_ddl``), captured once, so the baseline no longer
changes when a declaration does. Later revisions must use explicit operations: a change to a
``tables`` module or to ``ledger/guards.py`` reaches a database only through a revision of its own.
(Revisions 0002-0014 already took effect in these files, which is why each of them first checks
whether its change is there: ``migrations.add_columns_if_missing`` and the like.)

tests/ledger/test_migrations.py checks that a new database migrated to head has exactly the schema
the declarations give today.
"""

from pathlib import Path

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATEMENT_MARK = "-- statement "


def frozen_statements(dialect: str) -> list[str]:
    """The baseline's statements for ``dialect`` (sqlite or postgresql), in order, without their ``;``."""
    path = Path(__file__).with_name(f"0001_baseline.{dialect}.sql")
    if not path.exists():
        raise ValueError(f"careledger supports PostgreSQL and SQLite, not {dialect}")
    parts = path.read_text(encoding="utf-8").split("\n" + STATEMENT_MARK)[1:]
    statements = [part.split("\n", 1)[1].strip().removesuffix(";") for part in parts]
    assert statements and all(statements), f"{path.name} holds no statements"
    return statements


def upgrade() -> None:
    bind = op.get_bind()
    # Verbatim, as psql would run them: through the driver's own cursor, so no layer reads ':name' or
    # '%' in the text (a comment, a plpgsql RAISE) as a parameter.
    cursor = bind.connection.dbapi_connection.cursor()
    try:
        for statement in frozen_statements(bind.dialect.name):
            cursor.execute(statement)
    finally:
        cursor.close()


def downgrade() -> None:
    raise NotImplementedError("the baseline is not reversible: drop the database instead")
