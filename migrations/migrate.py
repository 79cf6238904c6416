"""Bring a database to the current schema with Alembic (``careledger init``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

MIGRATIONS_DIR = Path(__file__).parent


def alembic_config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade(conn: Connection, revision: str = "head") -> None:
    """Run every pending migration on ``conn`` (inside the caller's transaction)."""
    command.upgrade(alembic_config(conn), revision)


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()
