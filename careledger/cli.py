"""``careledger``: one command line for every capability, for people and for scripts.

Airflow tasks call the same library functions this CLI calls; nothing here holds business logic.
Every command takes ``--db URL`` (or $CARELEDGER_DB_URL; default the embedded SQLite file) and
machine-facing ones take ``--json``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="careledger: social-care prepaid card ledger, screening, reconciliation and clawback.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
console = Console()
err = Console(stderr=True)

from careledger.options import DbOpt, JsonOpt  # noqa: E402  (re-exported for area cli modules)


def pounds(pence: int | None) -> str:
    """Pence as a pounds string for people: 123456 -> '£1,234.56', -5 -> '-£0.05'."""
    from schemas.money import pounds as as_pounds

    return as_pounds(pence)


def _engine(db: str | None):
    from ledger.db import get_engine

    return get_engine(db)


def _parse_as_of(value: str | None) -> dt.date | dt.datetime | None:
    if value is None:
        return None
    try:
        if "T" in value or " " in value:
            moment = dt.datetime.fromisoformat(value)
            if moment.tzinfo is None:
                from zoneinfo import ZoneInfo

                moment = moment.replace(tzinfo=ZoneInfo("Europe/London"))
            return moment
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"expected YYYY-MM-DD or an ISO date-time, got {value!r}") from exc


def _table(title: str, columns: list[str], rows: list[list[str]], money_cols: set[str] = frozenset()) -> Table:
    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(c, justify="right" if c in money_cols else "left")
    for r in rows:
        table.add_row(*[str(v) if v is not None else "" for v in r])
    return table


@app.command()
def init(db: DbOpt = None) -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from ledger.migrate import current_revision, upgrade

    engine = _engine(db)
    with engine.begin() as conn:
        upgrade(conn)
    with engine.connect() as conn:
        console.print(f"Database {engine.url.render_as_string(hide_password=True)} is at schema revision {current_revision(conn)}.")


@app.command()
def balances(
    db: DbOpt = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (end of that London day) or an ISO date-time")] = None,
    prefix: Annotated[str | None, typer.Option(help="Only accounts whose code starts with this, e.g. card:")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Balance of every account, as of a day or a moment."""
    from ledger.queries import balances as q

    with _engine(db).connect() as conn:
        df = q(conn, _parse_as_of(as_of), prefix=prefix)
    if json_out:
        typer.echo(json.dumps(df.to_dicts(), default=str))
        return
    console.print(
        _table(
            f"Balances{' as of ' + as_of if as_of else ''}",
            ["account", "type", "balance"],
            [[r["code"], r["account_type"], pounds(r["balance_pence"])] for r in df.iter_rows(named=True)],
            {"balance"},
        )
    )


@app.command("trial-balance")
def trial_balance(
    db: DbOpt = None,
    as_of: Annotated[str | None, typer.Option("--as-of")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Totals by account type; they sum to zero in a sound ledger."""
    from ledger.queries import trial_balance as q

    with _engine(db).connect() as conn:
        df = q(conn, _parse_as_of(as_of))
    total = int(df["balance_pence"].sum()) if df.height else 0
    if json_out:
        typer.echo(json.dumps({"rows": df.to_dicts(), "total_pence": total}))
        return
    rows = [[r["account_type"], r["accounts"], pounds(r["balance_pence"])] for r in df.iter_rows(named=True)]
    rows.append(["TOTAL", "", pounds(total)])
    console.print(_table("Trial balance", ["type", "accounts", "balance"], rows, {"balance"}))


@app.command()
def statement(
    client: Annotated[str, typer.Argument(help="Client id")],
    date_from: Annotated[str, typer.Option("--from", help="First London day, YYYY-MM-DD")],
    date_to: Annotated[str, typer.Option("--to", help="Last London day, YYYY-MM-DD")],
    db: DbOpt = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Also write the statement as CSV here")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Also write the statement as HTML here")] = None,
    xlsx_out: Annotated[Path | None, typer.Option("--xlsx", help="Also write the statement as XLSX here")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write CSV, HTML and XLSX into this folder")] = None,
    json_out: JsonOpt = False,
) -> None:
    """A client's statement of account for a period (opening balance, every item, closing balance)."""
    from ledger.queries import statement as q
    from reports import statements as w

    with _engine(db).connect() as conn:
        st = q(conn, client, dt.date.fromisoformat(date_from), dt.date.fromisoformat(date_to))
    written = [f(st, p) for f, p in ((w.write_statement_csv, csv_out), (w.write_statement_html, html_out),
                                     (w.write_statement_xlsx, xlsx_out)) if p]
    written += list(w.write_statement(st, out_dir).values()) if out_dir else []
    for path in written:
        err.print(f"Statement written to {path}")
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "client_id": st.client_id,
                    "from": date_from,
                    "to": date_to,
                    "opening_pence": st.opening_pence,
                    "closing_pence": st.closing_pence,
                    "items": st.items.to_dicts(),
                },
                default=str,
            )
        )
        return
    rows = [["", "", "Opening balance", "", pounds(st.opening_pence)]]
    rows += [
        [str(r["london_date"]), r["entry_type"], r["description"], pounds(r["amount_pence"]), pounds(r["running_balance_pence"])]
        for r in st.items.iter_rows(named=True)
    ]
    rows.append(["", "", "Closing balance", "", pounds(st.closing_pence)])
    console.print(
        _table(
            f"Statement of account: client {client}, {date_from} to {date_to}",
            ["date", "type", "description", "amount", "balance"],
            rows,
            {"amount", "balance"},
        )
    )


@app.command()
def verify(db: DbOpt = None, json_out: JsonOpt = False) -> None:
    """Recompute every ledger invariant; exit 1 with a readable list if any fails."""
    from ledger.verify import verify_ledger

    with _engine(db).connect() as conn:
        report = verify_ledger(conn)
    if json_out:
        typer.echo(json.dumps(report.as_dict()))
    else:
        console.print(f"Checked {report.entries:,} entries and {report.postings:,} postings.")
        for check in report.checks:
            failed = [p for p in report.problems if p.check == check]
            mark = "[red]FAIL[/red]" if failed else "[green]ok[/green]"
            console.print(f"  {mark}  {check}")
            for p in failed:
                console.print(f"        - {p.detail}")
    if not report.ok:
        raise typer.Exit(1)


export_app = typer.Typer(help="Export the ledger to other tools.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("beancount")
def export_beancount(
    to: Annotated[Path, typer.Option("--to", help="The .beancount file to write")],
    db: DbOpt = None,
) -> None:
    """Write the ledger as Beancount, with a balance assertion per card per provider statement date."""
    from ledger.export_beancount import export_beancount as run

    with _engine(db).connect() as conn:
        path = run(conn, to)
    console.print(f"Wrote {path}; check it with: bean-check {path}")


@app.command("schema-doc")
def schema_doc(out: Annotated[Path, typer.Option(help="Where to write")] = Path("docs/schema.md")) -> None:
    """Regenerate docs/schema.md from the table declarations."""
    from ledger.schema_doc import write

    console.print(f"Wrote {write(out)}")


def _register_area_commands() -> None:
    """Each area adds its own commands (ingest, screen, report, clawback ...) from its cli module."""
    import importlib

    for name in ("feeds.cli", "simulator.cli", "screening.cli", "reconciliation.cli", "reports.cli", "clawback.cli", "careledger.tools_cli"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that area has no commands yet
                continue
            raise
        module.register(app)


_register_area_commands()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        err.print("interrupted")
        sys.exit(130)
