"""Admin's pages (users) and the access log (admin and audit).

An admin manages the users of their own councils only, and gives a new user only councils they belong to
themselves. The access log shows the rows of the viewer's councils; opening or exporting it is itself
logged.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from records.reference import council_teams
from workspace import access_log
from workspace.access_log import LogFilters
from workspace.passwords import PasswordError
from workspace.tables import ROLES
from workspace.users import UserError, add_user, disable_user, list_users, set_password
from workspace.web import NotFound, Principal, engine_of, form_of, render, role

router = APIRouter()
LOG_PAGE = 100
Text = Annotated[str, Form(max_length=500)]


def _users_page(request: Request, principal: Principal, *, status: int = 200, error: str | None = None,
                done: str | None = None, new_password: str | None = None) -> Response:
    with engine_of(request).connect() as conn:
        users = list_users(conn, councils=principal.user.councils)
        teams = council_teams(conn, principal.user.councils)
    return render(request, "users.html", status=status, principal=principal, users=users, roles=ROLES, teams=teams,
                  councils=sorted(principal.user.councils), error=error, done=done, new_password=new_password)


@router.get("/admin/users")
def users_page(request: Request, principal: Principal = Depends(role("admin"))) -> Response:
    return _users_page(request, principal)


@router.post("/admin/users")
async def add_user_form(request: Request, principal: Principal = Depends(form_of("admin"))) -> Response:
    form = await request.form()
    chosen_roles = [str(r) for r in form.getlist("roles")]
    councils = [str(c) for c in form.getlist("councils")]
    teams = [tuple(str(t).split("/", 1)) for t in form.getlist("teams") if "/" in str(t)]
    if set(councils) - principal.user.councils:
        return _users_page(request, principal, status=400, error="You can add users only to your own councils.")
    password = secrets.token_urlsafe(12)
    username = str(form.get("username", ""))[:100]
    try:
        with engine_of(request).begin() as conn:
            add_user(conn, username, str(form.get("display_name", ""))[:200], password, roles=chosen_roles,
                     councils=councils, teams=teams, email=str(form.get("email", ""))[:200] or None, actor=principal.user.username)
    except (UserError, PasswordError) as exc:
        return _users_page(request, principal, status=400, error=str(exc))
    return _users_page(request, principal, done=f"User {username.strip().lower()} added.", new_password=password)


def _managed(request: Request, principal: Principal, username: str) -> str:
    """The user, if they belong to one of the admin's councils (else 404, as for one that does not exist)."""
    with engine_of(request).connect() as conn:
        names = {u.username for u in list_users(conn, councils=principal.user.councils)}
    if username not in names:
        raise NotFound()
    return username


@router.post("/admin/users/{username}/disable")
def disable(request: Request, username: str, principal: Principal = Depends(form_of("admin"))) -> Response:
    name = _managed(request, principal, username)
    if name == principal.user.username:
        return _users_page(request, principal, status=400, error="You cannot disable yourself; ask another admin.")
    with engine_of(request).begin() as conn:
        ended = disable_user(conn, name, actor=principal.user.username)
    return _users_page(request, principal, done=f"User {name} disabled; {ended} session(s) ended.")


@router.post("/admin/users/{username}/password")
def new_password(request: Request, username: str, principal: Principal = Depends(form_of("admin"))) -> Response:
    name = _managed(request, principal, username)
    password = secrets.token_urlsafe(12)
    with engine_of(request).begin() as conn:
        set_password(conn, name, password, actor=principal.user.username)
    return _users_page(request, principal, done=f"New password for {name} (any lock lifted, sessions ended).",
                       new_password=password)


def _log_filters(client: str, user: str, date_from: str, date_to: str) -> LogFilters:
    def day(text: str) -> dt.date | None:
        try:
            return dt.date.fromisoformat(text) if text else None
        except ValueError:
            return None

    return LogFilters(client_id=client.strip()[:100] or None, username=user.strip()[:100] or None,
                      date_from=day(date_from), date_to=day(date_to))


def _log_path(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


@router.get("/access-log")
def log_page(request: Request, client: str = "", user: str = "", date_from: str = "", date_to: str = "", page: int = 1,
             principal: Principal = Depends(role("admin", "audit"))) -> Response:
    filters, page = _log_filters(client, user, date_from, date_to), max(page, 1)
    with engine_of(request).begin() as conn:
        rows, total = access_log.read(conn, principal.user.councils, filters, limit=LOG_PAGE, offset=(page - 1) * LOG_PAGE)
        access_log.record(conn, principal.viewer, "access log", _log_path(request))
    return render(request, "access_log.html", principal=principal, rows=rows, total=total, page=page,
                  pages=max((total + LOG_PAGE - 1) // LOG_PAGE, 1), query=request.url.query,
                  raw={"client": client, "user": user, "date_from": date_from, "date_to": date_to})


@router.get("/access-log.csv")
def log_export(request: Request, client: str = "", user: str = "", date_from: str = "", date_to: str = "",
               principal: Principal = Depends(role("admin", "audit"))) -> Response:
    filters = _log_filters(client, user, date_from, date_to)
    with engine_of(request).begin() as conn:
        body = access_log.export_csv(conn, principal.user.councils, filters)
        access_log.record(conn, principal.viewer, "access log export", _log_path(request))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="access-log-{stamp}.csv"'})


@router.get("/admin")
def admin_home(principal: Principal = Depends(role("admin"))) -> Response:
    return RedirectResponse("/admin/users", status_code=303)
