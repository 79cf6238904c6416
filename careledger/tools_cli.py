"""Whole-system commands: the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        out: Annotated[Path, typer.Option(help="Where the demo data, database and reports go")] = Path("out/demo"),
        clients: Annotated[int, typer.Option(help="Simulated clients")] = 60,
        days: Annotated[int, typer.Option(help="Simulated days")] = 28,
        seed: Annotated[int, typer.Option(help="Simulation seed")] = 7,
    ) -> None:
        """Simulate a month for a council and run it through the pipeline on embedded SQLite."""
        from careledger.cli import console
        from careledger.demo import run_demo

        result = run_demo(out, clients=clients, days=days, seed=seed)
        console.print(f"[bold]Demo finished.[/bold] Database: {result.db_url}")
        for name, path in result.outputs.items():
            console.print(f"  {name:<22} {path}")
