"""Upload endpoints the staff upload page's script drives (``web/static/staff.js``).

    POST   /staff/uploads              {filename, size, title, body, date, …} → {id, offset: 0}
    GET    /staff/uploads/{id}         → {offset}: where to resume after a dropped connection
    PUT    /staff/uploads/{id}?offset=N   raw bytes, streamed to disk → {offset}
    POST   /staff/uploads/{id}/finish  → {job_id} or {recording_id, duplicate: true}
    DELETE /staff/uploads/{id}         abandon; the partial file is removed

Refusals (``UploadRefused``) answer 400, 413 over the size limit, 409 for a chunk at the wrong
offset (api.errors), with ``{"detail": message}``, and leave nothing on disk. The body of a PUT
is never held in memory: it is written as it arrives.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.auth import Editor, client_ip, require_editor
from api.deps import SessionDep, SettingsDep
from api.staff.web import render
from archive import audit
from archive.models import EVENT_TYPES, Body, Upload
from workers.services import uploads
from workers.services.uploads import UploadRefused

router = APIRouter(
    prefix="/staff",
    tags=["staff uploads"],
    include_in_schema=False,
    dependencies=[Depends(require_editor)],
)


class StartUpload(BaseModel):
    filename: str = Field(max_length=1000)
    size: int
    title: str = Field(max_length=500)
    body: str = Field(max_length=64)
    date: str = Field(max_length=10)
    event_type: str | None = Field(default=None, max_length=40)
    language: str | None = Field(default=None, max_length=8)
    description: str | None = Field(default=None, max_length=20000)
    source_url: str | None = Field(default=None, max_length=2000)


def _upload(db: SessionDep, upload_id: str, staff: Editor) -> Upload:
    upload = db.get(Upload, upload_id)
    if upload is None or (upload.user_id != staff.user.id and not staff.user.is_admin):
        raise HTTPException(404, "no such upload")
    return upload


@router.get("/upload", response_class=HTMLResponse)
def upload_page(
    request: Request, db: SessionDep, settings: SettingsDep, staff: Editor
) -> HTMLResponse:
    bodies = list(db.scalars(select(Body).order_by(Body.name)))
    return render(
        request,
        "staff/upload.html",
        staff,
        bodies=bodies,
        event_types=EVENT_TYPES,
        languages=settings.whisper_languages,
        max_bytes=settings.upload_max_bytes,
        today=date.today().isoformat(),
    )


@router.post("/uploads", status_code=201)
def start(
    request: Request, data: StartUpload, db: SessionDep, settings: SettingsDep, staff: Editor
) -> dict[str, Any]:
    params = data.model_dump(exclude={"filename", "size"})
    upload = uploads.start(settings, db, staff.user, data.filename, data.size, params)
    return {"id": upload.id, "offset": 0, "size": upload.size}


@router.get("/uploads/{upload_id}")
def status(upload_id: str, db: SessionDep, settings: SettingsDep, staff: Editor) -> dict[str, Any]:
    upload = _upload(db, upload_id, staff)
    return {
        "id": upload.id,
        "offset": uploads.received(settings, upload),
        "size": upload.size,
        "job_id": upload.job_id,
        "recording_id": upload.recording_id,
    }


@router.put("/uploads/{upload_id}")
async def put_chunk(
    request: Request,
    upload_id: str,
    offset: Annotated[int, Query(ge=0)],
    db: SessionDep,
    settings: SettingsDep,
    staff: Editor,
) -> dict[str, Any]:
    upload = await run_in_threadpool(_upload, db, upload_id, staff)
    end = await uploads.write_chunk(settings, upload, offset, request.stream())
    return {"offset": end, "size": upload.size}


@router.post("/uploads/{upload_id}/finish")
def finish(
    request: Request, upload_id: str, db: SessionDep, settings: SettingsDep, staff: Editor
) -> dict[str, Any]:
    upload = _upload(db, upload_id, staff)
    name = upload.filename
    try:
        done = uploads.finish(settings, db, upload)
    except UploadRefused as exc:
        audit.record(
            db,
            staff.user,
            "upload_refused",
            "upload",
            upload_id,
            ip=client_ip(request),
            filename=name,
            reason=str(exc),
        )
        db.commit()
        raise
    audit.record(
        db,
        staff.user,
        "upload_duplicate" if done.duplicate else "upload",
        "upload",
        upload_id,
        ip=client_ip(request),
        filename=name,
        job=done.job_id,
        recording=done.recording_id,
    )
    db.commit()
    result: dict[str, Any] = {"job_id": done.job_id, "duplicate": done.duplicate}
    if done.recording_id is not None:
        result["recording_id"] = done.recording_id
        result["url"] = f"/staff/recordings/{done.recording_id}"
    return result


@router.delete("/uploads/{upload_id}", status_code=204)
def abandon(upload_id: str, db: SessionDep, settings: SettingsDep, staff: Editor) -> None:
    upload = _upload(db, upload_id, staff)
    if upload.job_id is None and upload.recording_id is None:
        uploads.discard(settings, db, upload)
