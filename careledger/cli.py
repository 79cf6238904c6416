"""``careledger``: one command line for every capability, for people and for scripts.

Airflow tasks call the same library functions this CLI calls; nothing here holds business logic.
Every command takes ``--db URL`` (or $CARELEDGER_DB_URL; default the embedded SQLite file) and
machine-facing ones take ``--json``. The commands live in ``careledger/commands/``, one module per
area; this module only gathers them into one application.
"""

from __future__ import annotations

import sys

import typer

from careledger.commands import clawback, feeds, ledger, reconciliation, reports, screening, tools, workspace
from careledger.commands.output import err

app = typer.Typer(
    help="careledger: social-care prepaid card ledger, screening, reconciliation and clawback.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
for _commands in (ledger, feeds, screening, reconciliation, reports, clawback, tools, workspace):
    app.add_typer(_commands.app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        err.print("interrupted")
        sys.exit(130)
