"""Commands for reconciliation: ``careledger reconcile`` and ``careledger exceptions list|resolve``."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from typing import Annotated

import typer
from rich.text import Text

from careledger.commands.options import CsvOpt, DbOpt, JsonOpt
from careledger.commands.output import (
    UserError,
    console,
    engine,
    parse_day,
    pounds,
    print_list,
    require_database,
    table,
    write_rows,
)
from reconciliation.exceptions import STATUSES, list_exceptions, resolve_exception
from reconciliation.run import reconcile_day

app = typer.Typer()


@app.command()
def reconcile(
    date: Annotated[str, typer.Option("--date", help="The London day to reconcile, YYYY-MM-DD")],
    providers: Annotated[str, typer.Option(help="Providers whose files are expected each day, comma-separated")] = "A,B,C",
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Reconcile a day: files arrived, card balances to the penny, loads against the schedule, funding totals."""
    require_database(db)
    expected = tuple(p.strip() for p in providers.split(",") if p.strip())
    summary = reconcile_day(db, parse_day(date, "date"), expected_providers=expected)
    if json_out:
        typer.echo(json.dumps(summary, default=str))
        return
    console.print(
        Text(f"Reconciled {summary['day']} (window from {summary['window_from']}; balances checked for "
        f"{len(summary['balance_days_checked'])} day(s)) in {summary['seconds']} s: "
        f"{summary['raised']} new exception(s), {summary['resolved']} closed.")
    )
    rows = [[k, v["found"], v["raised"], v["carried"], v["resolved"]] for k, v in summary["checks"].items()]
    console.print(table("Checks", ["check", "found", "new", "carried", "closed"], rows))
    rows = [[k, v] for k, v in summary["open_by_type"].items()]
    console.print(table("Open exceptions by type", ["type", "open"], rows))
    rows = [
        [f["council"], f["loads"], pounds(f["loaded_pence"]), pounds(f["returned_pence"]), pounds(f["unloaded_pence"]),
         pounds(f["net_from_council_pence"])]
        for f in summary["funding"]
    ]
    console.print(
        table(f"Funding on {summary['day']}", ["council", "loads", "loaded", "returned", "unloaded", "net from council"], rows,
               {"loaded", "returned", "unloaded", "net from council"})
    )


exc_app = typer.Typer(help="The exceptions register: list and resolve.", no_args_is_help=True)
app.add_typer(exc_app, name="exceptions")


@exc_app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option(help="open, explained or resolved (comma-separated)")] = None,
    council: Annotated[str | None, typer.Option(help="Only this council's exceptions")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Ages on this run day (default: the latest reconciled day)")] = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
    csv_out: CsvOpt = False,
) -> None:
    """List exceptions, oldest first, with their age in days on a run day (never the wall clock)."""
    statuses = tuple(s.strip() for s in status.split(",")) if status else None
    for s in statuses or ():
        if s not in STATUSES:
            raise typer.BadParameter(f"status must be one of {', '.join(STATUSES)}, got {s!r}")
    with engine(db).connect() as conn:
        df = list_exceptions(conn, status=statuses, council=council)
    day = parse_day(as_of, "as-of") if as_of else (df["last_seen"].max() if df.height else None)
    records = [{**r, "age_days": _age_days(r, day)} for r in df.to_dicts()]
    if write_rows(records, as_json=json_out, as_csv=csv_out):
        return
    rows = [
        [r["exception_id"], r["exception_type"], r["status"], r["council"] or "(all)", r["client_id"] or "",
         _day_text(r["london_date"]), _day_text(r["first_seen"]), r["age_days"],
         pounds(r["difference_pence"] if r["difference_pence"] is not None else r["amount_pence"]), r["explanation"] or ""]
        for r in records
    ]
    title = f"Exceptions ({df.height})" + (f", ages on {day:%d/%m/%Y}" if day else "")
    print_list(title, ["id", "type", "status", "council", "client", "day", "first seen", "age", "amount", "what"], rows, {"amount"})


def _age_days(row: dict, day: dt.date | None) -> int | None:
    """Days from first seen to ``day``; a resolved exception stops ageing on the day it was resolved."""
    if day is None:
        return None
    end = min(day, row["resolved_on"]) if row.get("resolved_on") else day
    return max(0, (end - row["first_seen"]).days)


def _day_text(day: dt.date | None) -> str:
    return f"{day:%d/%m/%Y}" if day else ""


@exc_app.command("resolve")
def resolve_cmd(
    exception_id: Annotated[int, typer.Argument(help="The exception's id (from `exceptions list`)")],
    note: Annotated[str, typer.Option("--note", help="Why: what was found, what was done")],
    explained: Annotated[bool, typer.Option("--explained", help="Mark explained (still visible) instead of resolved")] = False,
    by: Annotated[str | None, typer.Option(help="Who decided (default: your user name)")] = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record a person's decision on an exception, with a note."""
    status = "explained" if explained else "resolved"
    try:
        with engine(db).begin() as conn:
            resolve_exception(conn, exception_id, note=note, by=by or getpass.getuser(), on=dt.date.today(), status=status)
    except (LookupError, ValueError) as exc:
        raise UserError(str(exc)) from exc
    if json_out:
        typer.echo(json.dumps({"exception_id": exception_id, "status": status}))
    else:
        console.print(Text(f"Exception {exception_id} marked {status}."))
