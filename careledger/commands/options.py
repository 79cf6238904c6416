"""Options shared by every command (import these at module top level in area cli modules)."""

from __future__ import annotations

from typing import Annotated

import typer

DbOpt = Annotated[
    str | None, typer.Option("--db", envvar="CARELEDGER_DB_URL", help="Database URL (default sqlite:///careledger.db)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="The list as CSV on stdout (opens in Excel)")]
