"""Who is asking: a web session (cookie) or a personal API token (bearer), and may they?

Every staff route depends on ``require_editor`` or ``require_admin`` at router level, so a route
cannot be added to a staff router without protection. Requests authenticated by the session
cookie must also prove they come from our own pages (CSRF): state-changing requests carry the
session's synchronizer token as a form field or an ``X-CSRF-Token`` header. Bearer-token requests
need no such proof — a browser never attaches a bearer token on its own.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status

from api.deps import SessionDep
from archive.access import accounts
from archive.audit import Actor
from archive.models import User, UserSession

SESSION_COOKIE = "ashyq_session"
LOGIN_CSRF_COOKIE = "ashyq_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Principal:
    user: User
    # None when the request came with an API token.
    login: UserSession | None

    @property
    def csrf_token(self) -> str:
        return self.login.csrf_token if self.login else ""


class LoginRequired(Exception):
    """An anonymous browser asked for a staff page: send it to the login form."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def login_url(next_url: str) -> str:
    return f"/staff/login?next={quote(next_url, safe='/')}"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.endswith(".json")


def current_principal(request: Request, db: SessionDep) -> Principal | None:
    """The user behind this request, or None. A bearer header, when present, is the only
    credential considered (a wrong token is not rescued by a cookie)."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        user = accounts.user_for_token(db, secret.strip())
        return Principal(user, None) if user else None
    login = accounts.session_for(db, request.cookies.get(SESSION_COOKIE, ""))
    return Principal(login.user, login) if login else None


def _authenticated(
    request: Request, principal: Annotated[Principal | None, Depends(current_principal)]
) -> Principal:
    if principal is not None:
        return principal
    if _wants_json(request) or request.method not in SAFE_METHODS:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "sign in or send a personal API token (Authorization: Bearer …)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise LoginRequired(target)


async def verify_csrf(request: Request, principal: Principal) -> None:
    """Refuse a state-changing, cookie-authenticated request without this session's token."""
    if request.method in SAFE_METHODS or principal.login is None:
        return
    given = request.headers.get(CSRF_HEADER, "")
    content_type = request.headers.get("content-type", "")
    if not given and content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        given = str(form.get(CSRF_FIELD) or "")
    if not given or not hmac.compare_digest(given.encode(), principal.csrf_token.encode()):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "the form's security token is missing or out of date: reload the page and try again",
        )


async def require_editor(
    request: Request, principal: Annotated[Principal, Depends(_authenticated)]
) -> Principal:
    """Any staff member (editors and admins), with CSRF checked for cookie sessions."""
    await verify_csrf(request, principal)
    return principal


async def require_admin(principal: Annotated[Principal, Depends(require_editor)]) -> Principal:
    if not principal.user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only administrators may do this")
    return principal


Editor = Annotated[Principal, Depends(require_editor)]
Admin = Annotated[Principal, Depends(require_admin)]


def _actor(staff: Editor, request: Request) -> Actor:
    """Who asks a service for something, as the services log it (``archive.audit.Actor``) and
    judge it (only admins name a body that does not exist yet)."""
    return Actor(staff.user, client_ip(request))


ActorDep = Annotated[Actor, Depends(_actor)]
