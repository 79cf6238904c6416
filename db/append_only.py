"""Append-only tables: the database itself refuses UPDATE and DELETE (and on PostgreSQL TRUNCATE).

Why in the database and not only in the code that writes them: an access log or a case history is
evidence. Auditors, scripts and future code reach the database directly; whichever path a statement
takes, a row once written stays as written. The ledger's own tables have their guards in
``ledger/guards.py`` (with its balance checks); this is the plain "no edits" guard for any other table
that must be a record: the workspace's ``access_log`` and screening's ``case_events`` (migration 0015).

PostgreSQL: one statement-level ``BEFORE UPDATE OR DELETE OR TRUNCATE`` trigger per table (statement
level, so a bulk edit is refused once, before it touches a row), calling one function whose message
comes from the trigger's argument. SQLite: a ``BEFORE UPDATE`` and a ``BEFORE DELETE`` row trigger that
abort the statement.
"""

from __future__ import annotations

import re

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION careledger_refuse_edit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'careledger: % on % is refused: %', TG_OP, TG_TABLE_NAME, TG_ARGV[0]
    USING ERRCODE = 'restrict_violation';
END $$
"""


def _checked(table: str, why: str) -> None:
    assert _NAME.match(table), f"not a plain table name: {table!r}"
    assert "'" not in why and why, "the reason is written into the DDL as a literal"


def append_only_ddl(dialect: str, table: str, why: str) -> tuple[str, ...]:
    """The statements that make ``table`` append-only on ``dialect``; re-running them is harmless.

    ``why`` is the end of the refusal message, e.g. "the access log is append-only"."""
    _checked(table, why)
    if dialect == "postgresql":
        return (
            POSTGRES_FUNCTION,
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION careledger_refuse_edit('{why}')",
        )
    if dialect == "sqlite":
        out: list[str] = []
        for op in ("UPDATE", "DELETE"):
            name = f"{table}_no_{op.lower()}"
            out.append(f"DROP TRIGGER IF EXISTS {name}")
            out.append(
                f"CREATE TRIGGER {name} BEFORE {op} ON {table} BEGIN"
                f" SELECT RAISE(ABORT, 'careledger: {op} on {table} is refused: {why}'); END"
            )
        return tuple(out)
    raise ValueError(f"careledger supports PostgreSQL and SQLite, not {dialect}")


def drop_append_only_ddl(dialect: str, table: str) -> tuple[str, ...]:
    """The statements that remove ``append_only_ddl``'s triggers (a migration's downgrade)."""
    _checked(table, "x")
    if dialect == "postgresql":
        return (f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",)
    return tuple(f"DROP TRIGGER IF EXISTS {table}_no_{op} " for op in ("update", "delete"))
