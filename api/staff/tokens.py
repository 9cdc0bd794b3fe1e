"""Personal API tokens: each staff member makes their own for scripts; the secret is shown once.

A token may be given a lifetime in days (empty: until revoked); a new password revokes them all
(``archive.access.accounts.set_password``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Editor, Principal, client_ip, require_editor
from api.deps import RowId, SessionDep
from api.staff.web import back, render
from archive import audit
from archive.access import accounts
from archive.models import ApiToken

router = APIRouter(
    prefix="/staff",
    tags=["staff pages"],
    include_in_schema=False,
    dependencies=[Depends(require_editor)],
)


def _page(
    request: Request, db: Session, staff: Principal, new_secret: str | None = None
) -> Response:
    tokens = list(
        db.scalars(
            select(ApiToken).where(ApiToken.user_id == staff.user.id).order_by(ApiToken.id.desc())
        )
    )
    # Like every staff page it is sent with Cache-Control: no-store, so the secret is not kept.
    return render(request, "staff/tokens.html", staff, tokens=tokens, new_secret=new_secret)


@router.get("/tokens", response_class=HTMLResponse)
def tokens(request: Request, db: SessionDep, staff: Editor) -> Response:
    return _page(request, db, staff)


@router.post("/tokens", response_class=HTMLResponse)
def create(
    request: Request,
    db: SessionDep,
    staff: Editor,
    name: Annotated[str, Form(max_length=200)],
    days: Annotated[int | None, Form(ge=1, le=3650, description="empty: until revoked")] = None,
) -> Response:
    secret, row = accounts.create_token(db, staff.user, name, lifetime_days=days)
    ip = client_ip(request)
    audit.record(db, staff.user, "token_create", "token", row.id, ip=ip, name=name, days=days)
    db.commit()
    return _page(request, db, staff, new_secret=secret)


@router.post("/tokens/{token_id}/revoke")
def revoke(request: Request, db: SessionDep, staff: Editor, token_id: RowId) -> Response:
    row = accounts.revoke_token(db, staff.user, token_id)
    if row is None:
        raise HTTPException(404, "no such token")
    audit.record(db, staff.user, "token_revoke", "token", token_id, ip=client_ip(request))
    db.commit()
    return back("/staff/tokens", "revoked")
