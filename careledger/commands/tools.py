"""Whole-system commands: the demo and the benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from benchmarks.run import main
from careledger.commands.output import console, esc
from careledger.demo import run_demo

app = typer.Typer()


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Where the demo data, database and reports go")] = Path("out/demo"),
    clients: Annotated[int, typer.Option(help="Simulated clients")] = 60,
    days: Annotated[int, typer.Option(help="Simulated days")] = 28,
    seed: Annotated[int, typer.Option(help="Simulation seed")] = 7,
) -> None:
    """Simulate a month for a council and run it through the pipeline on embedded SQLite."""
    result = run_demo(out, clients=clients, days=days, seed=seed)
    console.print(f"[bold]Demo finished.[/bold] Database: {esc(result.db_url)}")
    for name, path in result.outputs.items():
        console.print(Text(f"  {name:<22} {path}"))


@app.command()
def bench(
    cards: Annotated[int, typer.Option(help="Cards in the generated day")] = 100_000,
    transactions: Annotated[int, typer.Option(help="Provider transactions in the generated day")] = 1_000_000,
    database: Annotated[list[str] | None, typer.Option("--database", help="sqlite and/or postgresql")] = None,
    growth_days: Annotated[int, typer.Option(help="Also run day 1 and day N of an N-day history (0 = skip)")] = 0,
    growth_cards: Annotated[int, typer.Option(help="Cards in the growth history")] = 10_000,
    growth_transactions: Annotated[int, typer.Option(help="Transactions a day in the growth history")] = 100_000,
    validate: Annotated[bool, typer.Option(help="Run the GX validation stage")] = True,
    growth_only: Annotated[bool, typer.Option(help="Run only the growth benchmark (needs --growth-days)")] = False,
    tag: Annotated[str, typer.Option(help="Name this variant's result files (e.g. 'tuned' for a tuned server)")] = "",
) -> None:
    """Benchmark the nightly run against the floor and a one-by-one ORM; writes docs/performance.md."""
    results = main(
        database or ["sqlite", "postgresql"], cards=cards, transactions=transactions, growth_days=growth_days,
        growth_cards=growth_cards, growth_transactions=growth_transactions, validate=validate, growth_only=growth_only,
        tag=tag,
    )
    for r in (r for r in results if "ours" in r):
        console.print(
            f"{r['database']}: {r['ours']['total_s']:.1f}s end to end, {r['ratio_to_floor']:.2f}× the floor, "
            f"{r['ours']['postings_per_s'] or 0:,} postings/s, {r['ratio_to_orm']:.2f}× the ORM, peak {r['ours']['peak_rss_mb']:,} MB"
        )


@app.command("bench-workspace")
def bench_workspace(
    cards: Annotated[int, typer.Option(help="Cards of the seeded council")] = 5_000,
    days: Annotated[int, typer.Option(help="Days of history")] = 730,
    requests: Annotated[int, typer.Option(help="Timed requests per page")] = 200,
    keep: Annotated[bool, typer.Option(help="Keep the seeded PostgreSQL schema (its name is printed)")] = False,
) -> None:
    """Benchmark the workspace's pages over HTTP on a seeded PostgreSQL council; writes docs/performance.md."""
    from benchmarks.workspace import main as workspace_main  # the web stack loads only for this command

    workspace_main(cards=cards, days=days, requests=requests, keep=keep)
