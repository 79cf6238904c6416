"""``careledger screen``, ``evaluate``, ``cases ...`` and ``alerts send``: screening for people and scripts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from careledger.commands.options import DbOpt, JsonOpt
from careledger.commands.output import console, engine
from screening.alerts import send_pending_alerts
from screening.cases import (
    CaseError,
    add_note,
    assign_case,
    change_case,
    list_cases,
    list_suppressions,
    refer_case,
    show_case,
    suppress,
    withdraw_suppression,
)
from screening.evaluate import evaluate as evaluate_findings
from screening.rules import EXTERNAL_RULES, RULE_NAMES
from screening.run import screen_days

ByOpt = Annotated[str, typer.Option("--by", envvar="USER", help="Who is making the change")]


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"expected a date YYYY-MM-DD, got {value!r}") from exc


def _echo_json(obj) -> None:
    typer.echo(json.dumps(obj, default=str, indent=1))


app = typer.Typer()


@app.command()
def screen(
    date_from: Annotated[str, typer.Option("--from", help="First London day, YYYY-MM-DD")],
    date_to: Annotated[str | None, typer.Option("--to", help="Last London day (default: --from)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Record and send nothing; print what would be raised")] = False,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Run the safeguarding rules over days of history and record findings as cases and alerts."""
    start = _day(date_from)
    end = _day(date_to) if date_to else start
    summary = screen_days(db, start, end, dry_run=dry_run)
    if json_out:
        _echo_json(summary)
        return
    console.print(f"Screened {summary['from']} to {summary['to']}: {summary['items_read']:,} items, "
                  f"{summary['clients']:,} clients, {summary['findings_total']} findings in {summary['seconds']} s.")
    t = Table(title="Findings by rule")
    t.add_column("rule")
    t.add_column("findings", justify="right")
    for rule, n in summary["findings_by_rule"].items():
        t.add_row(rule, str(n))
    console.print(t)
    if dry_run:
        for f in summary["would_raise"]:
            console.print(f"[bold]{f['rule']}[/bold] {f['client_id']} {f['london_date']} ({f['severity']}): {f['explanation']}")
        console.print("Dry run: nothing recorded, nothing sent.")
    else:
        console.print("Recorded: " + ", ".join(f"{k} {v}" for k, v in summary["recorded"].items()))


@app.command()
def evaluate(
    ground_truth: Annotated[Path, typer.Argument(help="The simulator's ground_truth.json")],
    db: DbOpt = None,
    tolerance_days: Annotated[int, typer.Option(help="A finding matches a planted case within this many days")] = 3,
    json_out: JsonOpt = False,
) -> None:
    """Score recorded findings against planted cases: recall and precision per rule and overall."""
    result = evaluate_findings(ground_truth, db, tolerance_days=tolerance_days)
    if json_out:
        _echo_json(result)
        return
    t = Table(title=f"Screening vs planted cases ({result['council']}, {result['start']} + {result['days']} days, ±{tolerance_days} days)")
    for c in ("rule", "planted", "found", "recall", "precision"):
        t.add_column(c, justify="left" if c == "rule" else "right")
    fmt = lambda v: "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    for rule, r in result["rules"].items():
        if r["planted"] or r["found"]:
            t.add_row(rule, str(r["planted"]), str(r["found"]), fmt(r["recall"]), fmt(r["precision"]))
    o = result["overall"]
    t.add_row("OVERALL", str(o["planted"]), str(o["found"]), fmt(o["recall"]), fmt(o["precision"]))
    console.print(t)
    for m in result["missed"][:30]:
        console.print(f"missed: {m['rule']} {m['client_id']} {m['date']} {m['description']}")
    for m in result["false_positives"][:30]:
        console.print(f"false positive: {m['rule']} {m['client_id']} {m['date']}")


cases_app = typer.Typer(help="Safeguarding cases: list, show, ack, assign, note, refer, close, suppress, unsuppress.", no_args_is_help=True)
app.add_typer(cases_app, name="cases")


def _record(db: str | None, json_out: bool, write, say) -> None:
    """Run one recorded decision (``write(conn)``) in its own transaction; a refused one
    (CaseError: no reason, no name, wrong state) exits 1 with the reason and changes nothing."""
    try:
        with engine(db).begin() as conn:
            result = write(conn)
    except CaseError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if json_out:
        _echo_json(result)
    else:
        console.print(say(result))


def _change(case_id: int, action: str, by: str, note: str | None, outcome: str | None, db: str | None, json_out: bool) -> None:
    _record(
        db, json_out,
        lambda conn: change_case(conn, case_id, action, actor=by, note=note, outcome=outcome),
        lambda r: f"Case {case_id}: {r['from']} -> {r['to']}" + (f" ({outcome})" if outcome else ""),
    )


@cases_app.command("list")
def list_cmd(
    status: Annotated[str | None, typer.Option(help="open, acknowledged, referred or closed")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only open, acknowledged or referred cases")] = False,
    client: Annotated[str | None, typer.Option(help="Client id")] = None,
    rule: Annotated[str | None, typer.Option(help="Rule name")] = None,
    council: Annotated[str | None, typer.Option(help="Council name")] = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List cases."""
    with engine(db).connect() as conn:
        rows = list_cases(conn, status=status, client_id=client, rule=rule, council=council, open_only=open_only)
    if json_out:
        _echo_json(rows)
        return
    t = Table(title=f"Safeguarding cases ({len(rows)})")
    for c in ("case", "council", "client", "rule", "status", "severity", "opened", "last finding", "findings", "outcome"):
        t.add_column(c)
    for r in rows:
        t.add_row(str(r["case_id"]), r["council"], r["client_id"], r["rule"], r["status"], r["severity"], str(r["opened_on"]),
                  str(r["last_finding_on"]), str(r["findings"]), r["outcome"] or "")
    console.print(t)


@cases_app.command("show")
def show_cmd(case_id: int, db: DbOpt = None, json_out: JsonOpt = False) -> None:
    """A case with its findings, alerts and full history."""
    try:
        with engine(db).connect() as conn:
            data = show_case(conn, case_id)
    except CaseError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if json_out:
        _echo_json(data)
        return
    c = data["case"]
    console.print(f"[bold]Case {c['case_id']}[/bold] {c['rule']} - client {c['client_id']} ({c['council']}): {c['status']}, "
                  f"{c['severity']}; opened {c['opened_on']}, last finding {c['last_finding_on']}")
    console.print(f"  {c['explanation']}")
    if c["outcome"]:
        console.print(f"  outcome: {c['outcome']} - {c['note']}")
    console.print(f"  evidence: {c['evidence']}")
    for f in data["findings"]:
        console.print(f"  finding {f['finding_id']} {f['london_date']}: {f['explanation']}")
    for a in data["alerts"]:
        console.print(f"  alert {a['alert_id']} to {a['recipient']}: {a['status']} {a['sent_at'] or ''}")
    for e in data["events"]:
        console.print(f"  {e['at']} {e['actor']}: {e['action']} {e['from_status'] or ''}->{e['to_status'] or ''} {e['outcome'] or ''} {e['note'] or ''}")


@cases_app.command("ack")
def ack_cmd(case_id: int, by: ByOpt, note: Annotated[str | None, typer.Option()] = None, db: DbOpt = None, json_out: JsonOpt = False) -> None:
    """Acknowledge a case (someone is looking at it)."""
    _change(case_id, "acknowledged", by, note, None, db, json_out)


@cases_app.command("refer")
def refer_cmd(
    case_id: int,
    by: ByOpt,
    to: Annotated[str | None, typer.Option("--to", help="Whom it is referred to, e.g. 'Adult Social Care safeguarding team'")] = None,
    note: Annotated[str | None, typer.Option()] = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Refer a case on (e.g. to the safeguarding adults team); --to says to whom, as the workspace asks."""
    if to is None:
        _change(case_id, "referred", by, note, None, db, json_out)
        return
    _record(db, json_out, lambda conn: refer_case(conn, case_id, to, note, actor=by),
            lambda r: f"Case {case_id}: {r['from']} -> {r['to']} (referred to {to})")

@cases_app.command("assign")
def assign_cmd(
    case_id: int,
    by: ByOpt,
    to: Annotated[str | None, typer.Option("--to", help="Workspace user name; leave out to give it back to the team")] = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Assign an open case to one person (a workspace user name), or back to the team."""
    _record(db, json_out, lambda conn: assign_case(conn, case_id, to, actor=by),
            lambda r: f"Case {case_id}: assigned to {r['assigned_to'] or 'the team'}")

@cases_app.command("note")
def note_cmd(case_id: int, note: Annotated[str, typer.Option(help="The note")], by: ByOpt, db: DbOpt = None,
             json_out: JsonOpt = False) -> None:
    """Add a note to a case's history."""
    _record(db, json_out, lambda conn: add_note(conn, case_id, note, actor=by), lambda r: f"Case {case_id}: note added")


@cases_app.command("close")
def close_cmd(
    case_id: int,
    outcome: Annotated[str, typer.Option(help="confirmed, false_positive or no_action_needed")],
    note: Annotated[str, typer.Option(help="What was found")],
    by: ByOpt,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Close a case with an outcome and a note."""
    _change(case_id, "closed", by, note, outcome, db, json_out)


@cases_app.command("suppress")
def suppress_cmd(
    client: Annotated[str, typer.Argument(help="Client id")],
    rule: Annotated[str, typer.Argument(help="Rule name")],
    until: Annotated[str, typer.Option("--until", help="Last London day it applies, YYYY-MM-DD")],
    reason: Annotated[str, typer.Option("--reason", help="Why")],
    by: ByOpt,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Silence one rule for one client until a date (findings are still kept)."""
    if rule not in RULE_NAMES + EXTERNAL_RULES:
        raise typer.BadParameter(f"unknown rule {rule!r}; known: {', '.join(RULE_NAMES + EXTERNAL_RULES)}")
    _record(
        db, json_out,
        lambda conn: {"suppression_id": suppress(conn, client, rule, _day(until), reason, actor=by)},
        lambda r: f"Suppression {r['suppression_id']}: {rule} for {client} until {until} ({reason}).",
    )


@cases_app.command("suppressions")
def suppressions_cmd(
    client: Annotated[str | None, typer.Option(help="Client id")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include withdrawn suppressions")] = False,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List suppressions (active ones unless --all)."""
    with engine(db).connect() as conn:
        rows = list_suppressions(conn, client_id=client, active_only=not all_)
    if json_out:
        _echo_json(rows)
        return
    t = Table(title=f"Suppressions ({len(rows)})")
    for c in ("id", "client", "rule", "until", "reason", "by", "active", "withdrawn by", "why withdrawn"):
        t.add_column(c)
    for r in rows:
        t.add_row(str(r["suppression_id"]), r["client_id"], r["rule"], str(r["until_date"]), r["reason"], r["created_by"],
                  "yes" if r["active"] else "no", r["withdrawn_by"] or "", r["withdrawn_reason"] or "")
    console.print(t)


@cases_app.command("unsuppress")
def unsuppress_cmd(
    suppression_id: Annotated[int, typer.Argument(help="Suppression id (see `cases suppressions`)")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is withdrawn")],
    by: ByOpt,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Withdraw a suppression: the rule alerts for the client again from the next screening."""
    _record(
        db, json_out,
        lambda conn: withdraw_suppression(conn, suppression_id, reason, actor=by),
        lambda r: f"Suppression {suppression_id} ({r['rule']} for {r['client_id']}) withdrawn.",
    )


alerts_app = typer.Typer(help="Safeguarding alert e-mails.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("send")
def send_cmd(
    outbox: Annotated[Path | None, typer.Option(help="Also write each message here as .eml")] = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Send every pending alert once (SMTP settings from CARELEDGER_SMTP_* or Airflow's smtp_default)."""
    summary = send_pending_alerts(db, outbox_dir=outbox)
    if json_out:
        _echo_json(summary)
    else:
        console.print(", ".join(f"{k} {v}" for k, v in summary.items()))
