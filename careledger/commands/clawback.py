"""Commands for clawback: ``careledger clawback`` and ``careledger contributions``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from careledger.commands.options import DbOpt, JsonOpt
from careledger.commands.output import UserError, console, esc, parse_day, pounds, require_database
from clawback import run
from clawback.contributions import run_contributions

app = typer.Typer()


@app.command()
def clawback(
    week: Annotated[str, typer.Option(help="ISO week, e.g. 2026-W10")],
    approve: Annotated[bool, typer.Option("--approve", help="Approve the computed schedule and issue unload instructions")] = False,
    by: Annotated[str | None, typer.Option("--by", help="Name of the person approving (with --approve)")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the schedule and instruction files")] = Path("out/clawback"),
    council: Annotated[str | None, typer.Option(help="Only this council (default: every council)")] = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Weekly clawback: compute the schedule for finance (XLSX + CSV), or approve it and write
    the per-provider unload instruction files."""
    require_database(db)
    try:
        if approve:
            if not by:
                import getpass

                by = getpass.getuser()
            result = run.approve(db, week, out, by, council=council)
        else:
            result = run.compute_schedule(db, week, out, council=council)
    except ValueError as exc:
        raise UserError(str(exc), exit_code=2) from exc
    if json_out:
        typer.echo(json.dumps(result, default=str))
        return
    for name, c in result["councils"].items():
        if approve:
            console.print(
                f"[bold]{esc(name)} {week}[/bold]: {c['status']}"
                + (f" by {c.get('approved_by')}; {c['issued']} instruction(s) issued now, "
                   f"{c.get('instructions', 0)} in all, {pounds(c.get('amount_pence', 0))}" if c["status"] != "not_computed" else "")
            )
            for p, path in (c.get("files") or {}).items():
                console.print(Text(f"  provider {p}: {path}"))
            if c.get("message"):
                console.print(Text(f"  {c['message']}"))
            continue
        console.print(
            f"[bold]{esc(name)} {week}[/bold] (clawback day {c['run_date']}, balances at end of {c['as_of']}; {c['status']}"
            f"{', unchanged' if not c['changed'] else ''}): {c['lines']} cards, {c['lines_to_recover']} to recover "
            f"{pounds(c['total_to_recover_pence'])}, {c['lines_excluded']} excluded, client excess "
            f"{pounds(c['total_client_excess_pence'])}"
        )
        share = c["scheduled_share_of_week_loads"]
        console.print(
            f"  loads in the 7 days to {c['as_of']} {pounds(c['loads_week_pence'])}; scheduled share "
            f"{'n/a' if share is None else f'{share:.1%}'}; unloads posted this week {pounds(c['recovered_week_pence'])}"
        )
        m = c["unload_matching"]
        console.print(f"  unloads matched {m['matched']}, waiting {m['waiting']}, overdue {m['overdue']}")
        for k, path in c["files"].items():
            console.print(Text(f"  {k}: {path}"))
        if c.get("note"):
            console.print(Text(f"  note: {c['note']}"))


@app.command()
def contributions(
    week: Annotated[str, typer.Option(help="ISO week, e.g. 2026-W10")],
    council: Annotated[str | None, typer.Option(help="Only this council (default: every council)")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Count money dated up to this day, YYYY-MM-DD or dd/mm/yyyy (the weekly run's day)")] = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Contributions expected vs received for a week: arrears, overpayments, missed weeks."""
    require_database(db)
    try:
        result = run_contributions(db, week, council=council, as_of=parse_day(as_of, "as-of") if as_of else None)
    except ValueError as exc:
        raise UserError(str(exc), exit_code=2) from exc
    if json_out:
        typer.echo(json.dumps(result, default=str))
        return
    for name, c in result["councils"].items():
        console.print(
            f"[bold]{esc(name)} {week}[/bold]: {c['net_clients']} net / {c['gross_clients']} gross clients; "
            f"expected {pounds(c['expected_pence'])}, received {pounds(c['received_pence'])}; "
            f"{c['clients_in_arrears']} in arrears ({pounds(c['arrears_pence'])}), {c['clients_overpaid']} overpaid "
            f"({pounds(c['overpaid_pence'])}); {c['clients_missed_this_week']} missed this week; exceptions raised "
            f"{c['exceptions']['raised']}, carried {c['exceptions']['carried']}, resolved {c['exceptions']['resolved']}"
        )
    f = result["findings"]
    if f["count"]:
        console.print(
            f"{f['count']} contributions_stopped finding(s) "
            + ("handed to screening" if f.get("recorded") else f"NOT recorded: {esc(str(f.get('reason')))}")
        )
