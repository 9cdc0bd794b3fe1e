"""Uploads from the staff page: a file arrives in chunks at given offsets, so a dropped
connection resumes where the bytes on disk end instead of starting over.

- The file grows under ``incoming/uploads/<random id>.part``; the client's name is kept only for
  display and for the original's (sanitised) extension. A name that is a path is refused.
- The size is declared up front and checked against the limit before a byte is written; a chunk
  that would pass the declared size is refused and cut off.
- When complete, the file is judged by ffprobe (not its extension) and by its SHA-256: one
  already in the archive links to the existing recording; one ffprobe cannot read is refused.
  Either way nothing of it stays on disk; a good file is queued like ``ashyq ingest``.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import time
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import bodies, jobs
from archive.media import media_types, storage
from archive.models import EVENT_TYPES, Recording, Upload, User
from archive.settings import Settings
from workers.celery_app import send_job
from workers.errors import PermanentError
from workers.media import ffmpeg as media
from workers.services.submit import InvalidRequest, validate_metadata

ID = re.compile(r"^[0-9a-f]{32}$")


class UploadRefused(ValueError):
    """The upload cannot be accepted; the message says why, in words for staff."""


class UploadTooLarge(UploadRefused):
    """Over ``upload_max_bytes``: the answer is a 413."""


class OffsetMismatch(UploadRefused):
    """A chunk not at the end of what arrived (another tab, a retry after the bytes came): a 409,
    so the page asks where to resume."""


@dataclass(frozen=True)
class Finished:
    job_id: int | None
    recording_id: int | None
    duplicate: bool


def folder(settings: Settings) -> Path:
    return settings.incoming_dir / "uploads"


def part_path(settings: Settings, upload_id: str) -> Path:
    if not ID.match(upload_id):
        raise UploadRefused("no such upload")
    return folder(settings) / f"{upload_id}.part"


def plain_name(name: str) -> str:
    """The client's file name if it is a plain name; a path (or nothing) is refused."""
    name = unicodedata.normalize("NFC", name or "").strip()
    if not name:
        raise UploadRefused("the file has no name")
    if "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise UploadRefused(f"the file name must be a plain name, not a path: {name!r}")
    if any(unicodedata.category(c).startswith("C") for c in name) or len(name) > 255:
        raise UploadRefused("the file name has control characters or is too long")
    return name


def check_params(settings: Settings, params: dict[str, Any]) -> dict[str, Any]:
    """The metadata form, validated; returns what the ingest job takes."""
    title = str(params.get("title") or "").strip()
    body = str(params.get("body") or "").strip()
    when = str(params.get("date") or "").strip()
    try:
        validate_metadata(title, body, when)
    except InvalidRequest as exc:
        raise UploadRefused(str(exc)) from exc
    event_type = params.get("event_type") or None
    if event_type is not None and event_type not in EVENT_TYPES:
        raise UploadRefused(f"event type must be one of {', '.join(EVENT_TYPES)}")
    language = params.get("language") or None
    allowed = settings.whisper_languages
    if language is not None and allowed and language not in allowed:
        raise UploadRefused(f"language must be one of {', '.join(allowed)}")
    source_url = str(params.get("source_url") or "").strip() or None
    if source_url is not None:
        parsed = urlparse(source_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or len(source_url) > 2000:
            raise UploadRefused("the source URL must be an http(s) address")
    description = str(params.get("description") or "").strip() or None
    return {
        "title": title[:500],
        "body": body,
        "date": when,
        "language": language,
        "meta": {"event_type": event_type, "source_url": source_url, "description": description},
    }


def sweep_abandoned(settings: Settings, session: Session) -> int:
    """Remove uploads nobody has added a byte to for ``upload_abandon_s`` (a closed tab, a
    cancelled transfer): their partial files would otherwise stay forever."""
    cutoff = time.time() - settings.upload_abandon_s
    removed = 0
    for path in folder(settings).glob("*.part"):
        if path.stat().st_mtime >= cutoff:
            continue
        path.unlink(missing_ok=True)
        upload = session.get(Upload, path.name.removesuffix(".part"))
        if upload is not None and upload.job_id is None:
            session.delete(upload)
        removed += 1
    session.commit()
    return removed


def start(
    settings: Settings,
    session: Session,
    user: User | None,
    filename: str,
    size: int,
    params: dict[str, Any],
) -> Upload:
    """Check everything that can be checked before the bytes arrive; make the empty file."""
    name = plain_name(filename)
    if size <= 0:
        raise UploadRefused(f"{name}: the file is empty (0 bytes)")
    if size > settings.upload_max_bytes:
        raise UploadTooLarge(
            f"{name}: the file is {size} bytes, over the maximum of "
            f"{settings.upload_max_bytes} bytes"
        )
    checked = check_params(settings, params)
    try:
        # An editor names an existing body; a new one is an admin's to make (archive.bodies).
        bodies.check(session, checked["body"], may_create=user is None or user.is_admin)
    except bodies.UnknownBody as exc:
        raise UploadRefused(str(exc)) from exc
    sweep_abandoned(settings, session)
    upload = Upload(
        id=secrets.token_hex(16),
        user_id=user.id if user else None,
        filename=name,
        size=size,
        received=0,
        params=checked,
    )
    path = part_path(settings, upload.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=False)
    session.add(upload)
    try:
        session.commit()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return upload


def received(settings: Settings, upload: Upload) -> int:
    """Bytes on disk: the truth after a dropped connection, whatever the row says."""
    path = part_path(settings, upload.id)
    return path.stat().st_size if path.exists() else 0


async def write_chunk(
    settings: Settings, upload: Upload, offset: int, chunks: AsyncIterator[bytes]
) -> int:
    """Append the request body at ``offset`` (which must be where the file ends); returns the
    new end. Bytes of a chunk cut short by a dropped connection stay, so the client resumes
    from the offset this reports next time."""
    path = part_path(settings, upload.id)
    if not path.exists():
        raise UploadRefused("this upload was cancelled or already finished")
    have = path.stat().st_size
    if offset != have:
        raise OffsetMismatch(f"offset {offset} does not match the {have} bytes received")
    with path.open("r+b") as handle:
        try:  # one writer at a time: two tabs resuming the same upload must not interleave
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise OffsetMismatch("another chunk of this upload is being written") from exc
        if path.stat().st_size != offset:
            raise OffsetMismatch(f"offset {offset} no longer matches the bytes received")
        handle.seek(offset)
        written = offset
        async for chunk in chunks:
            if written + len(chunk) > upload.size:
                handle.truncate(offset)
                raise UploadRefused(
                    f"{upload.filename}: more bytes than the declared {upload.size}"
                )
            handle.write(chunk)
            written += len(chunk)
    return written


def discard(settings: Settings, session: Session, upload: Upload) -> None:
    part_path(settings, upload.id).unlink(missing_ok=True)
    session.delete(upload)
    session.commit()


def finish(settings: Settings, session: Session, upload: Upload) -> Finished:
    """Judge the complete file and queue it, or link to the recording it duplicates."""
    path = part_path(settings, upload.id)
    have = received(settings, upload)
    if have != upload.size:
        raise UploadRefused(f"{upload.filename}: only {have} of {upload.size} bytes arrived")
    sha = storage.sha256_file(path)
    existing = session.scalar(select(Recording).where(Recording.sha256 == sha))
    if existing is not None:
        upload.recording_id = existing.id
        upload.received = have
        path.unlink(missing_ok=True)
        session.commit()
        return Finished(job_id=None, recording_id=existing.id, duplicate=True)
    try:
        media.probe(path)
    except PermanentError as exc:
        discard(settings, session, upload)
        raise UploadRefused(f"{upload.filename}: {exc}") from exc
    settings.incoming_dir.mkdir(parents=True, exist_ok=True)
    staged = settings.incoming_dir / f"{upload.id}{media_types.safe_suffix(upload.filename)}"
    os.replace(path, staged)
    params = {**upload.params, "filename": upload.filename, "uploaded_by": upload.user_id}
    try:
        job = jobs.create_job(
            session, "ingest", params, source_path=str(staged.relative_to(settings.data_dir))
        )
        upload.job_id = job.id
        upload.received = have
        session.commit()
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    send_job(settings, job.id)
    return Finished(job_id=job.id, recording_id=None, duplicate=False)
