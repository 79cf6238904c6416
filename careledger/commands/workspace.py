"""``careledger serve`` (the workspace in a browser) and ``careledger users ...`` (who may sign in)."""

from __future__ import annotations

import getpass
import json
import os
import secrets
import sys
from dataclasses import replace
from typing import Annotated

import typer

from careledger.commands.options import DbOpt, JsonOpt
from careledger.commands.output import console, engine, table
from workspace.config import ENV_PREFIX, ConfigError, load_config
from workspace.demo import ensure_demo_users
from workspace.passwords import PasswordError
from workspace.users import UserError, add_user, describe, disable_user, list_users, set_password

app = typer.Typer()
users_app = typer.Typer(help="Workspace users: add, disable, set-password, list.", no_args_is_help=True)
app.add_typer(users_app, name="users")
ByOpt = Annotated[str, typer.Option("--by", envvar="USER", help="Who is making the change")]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (behind a reverse proxy: 127.0.0.1)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="Demo only: one user per role, passwords printed once")] = False,
    db: DbOpt = None,
) -> None:
    """The workspace: safeguarding leads' cases, the access log and users, in a browser (docs/runbook.md)."""
    # The web stack loads only for this command: importing FastAPI and uvicorn costs every other
    # command about 0.7 s of CPU at start.
    import uvicorn

    from workspace.app import create_app

    try:
        config = load_config(demo=demo)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if demo:
        if not os.environ.get(ENV_PREFIX + "BASE_URL"):
            config = replace(config, base_url=f"http://{host}:{port}")
        try:
            with engine(db).begin() as conn:
                created = ensure_demo_users(conn)
        except UserError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        console.print(table("Demo users (these passwords are shown once; the demo only)", ["user name", "role", "password"],
                            [list(r) for r in created]))
    console.print(f"careledger workspace on http://{host}:{port}/ (base URL {config.base_url}); Ctrl+C stops it.")
    uvicorn.run(create_app(db, config), host=host, port=port, proxy_headers=True,
                forwarded_allow_ips=config.trusted_proxies, server_header=False, log_level="info")


def _password(generate: bool, stdin: bool) -> tuple[str, bool]:
    """(password, shown): from stdin, typed twice, or made up and shown once."""
    if stdin:
        return sys.stdin.readline().rstrip("\n"), False
    if generate or not sys.stdin.isatty():
        return secrets.token_urlsafe(12), True
    first = getpass.getpass("Password for the new user: ")
    if first != getpass.getpass("Again: "):
        typer.echo("error: the two passwords differ", err=True)
        raise typer.Exit(1)
    return first, False


def _run(db: str | None, write) -> object:
    try:
        with engine(db).begin() as conn:
            return write(conn)
    except (UserError, PasswordError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc


@users_app.command("add")
def add_cmd(
    username: Annotated[str, typer.Argument(help="User name, e.g. amina.khan")],
    name: Annotated[str, typer.Option("--name", help="Name as shown in case histories")],
    role: Annotated[list[str], typer.Option("--role", help="safeguarding, audit, finance or admin (repeat for more)")],
    council: Annotated[list[str], typer.Option("--council", help="A council whose data they see (repeat for more)")],
    by: ByOpt,
    team: Annotated[list[str] | None, typer.Option("--team", help="Safeguarding: a team as in cardholders.csv; COUNCIL/TEAM with several councils")] = None,
    email: Annotated[str | None, typer.Option(help="Work e-mail")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input")] = False,
    generate: Annotated[bool, typer.Option("--generate-password", help="Make up a password and print it once")] = False,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Add a user (the first admin of an installation is added here; later ones on the Users page)."""
    teams = [tuple(t.split("/", 1)) if "/" in t else (council[0] if len(council) == 1 else "", t) for t in (team or [])]
    if any(not c for c, _ in teams):
        typer.echo("error: with several councils, give each team as COUNCIL/TEAM", err=True)
        raise typer.Exit(1)
    password, shown = _password(generate, password_stdin)
    user_id = _run(db, lambda conn: add_user(conn, username, name, password, roles=role, councils=council, teams=teams,
                                             email=email, actor=by))
    out = {"user_id": user_id, "username": username.strip().lower(), **({"password": password} if shown else {})}
    if json_out:
        typer.echo(json.dumps(out))
        return
    console.print(f"User {out['username']} added (id {user_id}).")
    if shown:
        console.print(f"Password (shown once): {password}")


@users_app.command("disable")
def disable_cmd(username: str, by: ByOpt, db: DbOpt = None) -> None:
    """Disable a user: they cannot sign in, and their sessions end now."""
    ended = _run(db, lambda conn: disable_user(conn, username, actor=by))
    console.print(f"User {username} disabled; {ended} session(s) ended.")


@users_app.command("set-password")
def set_password_cmd(
    username: str, by: ByOpt,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input")] = False,
    generate: Annotated[bool, typer.Option("--generate-password", help="Make up a password and print it once")] = False,
    db: DbOpt = None,
) -> None:
    """Set a user's password (this also lifts a sign-in lock); their sessions end."""
    password, shown = _password(generate, password_stdin)
    ended = _run(db, lambda conn: set_password(conn, username, password, actor=by))
    console.print(f"Password of {username} set; {ended} session(s) ended." + (f" Password (shown once): {password}" if shown else ""))


@users_app.command("list")
def list_cmd(db: DbOpt = None, json_out: JsonOpt = False) -> None:
    """Every user with roles, councils, teams and whether they are active (never a password hash)."""
    with engine(db).connect() as conn:
        rows = [describe(u) for u in list_users(conn)]
    if json_out:
        typer.echo(json.dumps(rows))
        return
    console.print(table(f"Workspace users ({len(rows)})", ["user", "name", "roles", "councils", "teams", "active"],
                        [[r["username"], r["display_name"], ", ".join(r["roles"]), ", ".join(r["councils"]),
                          ", ".join(r["teams"]), "yes" if r["active"] else "no"] for r in rows]))

