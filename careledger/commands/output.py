"""What every command shares for people: the consoles, money as pounds, tables, the engine and dates.

Why one module: every command prints money, tables and dates the same way, and opens the database
through the same call, so a fix here (escaping, a date format) reaches every command at once.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from db.engine import get_engine
from schemas.money import pounds as as_pounds

console = Console()
err = Console(stderr=True)


def pounds(pence: int | None) -> str:
    """Pence as a pounds string for people: 123456 -> '£1,234.56', -5 -> '-£0.05'."""
    return as_pounds(pence)


def engine(db: str | None) -> Engine:
    """The database of ``--db`` (or $CARELEDGER_DB_URL, else the embedded SQLite file)."""
    return get_engine(db)


def parse_as_of(value: str | None) -> dt.date | dt.datetime | None:
    """``--as-of``: a London day (its end) or a moment; a moment without a zone is London time."""
    if value is None:
        return None
    try:
        if "T" in value or " " in value:
            moment = dt.datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=ZoneInfo("Europe/London"))
            return moment
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"expected YYYY-MM-DD or an ISO date-time, got {value!r}") from exc


def table(title: str, columns: list[str], rows: list[list[str]], money_cols: set[str] = frozenset()) -> Table:
    """A Rich table of ``rows``; money columns right-aligned."""
    out = Table(title=title, show_lines=False)
    for c in columns:
        out.add_column(c, justify="right" if c in money_cols else "left")
    for r in rows:
        out.add_row(*[str(v) if v is not None else "" for v in r])
    return out
