"""``careledger``: one command line for every capability, for people and for scripts.

Airflow tasks call the same library functions this CLI calls; nothing here holds business logic.
Every command takes ``--db URL`` (or $CARELEDGER_DB_URL; default the embedded SQLite file), before
the command's name or after it, and machine-facing ones take ``--json``. The commands live in
``careledger/commands/``, one module per area; this module only gathers them into one application
and turns a person's mistake into one clear line instead of a traceback.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from careledger.commands import clawback, feeds, ledger, reconciliation, reports, screening, tools, workspace
from careledger.commands.output import err
from db.engine import DB_URL_ENV
from feeds.readers import FileRefused
from ledger.journal import LedgerError
from screening.cases import CaseError

app = typer.Typer(
    help="careledger: social-care prepaid card ledger, screening, reconciliation and clawback.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # an error is one plain line on stderr, not a box drawn across the terminal
)
for _commands in (ledger, feeds, screening, reconciliation, reports, clawback, tools, workspace):
    app.add_typer(_commands.app)

# Errors the libraries raise about what the person asked for, not a fault of the program: one line, exit 1.
# (The commands' own checks raise careledger.commands.output.UserError, which Click reports itself.)
USER_ERRORS: tuple[type[Exception], ...] = (CaseError, LedgerError, FileRefused, FileNotFoundError)


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option("--db", help="Database URL for the command (may also follow it)")] = None,
) -> None:
    """careledger: social-care prepaid card ledger, screening, reconciliation and clawback."""
    if db is None:
        return
    # Each command reads --db or $CARELEDGER_DB_URL; a --db given before the command's name becomes
    # the environment value for that one command (a --db after the name still wins), and the old
    # value comes back when the command ends, so a process running several commands sees no leak.
    before = os.environ.get(DB_URL_ENV)
    os.environ[DB_URL_ENV] = db
    ctx.call_on_close(lambda: os.environ.pop(DB_URL_ENV) if before is None else os.environ.update({DB_URL_ENV: before}))


def _report_crash(exc: BaseException) -> Path:
    """Keep the traceback of an unexpected failure in a file for whoever supports the system."""
    path = Path(tempfile.gettempdir()) / f"careledger-error-{os.getpid()}.txt"
    path.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
    return path


def main() -> None:
    try:
        app(standalone_mode=True)
    except USER_ERRORS as exc:
        err.print(Text(f"error: {exc}"))
        sys.exit(1)
    except KeyboardInterrupt:  # pragma: no cover
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        where = _report_crash(exc)
        err.print(Text(f"careledger stopped on an unexpected error: {type(exc).__name__}: {exc}"))
        err.print(Text(f"Nothing was left half-done in the database (each change is one transaction). Details: {where}"))
        sys.exit(2)
