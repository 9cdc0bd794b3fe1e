"""Admin pages: staff accounts, bodies, speakers and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Admin, Principal, client_ip, require_admin
from api.deps import RowId, SessionDep
from api.staff.web import Email, Password, back, render
from archive import audit
from archive.access import accounts
from archive.models import ROLES, Body, Speaker, User
from workers.services.submit import SLUG

router = APIRouter(
    prefix="/staff/admin",
    tags=["staff admin"],
    include_in_schema=False,
    dependencies=[Depends(require_admin)],
)

Text = Annotated[str, Form(max_length=255)]
# A row chosen in a form: its id, or empty for none (a new row, no body).
FormId = Annotated[str, Form(max_length=20)]


# Users --------------------------------------------------------------------------------------------


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, db: SessionDep, staff: Admin) -> HTMLResponse:
    rows = list(db.scalars(select(User).order_by(User.id)))
    return render(request, "staff/users.html", staff, rows=rows, roles=ROLES)


@router.post("/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    db: SessionDep,
    staff: Admin,
    email: Email,
    password: Password,
    role: Annotated[str, Form(max_length=20)],
) -> Response:
    try:
        user = accounts.create_user(db, email, password, role)
    except accounts.AccountError as exc:
        db.rollback()
        rows = list(db.scalars(select(User).order_by(User.id)))
        return render(
            request, "staff/users.html", staff, 400, rows=rows, roles=ROLES, error=str(exc)
        )
    audit.record(db, staff.user, "user_create", "user", user.id, ip=client_ip(request), role=role)
    db.commit()
    return back("/staff/admin/users", "created")


@router.post("/users/{user_id}")
def update_user(
    request: Request,
    db: SessionDep,
    staff: Admin,
    user_id: RowId,
    role: Annotated[str, Form(max_length=20)],
    active: Annotated[bool, Form()] = False,
) -> Response:
    user = db.get(User, user_id)
    if user is None:
        raise HTTPException(404, "no such user")
    if role not in ROLES:
        raise HTTPException(400, f"role must be one of {', '.join(ROLES)}")
    if user.id == staff.user.id and (role != "admin" or not active):
        raise HTTPException(409, "you cannot demote or deactivate yourself")
    before = {"role": user.role, "active": user.active}
    user.role, user.active = role, active
    if not active:
        accounts.end_all_sessions(db, user.id)
    audit.record(
        db,
        staff.user,
        "user_update",
        "user",
        user.id,
        ip=client_ip(request),
        before=before,
        after={"role": role, "active": active},
    )
    db.commit()
    return back("/staff/admin/users", "saved")


# Bodies and speakers ------------------------------------------------------------------------------


def _names(name: str, name_kk: str, name_ru: str, name_en: str) -> dict[str, str | None]:
    name = name.strip() or name_kk.strip() or name_ru.strip() or name_en.strip()
    if not name:
        raise HTTPException(400, "give at least one name")
    return {
        "name": name,
        "name_kk": name_kk.strip() or None,
        "name_ru": name_ru.strip() or None,
        "name_en": name_en.strip() or None,
    }


def _slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not SLUG.match(slug):
        raise HTTPException(400, "the slug must be lowercase letters, digits and '-'")
    return slug


@dataclass(frozen=True)
class Naming:
    """The slug and names a body or speaker form sends, as typed."""

    slug: str
    name: str
    name_kk: str
    name_ru: str
    name_en: str

    def apply(self, row: Body | Speaker) -> None:
        """Give ``row`` the slug and names; a slug that is not one, or no name at all, is a 400."""
        row.slug = _slug(self.slug)
        for key, value in _names(self.name, self.name_kk, self.name_ru, self.name_en).items():
            setattr(row, key, value)


async def _naming(
    slug: Annotated[str, Form(max_length=64)],
    name: Text = "",
    name_kk: Text = "",
    name_ru: Text = "",
    name_en: Text = "",
) -> Naming:
    return Naming(slug, name, name_kk, name_ru, name_en)


NamingForm = Annotated[Naming, Depends(_naming)]


def _store(
    request: Request, db: Session, staff: Principal, row: Body | Speaker, kind: str, created: bool
) -> None:
    """Save a body or speaker and log it; a slug another one has is a 409, before the log."""
    db.add(row)
    try:
        db.flush()
    except IntegrityError as exc:
        raise HTTPException(409, f"a {kind} with slug {row.slug!r} exists") from exc
    action = f"{kind}_create" if created else f"{kind}_edit"
    audit.record(db, staff.user, action, kind, row.id, ip=client_ip(request), slug=row.slug)
    db.commit()


@router.get("/bodies", response_class=HTMLResponse)
def bodies(request: Request, db: SessionDep, staff: Admin) -> HTMLResponse:
    rows = list(db.scalars(select(Body).order_by(Body.name)))
    return render(request, "staff/bodies.html", staff, rows=rows)


@router.post("/bodies")
def save_body(
    request: Request,
    db: SessionDep,
    staff: Admin,
    naming: NamingForm,
    body_id: FormId = "",
) -> Response:
    """Create a body (no id) or edit one. Renaming changes pages at once; search documents
    carry the default name and follow at the next reindex of each recording."""
    body = db.get(Body, int(body_id)) if body_id.isdigit() else Body()
    if body is None:
        raise HTTPException(404, "no such body")
    naming.apply(body)
    _store(request, db, staff, body, "body", created=not body_id)
    return back("/staff/admin/bodies", "saved")


@router.get("/speakers", response_class=HTMLResponse)
def speakers(request: Request, db: SessionDep, staff: Admin) -> HTMLResponse:
    rows = list(db.scalars(select(Speaker).order_by(Speaker.name)))
    all_bodies = list(db.scalars(select(Body).order_by(Body.name)))
    return render(request, "staff/speakers.html", staff, rows=rows, bodies=all_bodies)


@router.post("/speakers")
def save_speaker(
    request: Request,
    db: SessionDep,
    staff: Admin,
    naming: NamingForm,
    speaker_id: FormId = "",
    position: Annotated[str, Form(max_length=500)] = "",
    body_id: FormId = "",
) -> Response:
    speaker = db.get(Speaker, int(speaker_id)) if speaker_id.isdigit() else Speaker()
    if speaker is None:
        raise HTTPException(404, "no such speaker")
    if body_id.isdigit() and db.get(Body, int(body_id)) is None:
        raise HTTPException(400, "no such body")
    naming.apply(speaker)
    speaker.position = position.strip() or None
    speaker.body_id = int(body_id) if body_id.isdigit() else None
    _store(request, db, staff, speaker, "speaker", created=not speaker_id)
    return back("/staff/admin/speakers", "saved")


# Audit log ----------------------------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    db: SessionDep,
    staff: Admin,
    action: Annotated[str, Query(max_length=60)] = "",
    user: Annotated[str, Query(max_length=320)] = "",
    target_type: Annotated[str, Query(max_length=40)] = "",
    target_id: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
) -> HTMLResponse:
    try:
        since_at = datetime.fromisoformat(since) if since else None
    except ValueError as exc:
        raise HTTPException(400, "since must be a date, YYYY-MM-DD") from exc
    per_page = 100
    rows = audit.entries(
        db,
        action=action or None,
        user_email=user or None,
        target_type=target_type or None,
        target_id=target_id or None,
        since=since_at,
        limit=per_page + 1,
        offset=(page - 1) * per_page,
    )
    return render(
        request,
        "staff/audit.html",
        staff,
        rows=rows[:per_page],
        more=len(rows) > per_page,
        page=page,
        actions=audit.actions(db),
        filters={
            "action": action,
            "user": user,
            "target_type": target_type,
            "target_id": target_id,
            "since": since,
        },
    )
