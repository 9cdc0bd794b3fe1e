"""Signing in and out of the staff pages.

The login form is the one staff form an anonymous browser posts, so its CSRF proof is a
double-submit token: a random value in a SameSite=Strict cookie that the form must repeat.
Failed attempts are counted per (e-mail, client address), per client address and, as a slower
backstop, per e-mail (archive.access.accounts.LoginLimits); over a limit, even a right password is
refused until the window passes (so guessing cannot continue behind a success). A throttled
client is written to the audit log once per window, not once per request.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Editor,
    client_ip,
    current_principal,
)
from api.deps import SessionDep, SettingsDep
from api.staff.web import Email, Password, private
from archive import audit
from archive.access import accounts
from web.i18n import gettext as _
from web.templating import templates

router = APIRouter(prefix="/staff", tags=["staff pages"], include_in_schema=False)


def _secure(request: Request) -> bool:
    """Over https (directly, or behind a proxy uvicorn trusts), or when the public address is."""
    settings = request.app.state.settings
    return request.url.scheme == "https" or settings.site_url.startswith("https://")


def _safe_next(value: str) -> str:
    """Only a path of our own staff area: never another site (open redirect)."""
    if value.startswith("/staff") and not value.startswith("//") and "\\" not in value:
        return value
    return "/staff"


def _form(request: Request, next_url: str, error: str | None, status: int) -> Response:
    token = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        "staff/login.html",
        {"next": next_url, "error": error, "csrf_field": CSRF_FIELD, "csrf": token},
        status_code=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/staff/login",
    )
    return private(response)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, db: SessionDep, next: str = "/staff") -> Response:
    if current_principal(request, db) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _form(request, _safe_next(next), None, 200)


@router.post("/login")
def login(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    email: Email,
    password: Password,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/staff",
) -> Response:
    target = _safe_next(next)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), csrf_token.encode()):
        message = _("The form expired or cookies are off. Please try again.")
        return _form(request, target, message, 403)
    ip = client_ip(request)
    limits = accounts.LoginLimits.of(settings)
    if accounts.too_many_attempts(db, email, ip, limits):
        audit.record_once(
            db, "login_throttled", limits.window_s, ip=ip, email=accounts.normalize_email(email)
        )
        db.commit()
        minutes = max(1, settings.login_window_s // 60)
        message = _("Too many failed attempts. Try again in %(minutes)s minutes.") % {
            "minutes": minutes
        }
        return _form(request, target, message, 429)
    user = accounts.authenticate(db, email, password)
    if user is None:
        accounts.record_failure(db, email, ip, limits)
        audit.record(db, None, "login_failed", "user", None, ip=ip, email=email[:320])
        db.commit()
        return _form(request, target, _("Wrong e-mail or password."), 401)
    accounts.clear_failures(db, email, ip)
    secret, _row = accounts.start_session(db, user, settings.session_lifetime_s)
    audit.record(db, user, "login", "user", user.id, ip=ip)
    db.commit()
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=settings.session_lifetime_s,
        httponly=True,
        secure=_secure(request),
        samesite="lax",
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/staff/login")
    return response


@router.post("/logout")
def logout(request: Request, db: SessionDep, staff: Editor) -> Response:
    """Ends this session only (other devices stay signed in)."""
    accounts.end_session(db, request.cookies.get(SESSION_COOKIE, ""))
    audit.record(db, staff.user, "logout", "user", staff.user.id, ip=client_ip(request))
    db.commit()
    response = RedirectResponse("/staff/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
