"""What every page shares: who is signed in, what their role lets them open, CSRF, rendering, headers.

Why dependencies and not checks inside each page: a page declares what it needs
(``Depends(role("safeguarding"))``, ``Depends(form_of("safeguarding"))`` for a form) and cannot forget a
check. Signed out -> the sign-in page; signed in without the role -> 403 "not part of your role"; a record
outside the user's councils or teams -> 404 "not found" (``NotFound``), so nobody learns what exists.
Every form carries the session's CSRF token; a POST without the right one is refused before it is read.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine

from records.reference import team_clients
from screening.queue import Scope
from workspace import navigation
from workspace.access_log import Viewer
from workspace.config import WorkspaceConfig
from workspace.formatting import FILTERS
from workspace.sessions import Session, current_session
from workspace.users import User, load_user

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
SESSION_COOKIE, SIGN_IN_COOKIE = "careledger_session", "careledger_sign_in"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")

templates = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
templates.filters.update(FILTERS)


class SignInRequired(Exception):
    """No live session: the sign-in page, then back here."""


class Refused(Exception):
    """Signed in, but this page is not part of any of the user's roles (403)."""


class NotFound(Exception):
    """No such record within what the user may see (404: the same whether it exists elsewhere or not)."""


class CsrfRefused(Exception):
    """A form without this session's token (403): sent from elsewhere, or from a page older than the session."""


@dataclass(frozen=True)
class Principal:
    """The signed-in user, their session, and the role the current page is opened under."""

    user: User
    session: Session
    role: str = ""

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.user.user_id, self.user.username, self.role)

    def case_scope(self) -> Scope:
        """A safeguarding lead's scope: their teams' clients, in their councils."""
        teams = [(c, t) for c, t in self.user.teams if c in self.user.councils]
        return Scope(councils=self.user.councils, clients=team_clients(teams))


def cookie_names(config: WorkspaceConfig) -> tuple[str, str]:
    """``__Host-`` names when cookies are Secure: the browser then refuses them from any other origin or path."""
    if config.cookies_secure:
        return f"__Host-{SESSION_COOKIE}", f"__Host-{SIGN_IN_COOKIE}"
    return SESSION_COOKIE, SIGN_IN_COOKIE


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


def config_of(request: Request) -> WorkspaceConfig:
    return request.app.state.config


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def signed_in_or_none(request: Request) -> Principal | None:
    """The signed-in user for this request, or None (looked up once per request)."""
    if hasattr(request.state, "principal"):
        return request.state.principal
    config = config_of(request)
    token = request.cookies.get(cookie_names(config)[0])
    principal = None
    if token:
        with engine_of(request).begin() as conn:
            session = current_session(conn, config, token, now=now_utc())
            user = load_user(conn, session.user_id) if session else None
        if session and user and user.active:
            principal = Principal(user, session)
    request.state.principal = principal
    return principal


def signed_in(request: Request) -> Principal:
    principal = signed_in_or_none(request)
    if principal is None:
        raise SignInRequired()
    return principal


def role(*names: str):
    """A dependency: signed in with one of these roles (the first the user has is the page's role);
    no names: signed in with any role."""

    def dependency(principal: Principal = Depends(signed_in)) -> Principal:
        if not names:
            return principal
        for name in names:
            if principal.user.has(name):
                return Principal(principal.user, principal.session, name)
        raise Refused()

    return dependency


def form_of(*names: str):
    """A dependency for a form's POST: ``role(*names)`` and the session's CSRF token in the form."""
    needs_role = role(*names)

    async def dependency(request: Request, principal: Principal = Depends(needs_role)) -> Principal:
        form = await request.form()
        sent = form.get("csrf_token")
        if not isinstance(sent, str) or not hmac.compare_digest(sent, principal.session.csrf_token):
            raise CsrfRefused()
        return principal

    return dependency


def sign_in_token(config: WorkspaceConfig, cookie_value: str) -> str:
    """The sign-in form's CSRF token, bound to the browser's sign-in cookie (there is no session yet)."""
    return hmac.new(config.secret_key.encode(), b"sign-in:" + cookie_value.encode(), "sha256").hexdigest()


def new_sign_in_cookie() -> str:
    return secrets.token_urlsafe(32)


def security_headers(config: WorkspaceConfig, *, static: bool = False) -> dict[str, str]:
    """Headers on every response: a CSP with no inline script, no framing, no referrer, no sniffing;
    pages are not cached (they hold personal data); HSTS once served over HTTPS."""
    headers = {
        "Content-Security-Policy": CSP,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "Cache-Control": "public, max-age=3600" if static else "no-store",
    }
    if config.cookies_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def render(request: Request, template: str, *, status: int = 200, principal: Principal | None = None, **context: Any) -> HTMLResponse:
    """A page from ``templates/``, with the layout's navigation for the signed-in user."""
    who = principal if principal is not None else getattr(request.state, "principal", None)
    html = templates.get_template(template).render(
        request=request, principal=who, nav=navigation.items_for(who.user if who else None),
        csrf_token=who.session.csrf_token if who else "", path=request.url.path, **context,
    )
    return HTMLResponse(html, status_code=status)
