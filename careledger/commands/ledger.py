"""Commands on the ledger itself: init, balances, trial balance, statement, verify, export, schema doc."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from careledger.commands.options import CsvOpt, DbOpt, JsonOpt
from careledger.commands.output import (
    UserError,
    console,
    engine,
    esc,
    parse_as_of,
    parse_day,
    pounds,
    table,
    tell,
    write_rows,
)
from db.engine import get_engine
from ledger import queries
from ledger.export_beancount import export_beancount as write_beancount
from ledger.verify import verify_ledger
from migrations import schema_doc
from migrations.migrate import current_revision, upgrade
from reports import statements

app = typer.Typer()
export_app = typer.Typer(help="Export the ledger to other tools.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@app.command()
def init(db: DbOpt = None) -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    database = get_engine(db)  # init is the one command that may create the database
    with database.begin() as conn:
        upgrade(conn)
    with database.connect() as conn:
        console.print(Text(f"Database {database.url.render_as_string(hide_password=True)} is at schema revision {current_revision(conn)}."))


@app.command()
def balances(
    db: DbOpt = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="A London day (its end), YYYY-MM-DD or dd/mm/yyyy, or an ISO date-time")] = None,
    prefix: Annotated[str | None, typer.Option(help="Only accounts whose code starts with this, e.g. card:")] = None,
    json_out: JsonOpt = False,
    csv_out: CsvOpt = False,
) -> None:
    """Balance of every account, as of a day or a moment."""
    when = parse_as_of(as_of)
    with engine(db).connect() as conn:
        df = queries.balances(conn, when, prefix=prefix)
    if write_rows(df.to_dicts(), as_json=json_out, as_csv=csv_out):
        return
    console.print(
        table(
            f"Balances{' as of ' + as_of if as_of else ''}",
            ["account", "type", "balance"],
            [[r["code"], r["account_type"], pounds(r["balance_pence"])] for r in df.iter_rows(named=True)],
            {"balance"},
        )
    )


@app.command("trial-balance")
def trial_balance(
    db: DbOpt = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="A London day (its end), YYYY-MM-DD or dd/mm/yyyy")] = None,
    json_out: JsonOpt = False,
    csv_out: CsvOpt = False,
) -> None:
    """Totals by account type; they sum to zero in a sound ledger."""
    when = parse_as_of(as_of)
    with engine(db).connect() as conn:
        df = queries.trial_balance(conn, when)
    total = int(df["balance_pence"].sum()) if df.height else 0
    if json_out:
        typer.echo(json.dumps({"rows": df.to_dicts(), "total_pence": total}))
        return
    if write_rows(df.to_dicts() + [{"account_type": "TOTAL", "accounts": None, "balance_pence": total}], as_json=False, as_csv=csv_out):
        return
    rows = [[r["account_type"], r["accounts"], pounds(r["balance_pence"])] for r in df.iter_rows(named=True)]
    rows.append(["TOTAL", "", pounds(total)])
    console.print(table("Trial balance", ["type", "accounts", "balance"], rows, {"balance"}))


@app.command("statement")
def statement_cmd(
    client: Annotated[str, typer.Argument(help="Client id")],
    date_from: Annotated[str, typer.Option("--from", help="First London day, YYYY-MM-DD or dd/mm/yyyy")],
    date_to: Annotated[str, typer.Option("--to", help="Last London day, YYYY-MM-DD or dd/mm/yyyy")],
    db: DbOpt = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Also write the statement as CSV here")] = None,
    html_out: Annotated[Path | None, typer.Option("--html", help="Also write the statement as HTML here")] = None,
    xlsx_out: Annotated[Path | None, typer.Option("--xlsx", help="Also write the statement as XLSX here")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write CSV, HTML and XLSX into this folder")] = None,
    json_out: JsonOpt = False,
) -> None:
    """A client's statement of account for a period (opening balance, every item, closing balance)."""
    first, last = parse_day(date_from, "from"), parse_day(date_to, "to")
    if last < first:
        raise UserError(f"the period ends ({last:%d/%m/%Y}) before it starts ({first:%d/%m/%Y})")
    with engine(db).connect() as conn:
        if not queries.client_known(conn, client):
            raise UserError(f"no client {client!r} in the ledger: check the client id (cardholders.csv)")
        st = queries.statement(conn, client, first, last)
    written = [f(st, p) for f, p in ((statements.write_statement_csv, csv_out), (statements.write_statement_html, html_out),
                                     (statements.write_statement_xlsx, xlsx_out)) if p]
    written += list(statements.write_statement(st, out_dir).values()) if out_dir else []
    for path in written:
        tell(path, "Statement written to")
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "client_id": st.client_id,
                    "from": first.isoformat(),
                    "to": last.isoformat(),
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
        [f"{r['london_date']:%d/%m/%Y}", r["entry_type"], r["description"], pounds(r["amount_pence"]), pounds(r["running_balance_pence"])]
        for r in st.items.iter_rows(named=True)
    ]
    rows.append(["", "", "Closing balance", "", pounds(st.closing_pence)])
    console.print(
        table(
            f"Statement of account: client {client}, {first:%d/%m/%Y} to {last:%d/%m/%Y}",
            ["date", "type", "description", "amount", "balance"],
            rows,
            {"amount", "balance"},
        )
    )


@app.command()
def verify(db: DbOpt = None, json_out: JsonOpt = False) -> None:
    """Recompute every ledger invariant; exit 1 with a readable list if any fails."""
    with engine(db).connect() as conn:
        report = verify_ledger(conn)
    if json_out:
        typer.echo(json.dumps(report.as_dict()))
    else:
        console.print(f"Checked {report.entries:,} entries and {report.postings:,} postings.")
        for check in report.checks:
            failed = [p for p in report.problems if p.check == check]
            mark = "[red]FAIL[/red]" if failed else "[green]ok[/green]"
            console.print(f"  {mark}  {esc(check)}")
            for p in failed:
                console.print(Text(f"        - {p.detail}"))
    if not report.ok:
        raise typer.Exit(1)


@export_app.command("beancount")
def export_beancount(
    to: Annotated[Path, typer.Option("--to", help="The .beancount file to write")],
    db: DbOpt = None,
) -> None:
    """Write the ledger as Beancount, with a balance assertion per card per provider statement date."""
    with engine(db).connect() as conn:
        path = write_beancount(conn, to)
    console.print(Text(f"Wrote {path}; check it with: bean-check {path}"))


@app.command("schema-doc")
def schema_doc_cmd(out: Annotated[Path, typer.Option(help="Where to write")] = Path("docs/schema.md")) -> None:
    """Regenerate docs/schema.md from the table declarations."""
    console.print(Text(f"Wrote {schema_doc.write(out)}"))
