"""Clip files cut from a recording, their provenance record and page, and verifying a clip file.

Cuts are queued to the worker and waited for only briefly (``api.media.clip_jobs``); a repeat is a
file read. Clip ranges are widened to a 100 ms grid (``TimeRange.quantised``) so that nearby
requests share one cut; the provenance record describes the range as asked, and each clip in it
names the range it holds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import Principal, client_ip, current_principal
from api.conditional import REVALIDATE, RevalidatedFile
from api.deps import RowId, SessionDep, SettingsDep
from api.guards.media_safety import media_headers
from api.media.clip_jobs import Asker, Order, budget_of, place, settle
from api.reading.quotes import Quote, quote, requested_range
from api.reading.recordings import public_recording
from api.reading.results import visible
from archive.media.clip_store import FORMATS, MIME, job_path, mark_asked, read_job, touch
from archive.media.verify import Verdict, verify_digest
from archive.models import Recording
from archive.settings import Settings
from archive.text.ranges import TimeRange, seconds_text, to_ms
from web.i18n import current
from web.links import recording_url
from web.templating import templates
from workers.media import clips

router = APIRouter(tags=["clips"])

Format = Literal["mp4", "webm", "m4a", "mp3"]
StartQ = Annotated[str | None, Query(description="first second (83.5 or 1:23.5)")]
EndQ = Annotated[str | None, Query(description="last second (83.5 or 1:23.5)")]


def _span(
    settings: Settings, recording: Recording, start: str | None, end: str | None
) -> TimeRange:
    """The range as asked (to the millisecond), or a 400."""
    if start is None or end is None:
        raise HTTPException(400, "give both start and end (seconds, or a clock time like 1:23.5)")
    return requested_range(recording, start, end, settings.clip_max_s)


def cut_span(settings: Settings, recording: Recording, span: TimeRange) -> TimeRange:
    """The range a clip of ``span`` holds: widened to the 100 ms grid."""
    return span.quantised(to_ms(recording.duration_s), to_ms(settings.clip_max_s))


def clip_name(recording: Recording, span: TimeRange, fmt: str) -> str:
    return f"ashyq-{recording.id}-{seconds_text(span.start)}-{seconds_text(span.end)}.{fmt}"


def _range_query(span: TimeRange) -> str:
    return f"start={span.start_text}&end={span.end_text}"


def clip_url(settings: Settings, rec: Recording, span: TimeRange, fmt: str) -> str:
    return recording_url(rec.id, f"clip.{fmt}", site=settings.site_url, query=_range_query(span))


def _record_url(settings: Settings, recording_id: int, span: TimeRange) -> str:
    """The provenance record (``clip.json``) of a range."""
    query = _range_query(span)
    return recording_url(recording_id, "clip.json", site=settings.site_url, query=query)


def status_url(settings: Settings, rec: Recording, span: TimeRange, fmt: str) -> str:
    query = f"format={fmt}&{_range_query(span)}"
    return recording_url(rec.id, "clip-status.json", site=settings.site_url, query=query)


def provenance(settings: Settings, q: Quote) -> dict[str, Any]:
    """The provenance record of a clip range: everything needed to check a quote against the
    record. It holds nothing that changes between requests (but which clips are cut yet), so it
    is itself reproducible. The record's range is the one asked for; each clip names its own,
    the range on the 100 ms grid that holds it."""
    rec, span = q.recording, q.span
    assert span is not None
    site = settings.site_url
    held = cut_span(settings, rec, span)
    produced: dict[str, Any] = {}
    for fmt in FORMATS:
        entry = clips.cached(settings.data_dir, rec, held, fmt)
        produced[fmt] = (
            None
            if entry is None
            else {
                "sha256": entry.clip_sha256,
                "size_bytes": entry.size_bytes,
                "mime": MIME[fmt],
                "start": held.start,
                "end": held.end,
                "url": clip_url(settings, rec, held, fmt),
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
        "clip_page": recording_url(rec.id, "clip", site=site, query=_range_query(span)),
        "verify": f"{site}/api/v1/verify",
    }


def _produce(value: str, staff: bool) -> tuple[str, ...]:
    asked = tuple(part.strip() for part in value.split(",") if part.strip())
    if asked == ("all",):
        asked = FORMATS
    unknown = [fmt for fmt in asked if fmt not in FORMATS]
    if unknown:
        raise HTTPException(400, f"formats: unknown {', '.join(unknown)}; use {', '.join(FORMATS)}")
    if len(asked) > 1 and not staff:
        raise HTTPException(403, "cutting several formats at once is for signed-in staff")
    return asked


PrincipalDep = Annotated[Principal | None, Depends(current_principal)]


def asker(request: Request, principal: Principal | None) -> Asker:
    if principal is not None:
        return Asker(f"user:{principal.user.id}", staff=True)
    return Asker(f"ip:{client_ip(request)}", staff=False)


def _limit_headers(order: Order) -> dict[str, str]:
    return {"Retry-After": str(order.retry_after)} if order.retry_after else {}


def _order_error(order: Order) -> JSONResponse:
    """The JSON answer to a refused or failed cut."""
    code = {403: "forbidden", 429: "rate_limited", 503: "unavailable"}.get(order.status, "failed")
    return JSONResponse(
        {"error": code, "detail": order.detail}, order.status, headers=_limit_headers(order)
    )


async def _cut(
    request: Request,
    settings: Settings,
    rec: Recording,
    span: TimeRange,
    formats: tuple[str, ...],
    principal: Principal | None,
) -> list[Order]:
    """Ask for the cuts of ``formats``, then wait for them a bounded time
    (``api.media.clip_jobs``)."""
    budget, who = budget_of(request), asker(request, principal)
    orders = []
    for fmt in formats:
        orders.append(await run_in_threadpool(place, settings, budget, rec, span, fmt, who))
    await settle(settings, request, orders)
    return orders


@router.get("/r/{recording_id}/quote.json")
def quote_record(
    recording_id: RowId,
    session: SessionDep,
    settings: SettingsDep,
    start: StartQ = None,
    end: EndQ = None,
) -> JSONResponse:
    """Permalink, citation (plain and Markdown, UI language) and text of a range; no clip cut."""
    rec = public_recording(session, recording_id)
    span = requested_range(rec, start, end)
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


def _quote_of(
    session: Session, settings: Settings, recording_id: RowId, start: str | None, end: str | None
) -> Quote:
    rec = public_recording(session, recording_id)
    return quote(rec, _span(settings, rec, start, end), settings.site_url)


@dataclass(frozen=True)
class ClipAsk:
    """What the clip record (``clip.json``) and the clip page are asked: a recording's range,
    and the formats to cut now."""

    request: Request
    session: Session
    settings: Settings
    principal: Principal | None
    recording_id: int
    start: str | None
    end: str | None
    formats: str

    async def orders(self) -> tuple[Quote, TimeRange, list[Order]]:
        """The quote of the range, the range its clips hold, and the cuts of ``formats`` (asked
        for, then waited for a bounded time). A range that is not one or an unknown format is a
        400, several formats for someone not signed in a 403, before anything is queued."""
        q = await run_in_threadpool(
            _quote_of, self.session, self.settings, self.recording_id, self.start, self.end
        )
        produce = _produce(self.formats, self.principal is not None)
        assert q.span is not None
        held = cut_span(self.settings, q.recording, q.span)
        orders = await _cut(self.request, self.settings, q.recording, held, produce, self.principal)
        return q, held, orders


async def _clip_ask(
    request: Request,
    recording_id: RowId,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    start: StartQ = None,
    end: EndQ = None,
    formats: Annotated[
        str, Query(description="cut these formats now: one (several or all: staff)")
    ] = "",
) -> ClipAsk:
    return ClipAsk(request, session, settings, principal, recording_id, start, end, formats)


ClipAskDep = Annotated[ClipAsk, Depends(_clip_ask)]


def _first_refusal(orders: list[Order]) -> Order | None:
    """The first cut that may not be made or failed: it answers for all."""
    return next((o for o in orders if o.outcome in ("refused", "failed")), None)


@router.get("/r/{recording_id}/clip.json")
async def clip_record(ask: ClipAskDep) -> JSONResponse:
    """The provenance record of a clip: original and clip hashes, exact range, transcript.

    With ``formats`` the cuts are asked for first: 202 with ``pending`` status URLs when they
    are not ready within the wait, 403/429/503 (``Retry-After``) when they may not be queued.
    """
    try:
        q, held, orders = await ask.orders()
    except HTTPException as exc:
        if exc.status_code == 404:
            raise
        code = "invalid_parameter" if exc.status_code == 400 else "forbidden"
        return JSONResponse({"error": code, "detail": exc.detail}, exc.status_code)
    if (refused := _first_refusal(orders)) is not None:
        return _order_error(refused)
    settings = ask.settings
    record = await run_in_threadpool(provenance, settings, q)
    waiting = [order for order in orders if order.outcome == "waiting"]
    if not waiting:
        return JSONResponse(record)
    record["pending"] = {o.fmt: status_url(settings, q.recording, held, o.fmt) for o in waiting}
    headers = {"Location": str(ask.request.url), **_limit_headers(waiting[0])}
    return JSONResponse(record, 202, headers=headers)


@router.get("/r/{recording_id}/clip", response_class=HTMLResponse, include_in_schema=False)
async def clip_page(ask: ClipAskDep) -> Response:
    """The provenance record for people: hashes, range, transcript, downloads, citation.

    ``formats`` asks for cuts; one still being made shows "being prepared, reload" with its
    status link (the page needs no JavaScript)."""
    request, settings = ask.request, ask.settings
    q, held, orders = await ask.orders()
    assert q.span is not None
    if (refused := _first_refusal(orders)) is not None:
        context = {"title": "Error", "message": refused.detail}
        return templates.TemplateResponse(
            request, "error.html", context, refused.status, headers=_limit_headers(refused)
        )
    rec = q.recording
    pending = {o.fmt: status_url(settings, rec, held, o.fmt) for o in orders if o.status == 202}
    context = {
        "rec": rec,
        "span": q.span,
        "quote": q,
        "record": await run_in_threadpool(provenance, settings, q),
        "formats": FORMATS,
        "pending": pending,
        "staff": ask.principal is not None,
        "query": _range_query(q.span),
        "clip_query": _range_query(held),
    }
    status = 202 if pending else 200
    return templates.TemplateResponse(request, "clip.html", context, status)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


@router.get("/r/{recording_id}/clip.{fmt}", response_class=FileResponse)
async def clip_file(
    request: Request,
    recording_id: RowId,
    fmt: Format,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    start: StartQ = None,
    end: EndQ = None,
) -> Response:
    """The range (widened to 100 ms) re-encoded, frame and sample accurate, cached,
    byte-identical on every request. Not cut within ``clip_wait_s``: 202 with ``Location``
    (the status URL) and ``Retry-After``; ask again for the file."""
    q = await run_in_threadpool(_quote_of, session, settings, recording_id, start, end)
    assert q.span is not None
    rec, held = q.recording, cut_span(settings, q.recording, q.span)
    (order,) = await _cut(request, settings, rec, held, (fmt,), principal)
    if order.outcome in ("refused", "failed"):
        return _order_error(order)
    if order.outcome == "waiting":
        body = {
            "state": order.job.state if order.job else "queued",
            "status": status_url(settings, rec, held, fmt),
            "url": clip_url(settings, rec, held, fmt),
            "detail": "the clip is being prepared; ask for it again shortly",
        }
        headers = {"Location": body["status"], **_limit_headers(order)}
        if _wants_html(request):
            context = {"rec": rec, "span": held, "fmt": fmt, **body}
            headers["Refresh"] = str(order.retry_after)
            return templates.TemplateResponse(request, "clip_pending.html", context, 202, headers)
        return JSONResponse(body, 202, headers=headers)
    await run_in_threadpool(touch, order.path)
    digest = order.path.with_name(order.path.name + ".sha256").read_text().strip()
    return RevalidatedFile(
        order.path,
        media_type=MIME[fmt],
        filename=clip_name(rec, held, fmt),
        content_disposition_type="inline",
        headers=media_headers(
            {
                "Cache-Control": REVALIDATE,
                "ETag": f'"{digest}"',
                "X-Clip-SHA256": digest,
                "Link": f'<{_record_url(settings, rec.id, held)}>; rel="describedby"',
            }
        ),
    )


@router.get("/r/{recording_id}/clip-status.json")
def clip_status(
    recording_id: RowId,
    session: SessionDep,
    settings: SettingsDep,
    fmt: Annotated[Format, Query(alias="format", description="mp4, webm, m4a or mp3")],
    start: StartQ = None,
    end: EndQ = None,
) -> JSONResponse:
    """Where a queued cut stands: ``done`` (with its URL and hash), ``queued``, ``running``,
    ``failed`` (with the error) or ``none`` (not asked for, or lost: ask for the clip again)."""
    rec = public_recording(session, recording_id)
    held = cut_span(settings, rec, _span(settings, rec, start, end))
    out: dict[str, Any] = {"url": clip_url(settings, rec, held, fmt)}
    entry = clips.cached(settings.data_dir, rec, held, fmt)
    job = read_job(job_path(settings.data_dir, rec.sha256, held, fmt))
    if entry is not None:
        return JSONResponse({"state": "done", "sha256": entry.clip_sha256, **out})
    if job is None or not job.alive(settings.clip_job_expire_s):
        return JSONResponse({"state": "none", **out})
    if job.state == "failed":
        return JSONResponse({"state": "failed", "detail": job.error, **out})
    mark_asked(settings.data_dir, rec.sha256, held, fmt)  # the poller still wants it
    retry = str(max(2, min(30, round(job.cost_s))))
    return JSONResponse({"state": job.state, **out}, headers={"Retry-After": retry})


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
            "archive_url": recording_url(
                r.recording_id, site=settings.site_url, query=span.query()
            ),
            "provenance": _record_url(settings, r.recording_id, span),
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
    verdict = verify_digest(
        settings.data_dir, digest.hexdigest(), recording_id=recording_id, start=start, end=end
    )
    return verdict_json(verdict, settings, session)
