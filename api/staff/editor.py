"""The transcript editor: fix text and timing, split, merge, name speakers, review; revisions
with revert. Each form posts one edit; the page reloads at the edited segment. An edit the
transcript no longer allows (``EditRefused``) is a 409 (api.errors)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Editor, Principal, client_ip, require_editor
from api.deps import Position, RowId, SessionDep, SettingsDep
from api.staff.web import RecordingAction, back, render, staff_recording
from archive import audit
from archive.models import Segment, SegmentRevision, Speaker
from workers.services import editing

router = APIRouter(
    prefix="/staff",
    tags=["staff pages"],
    include_in_schema=False,
    dependencies=[Depends(require_editor)],
)


def _to_segment(recording_id: RowId, idx: Position) -> str:
    return f"/staff/recordings/{recording_id}/transcript#seg-{idx}"


@router.get("/recordings/{recording_id}/transcript", response_class=HTMLResponse)
def transcript(
    request: Request, db: SessionDep, staff: Editor, recording_id: RowId
) -> HTMLResponse:
    rec = staff_recording(db, recording_id)
    segments = list(
        db.scalars(select(Segment).where(Segment.recording_id == rec.id).order_by(Segment.idx))
    )
    speakers = list(db.scalars(select(Speaker).order_by(Speaker.name)))
    revisions = list(
        db.scalars(
            select(SegmentRevision)
            .where(SegmentRevision.recording_id == rec.id)
            .order_by(SegmentRevision.id.desc())
            .limit(100)
        )
    )
    return render(
        request,
        "staff/transcript.html",
        staff,
        rec=rec,
        segments=segments,
        speakers=speakers,
        revisions=revisions,
    )


def _audit(
    request: Request,
    db: Session,
    staff: Principal,
    revision: SegmentRevision | None,
    **detail: Any,
) -> None:
    """Log an edit that changed something (``revision`` is None when nothing did)."""
    if revision is None:
        return
    audit.record(
        db,
        staff.user,
        f"transcript_{revision.action}",
        "recording",
        revision.recording_id,
        ip=client_ip(request),
        revision=revision.id,
        idx=revision.idx_from,
        **detail,
    )
    db.commit()


@router.post("/recordings/{recording_id}/segments/{idx}")
def edit_segment(
    act: RecordingAction,
    idx: Position,
    text: Annotated[str, Form(min_length=1, max_length=20000)],
    start: Annotated[float, Form(ge=0)],
    end: Annotated[float, Form(gt=0)],
    reviewed: Annotated[bool, Form()] = False,
) -> Response:
    rec, fields = act.recording, {"text": text, "start": start, "end": end, "reviewed": reviewed}
    revision = editing.update_segment(act.settings, act.db, rec, act.staff.user, idx, **fields)
    _audit(act.request, act.db, act.staff, revision)
    done = "saved" if revision else "unchanged"
    return back(f"/staff/recordings/{rec.id}/transcript?done={done}#seg-{idx}")


@router.post("/recordings/{recording_id}/segments/{idx}/split")
def split(act: RecordingAction, idx: Position, at: Annotated[int, Form(ge=1)]) -> Response:
    rec = act.recording
    revision = editing.split_segment(act.settings, act.db, rec, act.staff.user, idx, at)
    _audit(act.request, act.db, act.staff, revision)
    return back(_to_segment(rec.id, idx))


@router.post("/recordings/{recording_id}/segments/{idx}/merge")
def merge(act: RecordingAction, idx: Position) -> Response:
    rec = act.recording
    revision = editing.merge_with_next(act.settings, act.db, rec, act.staff.user, idx)
    _audit(act.request, act.db, act.staff, revision)
    return back(_to_segment(rec.id, idx))


@router.post("/recordings/{recording_id}/speaker")
def speaker(
    act: RecordingAction,
    idx_from: Annotated[int, Form(ge=0)],
    idx_to: Annotated[int, Form(ge=0)],
    speaker_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Name the speaker of a range of segments; an empty choice clears it."""
    rec, db = act.recording, act.db
    chosen = int(speaker_id) if speaker_id.isdigit() else None
    if chosen is not None and db.get(Speaker, chosen) is None:
        raise HTTPException(400, "no such speaker")
    revision = editing.assign_speaker(
        act.settings, db, rec, act.staff.user, idx_from, idx_to, chosen
    )
    _audit(act.request, db, act.staff, revision, speaker_id=chosen)
    return back(_to_segment(rec.id, idx_from))


@router.post("/revisions/{revision_id}/revert")
def revert(
    request: Request, db: SessionDep, settings: SettingsDep, staff: Editor, revision_id: RowId
) -> Response:
    revision = db.get(SegmentRevision, revision_id)
    if revision is None:
        raise HTTPException(404, f"revision {revision_id} not found")
    undo = editing.revert(settings, db, revision, staff.user)
    _audit(request, db, staff, undo, reverted=revision_id)
    return back(f"/staff/recordings/{revision.recording_id}/transcript", "reverted")
