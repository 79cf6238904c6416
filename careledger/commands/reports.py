"""Commands for reports: ``careledger report --date D [--out DIR]``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from careledger.commands.options import DbOpt, JsonOpt
from careledger.commands.output import console, parse_day, require_database
from reports.exception_report import write_exception_report

app = typer.Typer()


@app.command()
def report(
    date: Annotated[str, typer.Option("--date", help="The run day to report on, YYYY-MM-DD or dd/mm/yyyy")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write into (one sub-folder per council)")] = Path("out/reports"),
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write the exception report per council: HTML (opens from disk), XLSX workbook and CSVs."""
    day = parse_day(date, "date")
    require_database(db)
    written = write_exception_report(db, day, out)
    if json_out:
        typer.echo(json.dumps({k: str(v) for k, v in written.items()}))
        return
    for k, v in written.items():
        console.print(Text(f"{k:<30} {v}"))
