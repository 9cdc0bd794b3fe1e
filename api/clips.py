"""Clip files cut from a recording, their provenance record and page, and verifying a clip file.

A clip is cut in the request (sync route: FastAPI runs it in a worker thread) because it is
bounded by ``clip_max_s`` and cached; a repeat is a file read.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep
from api.quotes import Quote, quote, requested_range
from api.recordings import public_recording
from api.results import visible
from archive.clip_store import FORMATS, MIME
from archive.models import Recording
from archive.ranges import TimeRange, seconds_text
from archive.settings import Settings
from archive.verify import Verdict, verify_digest
from web.i18n import current
from web.templating import templates
from workers import clips
from workers.errors import PermanentError

router = APIRouter(tags=["clips"])

Format = Literal["mp4", "webm", "m4a", "mp3"]
StartQ = Annotated[str | None, Query(description="first second (83.5 or 1:23.5)")]
EndQ = Annotated[str | None, Query(description="last second (83.5 or 1:23.5)")]


def _span(
    settings: Settings, recording: Recording, start: str | None, end: str | None
) -> TimeRange:
    if start is None or end is None:
        raise HTTPException(400, "give both start and end (seconds, or a clock time like 1:23.5)")
    return requested_range(recording, start, end, settings.clip_max_s)


def clip_name(recording: Recording, span: TimeRange, fmt: str) -> str:
    return f"ashyq-{recording.id}-{seconds_text(span.start)}-{seconds_text(span.end)}.{fmt}"


def provenance(settings: Settings, q: Quote, produce: tuple[str, ...] = ()) -> dict[str, Any]:
    """The provenance record of a clip range: everything needed to check a quote against the
    record. It holds nothing that changes between requests, so it is itself reproducible."""
    rec, span = q.recording, q.span
    assert span is not None
    site = settings.site_url
    produced: dict[str, Any] = {}
    for fmt in FORMATS:
        if fmt in produce:
            try:
                clips.cut(settings.data_dir, settings.media_dir, rec, span, fmt)
            except PermanentError as exc:
                raise HTTPException(500, str(exc)) from exc
        entry = clips.cached(settings.data_dir, rec, span, fmt)
        produced[fmt] = (
            None
            if entry is None
            else {
                "sha256": entry.clip_sha256,
                "size_bytes": entry.size_bytes,
                "mime": MIME[fmt],
                "url": f"{site}/r/{rec.id}/clip.{fmt}?start={span.start_text}&end={span.end_text}",
            }
        )
    return {
        "recording_id": rec.id,
        "title": rec.title,
        "body": rec.body.slug,
        "body_name": rec.body.localized_name(current()),
        "date": rec.recorded_on.isoformat(),
        "start": span.start,
        "end": span.end,
        "duration": span.duration,
        "original": {
            "sha256": rec.sha256,
            "size_bytes": rec.size_bytes,
            "url": f"{site}/media/{rec.id}/original",
        },
        "clips": produced,
        "transcript": {
            "status": q.status,
            "model": rec.transcript_model,
            "text": q.text,
            "segments": q.segment_rows(),
        },
        "citation": {"text": q.citation(), "markdown": q.citation(markdown=True)},
        "archive_url": q.permalink,
        "clip_page": f"{site}/r/{rec.id}/clip?start={span.start_text}&end={span.end_text}",
        "verify": f"{site}/api/v1/verify",
    }


def _produce(value: str) -> tuple[str, ...]:
    asked = tuple(part.strip() for part in value.split(",") if part.strip())
    if asked == ("all",):
        return FORMATS
    unknown = [fmt for fmt in asked if fmt not in FORMATS]
    if unknown:
        raise HTTPException(400, f"formats: unknown {', '.join(unknown)}; use {', '.join(FORMATS)}")
    return asked


@router.get("/r/{recording_id}/quote.json")
def quote_record(
    recording_id: int,
    session: SessionDep,
    settings: SettingsDep,
    start: StartQ = None,
    end: EndQ = None,
) -> JSONResponse:
    """Permalink, citation (plain and Markdown, UI language) and text of a range; no clip cut."""
    rec = public_recording(session, recording_id)
    try:
        span = requested_range(rec, start, end)
    except HTTPException as exc:
        return JSONResponse({"error": "invalid_parameter", "detail": exc.detail}, exc.status_code)
    q = quote(rec, span, settings.site_url)
    return JSONResponse(
        {
            "start": span.start,
            "end": span.end,
            "time_range": q.time_range,
            "permalink": q.permalink,
            "citation": q.citation(),
            "markdown": q.citation(markdown=True),
            "text": q.text,
            "segments": [seg.id for seg in q.segments],
        }
    )


@router.get("/r/{recording_id}/clip.json")
def clip_record(
    recording_id: int,
    session: SessionDep,
    settings: SettingsDep,
    start: StartQ = None,
    end: EndQ = None,
    formats: Annotated[str, Query(description="cut these formats now: mp4,m4a,… or all")] = "",
) -> JSONResponse:
    """The provenance record of a clip: original and clip hashes, exact range, transcript."""
    rec = public_recording(session, recording_id)
    try:
        span = _span(settings, rec, start, end)
        record = provenance(settings, quote(rec, span, settings.site_url), _produce(formats))
    except HTTPException as exc:
        return JSONResponse({"error": "invalid_parameter", "detail": exc.detail}, exc.status_code)
    return JSONResponse(record)


@router.get("/r/{recording_id}/clip", response_class=HTMLResponse, include_in_schema=False)
def clip_page(
    request: Request,
    recording_id: int,
    session: SessionDep,
    settings: SettingsDep,
    start: StartQ = None,
    end: EndQ = None,
    formats: str = "",
) -> HTMLResponse:
    """The provenance record for people: hashes, range, transcript, downloads, citation."""
    rec = public_recording(session, recording_id)
    span = _span(settings, rec, start, end)
    q = quote(rec, span, settings.site_url)
    context = {
        "rec": rec,
        "span": span,
        "quote": q,
        "record": provenance(settings, q, _produce(formats)),
        "formats": FORMATS,
        "query": f"start={span.start_text}&end={span.end_text}",
    }
    return templates.TemplateResponse(request, "clip.html", context)


@router.get("/r/{recording_id}/clip.{fmt}", response_class=FileResponse)
def clip_file(
    recording_id: int,
    fmt: Format,
    session: SessionDep,
    settings: SettingsDep,
    start: StartQ = None,
    end: EndQ = None,
) -> FileResponse:
    """The range re-encoded (frame and sample accurate), cached, byte-identical on every request."""
    rec = public_recording(session, recording_id)
    span = _span(settings, rec, start, end)
    try:
        path = clips.cut(settings.data_dir, settings.media_dir, rec, span, fmt)
    except PermanentError as exc:
        raise HTTPException(500, str(exc)) from exc
    digest = path.with_name(path.name + ".sha256").read_text().strip()
    return FileResponse(
        path,
        media_type=MIME[fmt],
        filename=clip_name(rec, span, fmt),
        content_disposition_type="inline",
        headers={
            "Cache-Control": "public, max-age=86400",
            "ETag": f'"{digest}"',
            "X-Clip-SHA256": digest,
            "Link": f"<{settings.site_url}/r/{rec.id}/clip.json?"
            f'start={span.start_text}&end={span.end_text}>; rel="describedby"',
        },
    )


def verdict_json(
    verdict: Verdict, settings: Settings, session: Session | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"verified": verdict.verified, "sha256": verdict.sha256}
    out["reason"] = verdict.reason
    if verdict.record is not None:
        r = verdict.record
        span = r.range
        out["clip"] = {
            "recording_id": r.recording_id,
            "original_sha256": r.original_sha256,
            "start": span.start,
            "end": span.end,
            "format": r.format,
            "archive_url": f"{settings.site_url}/r/{r.recording_id}?{span.query()}",
            "provenance": f"{settings.site_url}/r/{r.recording_id}/clip.json"
            f"?start={span.start_text}&end={span.end_text}",
        }
        if session is not None:
            # A genuine clip stays genuine when its recording is withdrawn; say so, though.
            query = select(Recording.id).where(Recording.sha256 == r.original_sha256)
            out["clip"]["recording_public"] = session.scalar(visible(query)) is not None
    return out


@router.post("/api/v1/verify", tags=["api v1"])
def verify_upload(
    settings: SettingsDep,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="the clip file to check")],
    recording_id: Annotated[int | None, Form(description="expected recording")] = None,
    start: Annotated[str | None, Form(description="expected start")] = None,
    end: Annotated[str | None, Form(description="expected end")] = None,
) -> dict[str, Any]:
    """Whether an uploaded file is an unaltered clip cut by this archive, and of what.

    With ``recording_id``/``start``/``end`` it is verified only if it is the clip of exactly that
    recording and range. The answer is 200 either way; read ``verified``.
    """
    digest = hashlib.sha256()
    while chunk := file.file.read(1024 * 1024):
        digest.update(chunk)
    try:
        verdict = verify_digest(
            settings.data_dir, digest.hexdigest(), recording_id=recording_id, start=start, end=end
        )
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    return verdict_json(verdict, settings, session)
