"""Queueing work: the one entry point both faces (CLI, HTTP) use to add a recording."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from archive import audit, bodies, jobs
from archive.audit import Actor
from archive.db import session_scope
from archive.media.media_types import safe_suffix
from archive.settings import Settings
from workers.celery_app import send_job

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class InvalidRequest(ValueError):
    """The request is wrong as given; nothing was queued."""


def validate_metadata(title: str, body: str, when: str) -> None:
    if not title.strip():
        raise InvalidRequest("title must not be empty")
    if not SLUG.match(body):
        raise InvalidRequest(f"body {body!r} must be a slug: lowercase letters, digits and '-'")
    try:
        date.fromisoformat(when)
    except ValueError as exc:
        raise InvalidRequest(f"date {when!r} must be YYYY-MM-DD") from exc


def check_body(session: Session, slug: str, actor: Actor | None) -> None:
    """Only admins (and the CLI: ``actor`` None) may name a body that does not exist yet; it is
    made where first needed (``archive.bodies``)."""
    try:
        bodies.check(session, slug, may_create=actor is None or actor.is_admin)
    except bodies.UnknownBody as exc:
        raise InvalidRequest(str(exc)) from exc


def stage_file(settings: Settings, path: Path) -> Path:
    """Copy the input under the data dir (so the worker can read it anywhere the data dir is
    mounted) by a temporary name that is renamed when complete. Returns the path relative to the
    data dir; the client's file name is not part of it."""
    settings.incoming_dir.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}{safe_suffix(path.name)}"
    partial = settings.incoming_dir / f".{name}.part"
    shutil.copyfile(path, partial)
    os.replace(partial, settings.incoming_dir / name)
    return (settings.incoming_dir / name).relative_to(settings.data_dir)


def submit_file(
    settings: Settings,
    path: Path,
    *,
    title: str,
    body: str,
    when: str,
    body_name: str | None = None,
    actor: Actor | None = None,
) -> int:
    """Stage ``path`` and queue an ingest job; returns the job id. An ``actor`` gets an audit
    entry and, unless an admin (or the CLI), may only name an existing body, as for a fetch."""
    validate_metadata(title, body, when)
    if not path.is_file():
        raise InvalidRequest(f"no such file: {path}")
    staged = stage_file(settings, path)
    params = {
        "title": title.strip(),
        "body": body,
        "body_name": body_name,
        "date": when,
        "filename": path.name,
    }
    try:
        with session_scope(settings.db_url) as session:
            check_body(session, body, actor)
            job_id = jobs.create_job(session, "ingest", params, source_path=str(staged)).id
            if actor is not None:
                audit.record_by(session, actor, "ingest", "job", job_id, file=path.name)
    except BaseException:
        (settings.data_dir / staged).unlink(missing_ok=True)
        raise
    send_job(settings, job_id)
    return job_id


def submit_reprocess(settings: Settings, recording_id: int) -> int:
    with session_scope(settings.db_url) as session:
        job_id = jobs.create_job(session, "reprocess", {"recording_id": recording_id}).id
    send_job(settings, job_id)
    return job_id


def requeue_orphans(settings: Settings) -> list[int]:
    """Send again the jobs whose worker died mid-run (their broker message died with it)."""
    with session_scope(settings.db_url) as session:
        ids = jobs.orphaned_running_jobs(session)
    for job_id in ids:
        send_job(settings, job_id)
    return ids
