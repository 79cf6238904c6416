"""The workspace application: ``create_app(db_url, config)`` gives the ASGI app ``careledger serve`` runs.

Why a factory: tests build one per database with their own settings, the server builds one from the
environment; nothing is read at import time. Errors are pages, never tracebacks: the traceback goes to
the server's log with a reference the page quotes.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from db.engine import get_engine
from workspace.config import WorkspaceConfig
from workspace.pages import admin, auth, cases
from workspace.web import (
    STATIC,
    CsrfRefused,
    NotFound,
    Refused,
    SignInRequired,
    render,
    security_headers,
    templates,
)

log = logging.getLogger("careledger.workspace")


def _error(request: Request, status: int, title: str, message: str) -> Response:
    return render(request, "error.html", status=status, title=title, message=message)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, _exc: SignInRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/sign-in?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(Refused)
    async def refused(request: Request, _exc: Refused) -> Response:
        return _error(request, 403, "Not part of your role",
                      "This page is not part of your role. If you need it, ask an admin to change your roles.")

    @app.exception_handler(NotFound)
    async def not_found(request: Request, _exc: NotFound) -> Response:
        return _error(request, 404, "Not found", "There is nothing here that you can see. Check the address or go back.")

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _exc: CsrfRefused) -> Response:
        return _error(request, 403, "The form could not be accepted",
                      "The form had expired or did not come from this workspace, so nothing was changed. "
                      "Go back, reload the page and try again.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _error(request, 404, "Not found", "There is nothing here that you can see. Check the address or go back.")
        if exc.status_code == 405:
            return _error(request, 405, "Not allowed", "That is not something this page does.")
        return _error(request, exc.status_code, "Something was not right", "The request could not be handled.")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = sorted({str(e.get("loc", ["", "?"])[-1]) for e in exc.errors()})
        return _error(request, 400, "Something in the request was not right",
                      f"Check and try again: {', '.join(fields)}. Nothing was changed.")

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> Response:
        reference = secrets.token_hex(4)
        log.error("workspace error %s on %s %s", reference, request.method, request.url.path, exc_info=exc)
        html = templates.get_template("error.html").render(
            request=request, principal=None, nav=[], csrf_token="", path=request.url.path, title="Something went wrong",
            message=f"Something went wrong on our side and nothing was changed. If it happens again, quote reference {reference}.",
        )
        return HTMLResponse(html, status_code=500, headers=security_headers(request.app.state.config))


def create_app(db_url: str | None, config: WorkspaceConfig) -> FastAPI:
    """The workspace on the database at ``db_url`` (as ``--db``: None = $CARELEDGER_DB_URL or the embedded file)."""
    app = FastAPI(title="careledger workspace", docs_url=None, redoc_url=None, openapi_url=None, debug=False)
    app.state.engine = get_engine(db_url)
    app.state.config = config

    @app.middleware("http")
    async def headers(request: Request, call_next) -> Response:
        response = await call_next(request)
        for name, value in security_headers(config, static=request.url.path.startswith("/static/")).items():
            response.headers.setdefault(name, value)
        return response

    _install_errors(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (auth, cases, admin):
        app.include_router(module.router)
    return app
