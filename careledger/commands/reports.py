"""Commands for reports: ``careledger report --date D [--out DIR]``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from careledger.commands.options import DbOpt, JsonOpt
from careledger.commands.output import console
from reports.exception_report import write_exception_report

app = typer.Typer()
@app.command()
def report(
    date: Annotated[str, typer.Option("--date", help="The run day to report on, YYYY-MM-DD")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write into (one sub-folder per council)")] = Path("out/reports"),
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write the exception report per council: HTML (opens from disk), XLSX workbook and CSVs."""
    try:
        day = dt.date.fromisoformat(date)
    except ValueError as exc:
        raise typer.BadParameter(f"expected a date YYYY-MM-DD, got {date!r}") from exc
    written = write_exception_report(db, day, out)
    if json_out:
        typer.echo(json.dumps({k: str(v) for k, v in written.items()}))
        return
    for k, v in written.items():
        console.print(f"{k:<30} {v}")
