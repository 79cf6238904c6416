"""Alembic environment: runs migrations on the connection ``migrations.migrate`` hands over."""

from alembic import context

from migrations.registry import load_all_tables

target_metadata = load_all_tables()
connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via `alembic` CLI, which we do not use
    raise RuntimeError("run migrations with `careledger init`, which passes a connection")
context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
