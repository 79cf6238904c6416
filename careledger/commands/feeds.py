"""Commands for feeds: ``careledger ingest`` and ``careledger simulate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

import simulator
from careledger.commands.options import DbOpt, JsonOpt
from careledger.commands.output import UserError, console, err, parse_day, require_database
from feeds.ingest import ingest_drop

app = typer.Typer()


@app.command()
def ingest(
    drop_dir: Annotated[Path, typer.Argument(help="A day's drop folder (provider files and council files)")],
    db: DbOpt = None,
    json_out: JsonOpt = False,
    validation_dir: Annotated[
        Path | None, typer.Option(help="Keep GX validation results and Data Docs here (default out/validation)")
    ] = Path("out/validation"),
    archive_dir: Annotated[Path | None, typer.Option(help="Archive raw files as Parquet here")] = Path("out/archive"),
    accept_smaller_extract: Annotated[
        bool,
        typer.Option(help="Load a council extract with under half the cardholders of the one in use (the council confirmed it)"),
    ] = False,
) -> None:
    """Load a day's drop folder: register, validate, post, quarantine, report."""
    require_database(db)
    if not drop_dir.is_dir():
        raise UserError(f"no drop folder {drop_dir}")
    with Progress(console=err, transient=True, disable=json_out) as progress:
        task = progress.add_task(f"ingesting {drop_dir.name}", total=None)
        summary = ingest_drop(
            db,
            drop_dir,
            validation_root=validation_dir,
            archive_root=archive_dir,
            progress=lambda msg: progress.update(task, description=msg),
            accept_smaller_extract=accept_smaller_extract,
        )
    if json_out:
        typer.echo(json.dumps(summary.as_dict(), default=str))
    else:
        print_summary(console, summary)
    if summary.refused:
        raise typer.Exit(2)


@app.command()
def simulate(
    council: Annotated[str, typer.Option(help="Council name")] = "Testshire",
    clients: Annotated[int, typer.Option(help="Number of clients")] = 200,
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD or dd/mm/yyyy")] = "2026-03-02",
    days: Annotated[int, typer.Option(help="Number of days")] = 28,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes")] = 1,
    out: Annotated[Path, typer.Option(help="Output folder: one drop folder per day")] = Path("out/sim"),
) -> None:
    """Write realistic drop folders for all three providers plus the council's files, with planted cases."""
    result = simulator.simulate(council, clients, parse_day(start, "start"), days, seed, out)
    console.print(Text(f"Simulated {clients} clients over {days} days into {out}"))
    console.print(Text(f"Ground truth (planted cases, never read by the pipeline): {result.ground_truth}"))


def print_summary(console, summary) -> None:
    """The ingest's files, counts and messages, for a person."""
    table = Table(title=Text(f"Ingest of {summary.drop_dir}"))
    cols = ["file", "status", "read", "posted", "already", "pending", "quarantined", "conflicts", "incidents"]
    for c in cols:
        table.add_column(c, justify="left" if c in ("file", "status") else "right")
    for f in summary.files:
        style = {"refused": "red", "skipped": "dim"}.get(f.status)
        table.add_row(
            Text(f.file_name), f.status, str(f.rows_read), str(f.rows_posted), str(f.rows_already_posted),
            str(f.rows_pending), str(f.rows_quarantined), str(f.conflicts), str(f.incidents), style=style,
        )
    console.print(table)
    console.print(f"Take-on balances posted: {summary.take_ons}")
    for f in summary.files:
        if f.message and f.status != "skipped":
            console.print(Text(f"{f.file_name}: {f.message}", style="red" if f.status == "refused" else "yellow"))
    if summary.refused:
        loaded = sum(1 for f in summary.files if f.status == "loaded")
        console.print(
            f"[red]{len(summary.refused)} file(s) refused[/red]; the other {loaded} loaded. A refused file is retried "
            "when a corrected copy (different content) arrives in a drop folder."
        )
    if summary.data_docs:
        console.print(Text(f"Data Docs: {summary.data_docs}"))
