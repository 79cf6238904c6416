"""Signing in and out, the home page, and the account page.

Signing in: the form's CSRF token is bound to a cookie the sign-in page sets (there is no session yet);
the attempt is checked against throttling and lock-out before the password is; a right password starts a
new session (a new id: whatever session the browser held ends) and the browser goes where it was going.
Wrong passwords and unknown names get the same answer, after the same work.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from workspace import navigation
from workspace.formatting import london_time
from workspace.passwords import verify_password
from workspace.sessions import end_session, start_session
from workspace.throttle import FAILED, record_attempt, refusal
from workspace.users import normal_username, password_changed_at, user_for_sign_in
from workspace.web import (
    Principal,
    config_of,
    cookie_names,
    engine_of,
    form_of,
    new_sign_in_cookie,
    now_utc,
    render,
    role,
    sign_in_token,
    signed_in_or_none,
)

router = APIRouter()
WRONG = "That user name and password do not match. Check them and try again."


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never another site (an open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _sign_in_page(request: Request, *, status: int = 200, error: str | None = None, username: str = "",
                  next_path: str | None = None, notice: str | None = None) -> Response:
    config = config_of(request)
    cookie = new_sign_in_cookie()
    response = render(request, "sign_in.html", status=status, principal=None, error=error, notice=notice, username=username,
                      next_path=_safe_next(next_path) or "", sign_in_csrf=sign_in_token(config, cookie),
                      failures_max=config.sign_in_failures_max, lock_minutes=config.lock_minutes)
    response.set_cookie(cookie_names(config)[1], cookie, httponly=True, samesite="strict", secure=config.cookies_secure,
                        path="/", max_age=3600)
    return response


@router.get("/sign-in")
def sign_in_form(request: Request, next: str | None = None, signed_out: int = 0) -> Response:  # noqa: A002
    if (principal := signed_in_or_none(request)) is not None:
        return RedirectResponse(_safe_next(next) or navigation.home_for(principal.user), status_code=303)
    return _sign_in_page(request, next_path=next, notice="You have signed out." if signed_out else None)


@router.post("/sign-in")
def sign_in(request: Request, username: Annotated[str, Form(max_length=200)] = "",
            password: Annotated[str, Form(max_length=1000)] = "", csrf_token: Annotated[str, Form(max_length=200)] = "",
            next: Annotated[str, Form(max_length=2000)] = "") -> Response:  # noqa: A002
    config = config_of(request)
    names = cookie_names(config)
    cookie = request.cookies.get(names[1], "")
    if not cookie or not hmac.compare_digest(csrf_token, sign_in_token(config, cookie)):
        return _sign_in_page(request, status=403, username=username, next_path=next,
                             error="The sign-in form had expired. Please sign in again.")
    name, addr, now = normal_username(username), (request.client.host if request.client else ""), now_utc()
    engine = engine_of(request)
    with engine.connect() as conn:
        found = user_for_sign_in(conn, name)
        refused = refusal(conn, config, name, addr, now=now,
                          reset_at=password_changed_at(conn, found[0].user_id) if found else None)
    if refused is not None:
        with engine.begin() as conn:
            record_attempt(conn, name, addr, refused.outcome, now=now)
        message = refused.message or (
            f"This account is locked after {config.sign_in_failures_max} wrong passwords in a row. You can try again "
            f"after {london_time(refused.until)} (London time), or ask an admin to set a new password."
        )
        return _sign_in_page(request, status=429, error=message, username=username, next_path=next)
    ok = verify_password(found[1] if found else None, password)
    user = found[0] if found else None
    outcome = "signed_in" if ok and user and user.active else ("disabled" if ok else FAILED)
    with engine.begin() as conn:
        record_attempt(conn, name, addr, outcome, now=now)
        if outcome == "signed_in":
            assert user is not None
            token, _ = start_session(conn, config, user.user_id, now=now, replacing=request.cookies.get(names[0]))
    if outcome == "disabled":
        return _sign_in_page(request, status=403, username=username, next_path=next,
                             error="This account has been disabled. Ask an admin if you need it again.")
    if outcome != "signed_in":
        return _sign_in_page(request, status=401, username=username, next_path=next, error=WRONG)
    assert user is not None
    response = RedirectResponse(_safe_next(next) or navigation.home_for(user), status_code=303)
    response.set_cookie(names[0], token, httponly=True, samesite="lax", secure=config.cookies_secure, path="/")
    response.delete_cookie(names[1], path="/")
    return response


@router.post("/sign-out")
def sign_out(request: Request, principal: Principal = Depends(form_of())) -> Response:
    config = config_of(request)
    with engine_of(request).begin() as conn:
        end_session(conn, config, request.cookies.get(cookie_names(config)[0], ""), "signed_out", now=now_utc())
    response = RedirectResponse("/sign-in?signed_out=1", status_code=303)
    response.delete_cookie(cookie_names(config)[0], path="/")
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


@router.get("/")
def home(request: Request, principal: Principal = Depends(role())) -> Response:
    return RedirectResponse(navigation.home_for(principal.user), status_code=303)


@router.get("/account")
def account(request: Request, principal: Principal = Depends(role())) -> Response:
    return render(request, "account.html", principal=principal)


@router.get("/finance")
def finance_home(request: Request, principal: Principal = Depends(role("finance"))) -> Response:
    """Finance's area: its pages (loads, clawback, holds) come with part 2; nothing about a client yet."""
    return render(request, "finance.html", principal=principal)
