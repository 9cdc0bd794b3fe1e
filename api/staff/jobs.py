"""The job dashboard: every job with state, live progress, error and attempts; retry, cancel.

The page polls ``/staff/jobs.json`` every two seconds (plain polling: it works through every
proxy, and the job rows already hold all there is to show).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from api.auth import Editor, client_ip, require_editor
from api.deps import RowId, SessionDep, SettingsDep
from api.staff.web import back, render
from archive import audit, jobs
from archive.models import Job, JobState
from workers.celery_app import send_job

router = APIRouter(
    prefix="/staff",
    tags=["staff pages"],
    include_in_schema=False,
    dependencies=[Depends(require_editor)],
)

STATES = tuple(s.value for s in JobState)


def _rows(db: SessionDep, state: str | None, limit: int) -> list[Job]:
    query = select(Job)
    if state:
        query = query.where(Job.state == state)
    return list(db.scalars(query.order_by(Job.id.desc()).limit(limit)))


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state.value if isinstance(job.state, JobState) else job.state,
        "stage": job.stage,
        "progress": job.progress,
        "error": job.error,
        "attempts": job.attempts,
        "title": (job.params or {}).get("title") or (job.params or {}).get("url"),
        "filename": (job.params or {}).get("filename"),
        "recording_id": job.recording_id,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "updated_at": job.updated_at.isoformat() if job.updated_at else None,
        "can_retry": job.state in (JobState.failed, JobState.cancelled),
        "can_cancel": job.state in (JobState.queued, JobState.running),
    }


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(
    request: Request,
    db: SessionDep,
    staff: Editor,
    state: Annotated[str | None, Query(pattern="^(" + "|".join(STATES) + ")$")] = None,
) -> HTMLResponse:
    rows = _rows(db, state, 200)
    return render(request, "staff/jobs.html", staff, rows=rows, state=state, states=STATES)


@router.get("/jobs.json")
def jobs_json(
    db: SessionDep,
    state: Annotated[str | None, Query(pattern="^(" + "|".join(STATES) + ")$")] = None,
    ids: Annotated[str, Query(max_length=2000, pattern=r"^[0-9,]*$")] = "",
) -> dict[str, Any]:
    """Jobs for the dashboard and the upload page (``ids=1,2,3`` for just those)."""
    if ids:
        wanted = [int(i) for i in ids.split(",") if i][:100]
        rows = list(db.scalars(select(Job).where(Job.id.in_(wanted))))
    else:
        rows = _rows(db, state, 200)
    return {"jobs": [job_json(job) for job in rows]}


@router.post("/jobs/{job_id}/retry")
def retry(
    request: Request, db: SessionDep, settings: SettingsDep, staff: Editor, job_id: RowId
) -> Response:
    if not jobs.reset_for_retry(db, job_id):
        raise HTTPException(409, "only a failed or cancelled job can be retried")
    audit.record(db, staff.user, "job_retry", "job", job_id, ip=client_ip(request))
    db.commit()
    send_job(settings, job_id)
    return back("/staff/jobs", "retried")


@router.post("/jobs/{job_id}/cancel")
def cancel(request: Request, db: SessionDep, staff: Editor, job_id: RowId) -> Response:
    if not jobs.cancel(db, job_id):
        raise HTTPException(409, "only a queued or running job can be cancelled")
    audit.record(db, staff.user, "job_cancel", "job", job_id, ip=client_ip(request))
    db.commit()
    return back("/staff/jobs", "cancelled")
