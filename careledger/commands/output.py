"""What every command shares for people: the consoles, money as pounds, tables, the database, dates,
and lists as CSV or JSON.

Why one module: every command prints money, tables and dates the same way, and opens the database
through the same call, so a fix here (escaping, a date format, a clear error) reaches every command.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine, inspect, make_url
from sqlalchemy.exc import OperationalError
from typer._click.exceptions import (
    ClickException,  # Typer bundles its own Click; its handler knows only this one
)

from db.engine import get_engine, resolve_url
from schemas.money import pounds as as_pounds

# emoji=False: Rich would turn ``:A:`` in ``card:A:11709968:council`` into an emoji. Values printed
# inside markup go through ``esc``; table cells are plain Text, never markup.
console = Console(emoji=False)
err = Console(stderr=True, emoji=False, soft_wrap=True)  # an error is one line, however narrow the terminal
esc = escape

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")  # what people type: ISO, and the UK's day/month/year


class UserError(ClickException):
    """A mistake the person at the command line can put right: Click says it in one line on stderr
    ("Error: ...") and exits 1 (2 for input the command could not take), the same for a person, a
    script and a test runner; no traceback."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def pounds(pence: int | None) -> str:
    """Pence as a pounds string for people: 123456 -> '£1,234.56', -5 -> '-£0.05'."""
    return as_pounds(pence)


def engine(db: str | None) -> Engine:
    """The database of ``--db`` (or $CARELEDGER_DB_URL, else the embedded SQLite file), which must
    exist and hold the schema: a command never creates an empty database by reading one."""
    require_database(db)
    return get_engine(db)


def require_database(db: str | None) -> str:
    """Refuse, in one line, a database that is missing, unreachable or not initialised; returns its URL.

    Why before connecting: SQLite creates an empty file (and its -wal/-shm) on first connection, so a
    mistyped path would leave files behind and then fail deep inside a query."""
    url = resolve_url(db)
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    fix = "run `careledger init` with the same --db to create it"
    file_name = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if file_name and file_name != ":memory:" and not file_name.startswith("file:") and not Path(file_name).exists():
        raise UserError(f"no database at {shown}: {fix}")
    try:
        with get_engine(url).connect() as conn:
            initialised = inspect(conn).has_table("alembic_version")
    except OperationalError as exc:
        raise UserError(f"cannot open the database {shown}: {str(exc.orig).strip().splitlines()[0]}") from exc
    if not initialised:
        raise UserError(f"the database {shown} has no careledger schema: {fix}")
    return url


def parse_day(value: str, option: str = "date") -> dt.date:
    """A London day as people type it: YYYY-MM-DD or dd/mm/yyyy; anything else is refused in one line."""
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    raise UserError(f"--{option}: expected a date as YYYY-MM-DD or dd/mm/yyyy, got {value!r}", exit_code=2)


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
    except ValueError as exc:
        raise UserError(f"--as-of: expected YYYY-MM-DD, dd/mm/yyyy or an ISO date-time, got {value!r}", exit_code=2) from exc
    return parse_day(value, "as-of")


def table(title: str, columns: list[str], rows: list[list[str]], money_cols: set[str] = frozenset()) -> Table:
    """A Rich table of ``rows``; money columns right-aligned."""
    out = Table(title=Text(title), show_lines=False)
    for c in columns:
        # fold: a value too long for its column wraps onto the next line instead of being cut ("TES4…")
        out.add_column(c, justify="right" if c in money_cols else "left", overflow="fold")
    for r in rows:
        out.add_row(*[Text(str(v)) if v is not None else Text("") for v in r])
    return out


WIDE_TABLE_COLUMNS = 140  # below this a list with long text prints as blocks: a table of ten columns at 80 is unreadable


def print_list(title: str, columns: list[str], rows: list[list], money_cols: set[str] = frozenset()) -> None:
    """A list whose last column is long text (an explanation): a table on a wide terminal; on a narrow
    one or a pipe, each row as one line of its short fields and the text wrapped beneath it, indented,
    so nothing is cut and each word stays whole."""
    if console.width >= WIDE_TABLE_COLUMNS:
        console.print(table(title, columns, rows, money_cols))
        return
    console.print(Text(title, style="bold"))
    for r in rows:
        head = "  ".join(f"{c} {v}" if c not in ("id",) else f"#{v}" for c, v in zip(columns[:-1], r[:-1], strict=True)
                         if v not in (None, ""))
        console.print(Text(head, style="bold"))
        console.print(Padding(Text(str(r[-1] or ""), overflow="fold"), (0, 0, 1, 4)))


def write_rows(rows: Sequence[Mapping], *, as_json: bool, as_csv: bool, columns: Iterable[str] | None = None) -> bool:
    """Write ``rows`` to stdout as JSON or CSV if asked; returns whether it did (the caller then prints
    nothing else). CSV opens in Excel: a header row, every value as text, dates ISO."""
    if as_json and as_csv:
        raise UserError("choose one of --json and --csv")
    if as_json:
        typer.echo(json.dumps([dict(r) for r in rows], default=str))
        return True
    if as_csv:
        names = list(columns) if columns is not None else (list(rows[0]) if rows else [])
        writer = csv.DictWriter(sys.stdout, fieldnames=names, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if r.get(k) is None else r.get(k) for k in names} for r in rows)
        return True
    return False


def tell(path: Path | str, what: str = "written") -> None:
    """Say on stderr where a file went (stdout stays the machine-readable result)."""
    err.print(Text(f"{what}: {path}"))
