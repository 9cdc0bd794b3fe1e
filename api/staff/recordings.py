"""Staff pages for recordings: the list, metadata, publish/withdraw, delete/restore, purge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import Admin, Editor, client_ip, require_admin, require_editor
from api.deps import RowId, SessionDep, SettingsDep
from api.staff.web import RecordingAction, back, render, staff_recording
from archive import audit
from archive.models import EVENT_TYPES, Body, Recording, Segment
from archive.settings import Settings
from workers.services import publishing

router = APIRouter(
    prefix="/staff",
    tags=["staff pages"],
    include_in_schema=False,
    dependencies=[Depends(require_editor)],
)

VIEWS = ("all", "published", "withdrawn", "deleted", "processing")


@router.get("", response_class=HTMLResponse)
def staff_home() -> Response:
    return back("/staff/recordings")


@router.get("/recordings", response_class=HTMLResponse)
def recordings(
    request: Request,
    db: SessionDep,
    staff: Editor,
    view: Annotated[str, Query(pattern="^(" + "|".join(VIEWS) + ")$")] = "all",
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    query = select(Recording)
    if view == "deleted":
        query = query.where(Recording.deleted_at.is_not(None))
    else:
        query = query.where(Recording.deleted_at.is_(None))
    if view == "published":
        query = query.where(Recording.published.is_(True), Recording.status == "ready")
    elif view == "withdrawn":
        query = query.where(Recording.published.is_(False))
    elif view == "processing":
        query = query.where(Recording.status != "ready")
    if q.strip():
        query = query.where(Recording.title.ilike(f"%{q.strip()}%"))
    rows = list(db.scalars(query.order_by(Recording.id.desc()).limit(200)))
    reviewed = dict(
        db.execute(
            select(Segment.recording_id, func.count())
            .where(Segment.reviewed.is_(True), Segment.recording_id.in_([r.id for r in rows]))
            .group_by(Segment.recording_id)
        ).all()
    )
    return render(
        request,
        "staff/recordings.html",
        staff,
        rows=rows,
        view=view,
        views=VIEWS,
        q=q,
        reviewed=reviewed,
    )


@router.get("/recordings/{recording_id}", response_class=HTMLResponse)
def recording(request: Request, db: SessionDep, staff: Editor, recording_id: RowId) -> HTMLResponse:
    rec = staff_recording(db, recording_id)
    bodies = list(db.scalars(select(Body).order_by(Body.name)))
    return render(
        request, "staff/recording.html", staff, rec=rec, bodies=bodies, event_types=EVENT_TYPES
    )


@router.post("/recordings/{recording_id}")
def save_recording(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    staff: Editor,
    recording_id: RowId,
    title: Annotated[str, Form(min_length=1, max_length=500)],
    body_id: Annotated[int, Form()],
    recorded_on: Annotated[date, Form()],
    event_type: Annotated[str, Form(max_length=40)] = "",
    description: Annotated[str, Form(max_length=20000)] = "",
    source_url: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    rec = staff_recording(db, recording_id)
    body = db.get(Body, body_id)
    if body is None:
        raise HTTPException(400, "no such body")
    if event_type and event_type not in EVENT_TYPES:
        raise HTTPException(400, f"event type must be one of {', '.join(EVENT_TYPES)}")
    if source_url and not source_url.startswith(("http://", "https://")):
        raise HTTPException(400, "the source URL must be an http(s) address")
    before = {"title": rec.title, "body": rec.body.slug, "date": rec.recorded_on.isoformat()}
    rec.title, rec.body, rec.recorded_on = title.strip(), body, recorded_on
    rec.event_type = event_type or None
    rec.description = description.strip() or None
    rec.source_url = source_url.strip() or None
    after = {"title": rec.title, "body": body.slug, "date": recorded_on.isoformat()}
    audit.record(
        db,
        staff.user,
        "recording_edit",
        "recording",
        rec.id,
        ip=client_ip(request),
        before=before,
        after=after,
    )
    # Title, body and date travel in every search document of the recording.
    publishing.reindex(settings, db, rec)
    return back(f"/staff/recordings/{rec.id}", "saved")


def _change(
    act: RecordingAction, change: Callable[[Settings, Session, Recording], None], done: str
) -> Response:
    """Record who makes ``change``, make it, go back to the recording's page saying ``done``.
    The audit action is the change's name (publish, withdraw, soft_delete, restore). A change the
    state forbids is a ``NotAllowed``: 409 (api.errors), and the audit row is not kept."""
    rec, ip = act.recording, client_ip(act.request)
    audit.record(act.db, act.staff.user, change.__name__, "recording", rec.id, ip=ip)
    change(act.settings, act.db, rec)
    return back(f"/staff/recordings/{rec.id}", done)


@router.post("/recordings/{recording_id}/publish")
def recording_publish(act: RecordingAction) -> Response:
    return _change(act, publishing.publish, "published")


@router.post("/recordings/{recording_id}/withdraw")
def recording_withdraw(act: RecordingAction) -> Response:
    return _change(act, publishing.withdraw, "withdrawn")


@router.post("/recordings/{recording_id}/delete")
def recording_soft_delete(act: RecordingAction) -> Response:
    return _change(act, publishing.soft_delete, "deleted")


@router.post("/recordings/{recording_id}/restore")
def recording_restore(act: RecordingAction) -> Response:
    return _change(act, publishing.restore, "restored")


admin_router = APIRouter(
    prefix="/staff/admin",
    tags=["staff pages"],
    include_in_schema=False,
    dependencies=[Depends(require_admin)],
)


@admin_router.post("/recordings/{recording_id}/purge")
def purge(
    request: Request, db: SessionDep, settings: SettingsDep, staff: Admin, recording_id: RowId
) -> Response:
    rec = staff_recording(db, recording_id)
    audit.record(
        db,
        staff.user,
        "purge",
        "recording",
        rec.id,
        ip=client_ip(request),
        title=rec.title,
        sha256=rec.sha256,
    )
    publishing.purge(settings, db, rec)  # NotAllowed: a 409 (api.errors), nothing kept
    return back("/staff/recordings?view=deleted", "purged")
