"""The open JSON API beyond search: recordings (filtered, cursor-paginated), a recording's
transcript, bodies, speakers and the bulk dump. Ids are the database ids and never change.

Cursor pagination (not pages): a cursor names the last recording seen, so paging stays correct
while new recordings arrive.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import String, and_, cast, func, or_, select

from api.deps import RowId, SessionDep, SettingsDep
from api.reading.recordings import public_recording
from api.reading.results import visible
from api.reading.search_params import SLUG
from api.v1.schemas import ERRORS, TranscriptSegment, transcript_segment
from archive.models import EVENT_TYPES, Body, Recording, Speaker
from web.links import recording_url
from workers.services import dumps

router = APIRouter(prefix="/api/v1", tags=["api v1"])


def example(sample: dict[str, Any]) -> ConfigDict:
    """A model's config giving ``sample`` as its one example in the OpenAPI schema."""
    return ConfigDict(json_schema_extra={"examples": [sample]})


class RecordingSummary(BaseModel):
    model_config = example(
        {
            "id": 42,
            "title": "Mazhilis plenary session",
            "body": "mazhilis",
            "body_name": "Мәжіліс",
            "date": "2026-03-15",
            "event_type": "plenary",
            "duration_s": 5412.3,
            "languages": ["kk", "ru"],
            "sha256": "9f2c…",
            "page_url": "https://ashyq.example/r/42",
            "media_url": "https://ashyq.example/media/42/playable",
            "transcript_url": "https://ashyq.example/api/v1/recordings/42/transcript",
        }
    )

    id: int
    title: str
    body: str
    body_name: str
    date: str
    event_type: str | None
    duration_s: float
    languages: list[str]
    sha256: str
    page_url: str
    media_url: str
    transcript_url: str


class RecordingList(BaseModel):
    model_config = example({"items": [], "next_cursor": "MjAyNi0wMy0xNXw0Mg"})

    items: list[RecordingSummary]
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null on the last page"
    )


class Transcript(BaseModel):
    model_config = example(
        {
            "recording_id": 42,
            "transcript_model": "whisper-base",
            "segments": [
                {
                    "id": "42-0",
                    "start": 0.0,
                    "end": 2.4,
                    "text": "Құрметті депутаттар!",
                    "language": "kk",
                    "speaker": None,
                    "reviewed": False,
                    "words": [{"start": 0.0, "end": 0.9, "word": "Құрметті", "probability": 0.93}],
                }
            ],
        }
    )

    recording_id: int
    transcript_model: str | None
    segments: list[TranscriptSegment]


class Names(BaseModel):
    kk: str
    ru: str
    en: str


class BodyOut(BaseModel):
    model_config = example(
        {
            "slug": "mazhilis",
            "name": "Мәжіліс",
            "names": {"kk": "Мәжіліс", "ru": "Мажилис", "en": "Mazhilis"},
            "recordings": 120,
            "feed_url": "https://ashyq.example/feeds/bodies/mazhilis.atom",
        }
    )

    slug: str
    name: str
    names: Names
    recordings: int
    feed_url: str


class SpeakerOut(BaseModel):
    model_config = example(
        {
            "slug": "tokayev",
            "name": "Қасым-Жомарт Тоқаев",
            "names": {
                "kk": "Қасым-Жомарт Тоқаев",
                "ru": "Касым-Жомарт Токаев",
                "en": "Kassym-Jomart Tokayev",
            },
            "position": "President",
            "body": None,
        }
    )

    slug: str
    name: str
    names: Names
    position: str | None
    body: str | None


class DumpFile(BaseModel):
    name: str
    bytes: int
    sha256: str
    url: str


class DumpOut(BaseModel):
    model_config = example(
        {
            "name": "20261127T030000Z",
            "created_at": "2026-11-27T03:00:00+00:00",
            "recordings": 1200,
            "segments": 350000,
            "format_version": 1,
            "files": [
                {
                    "name": "transcripts.jsonl.gz",
                    "bytes": 104857600,
                    "sha256": "3a7bd3e2360a3d29…",
                    "url": "https://ashyq.example/api/v1/dumps/20261127T030000Z/transcripts.jsonl.gz",
                }
            ],
            "sha256sums_url": "https://ashyq.example/api/v1/dumps/20261127T030000Z/SHA256SUMS",
        }
    )

    name: str
    created_at: str
    recordings: int
    segments: int
    format_version: int
    files: list[DumpFile]
    sha256sums_url: str


def _names(row: Body | Speaker) -> Names:
    return Names(**{lang: row.localized_name(lang) for lang in ("kk", "ru", "en")})


def _summary(site: str, rec: Recording) -> RecordingSummary:
    return RecordingSummary(
        id=rec.id,
        title=rec.title,
        body=rec.body.slug,
        body_name=rec.body.name,
        date=rec.recorded_on.isoformat(),
        event_type=rec.event_type,
        duration_s=rec.duration_s,
        languages=rec.languages,
        sha256=rec.sha256,
        page_url=recording_url(rec.id, site=site),
        media_url=f"{site}/media/{rec.id}/playable",
        transcript_url=f"{site}/api/v1/recordings/{rec.id}/transcript",
    )


def encode_cursor(rec: Recording) -> str:
    raw = f"{rec.recorded_on.isoformat()}|{rec.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[date, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        day, _, rid = raw.partition("|")
        return date.fromisoformat(day), int(rid)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(400, "cursor: not a cursor this API gave out") from exc


@router.get("/recordings", response_model=RecordingList, responses=ERRORS)
def api_recordings(
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[str | None, Query(max_length=64, pattern=SLUG, description="body slug")] = None,
    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    language: Annotated[
        str | None, Query(pattern=r"^[a-z]{2,3}$", description="a language spoken in it")
    ] = None,
    event_type: Annotated[
        str | None, Query(description=f"one of: {', '.join(EVENT_TYPES)}")
    ] = None,
    date_from: Annotated[date | None, Query(alias="from", description="on or after")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="on or before")] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="from next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> RecordingList:
    """Published recordings, newest first (by recording date, then id)."""
    if event_type is not None and event_type not in EVENT_TYPES:
        raise HTTPException(400, f"event_type: must be one of {', '.join(EVENT_TYPES)}")
    query = visible(select(Recording))
    if body is not None:
        query = query.join(Recording.body).where(Body.slug == body)
    if year is not None:
        query = query.where(func.extract("year", Recording.recorded_on) == year)
    if language is not None:
        query = query.where(cast(Recording.languages, String).like(f'%"{language}"%'))
    if event_type is not None:
        query = query.where(Recording.event_type == event_type)
    if date_from is not None:
        query = query.where(Recording.recorded_on >= date_from)
    if date_to is not None:
        query = query.where(Recording.recorded_on <= date_to)
    if cursor:
        day, rid = decode_cursor(cursor)
        query = query.where(
            or_(
                Recording.recorded_on < day,
                and_(Recording.recorded_on == day, Recording.id < rid),
            )
        )
    rows = list(
        session.scalars(
            query.order_by(Recording.recorded_on.desc(), Recording.id.desc()).limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return RecordingList(
        items=[_summary(settings.site_url, r) for r in rows],
        next_cursor=encode_cursor(rows[-1]) if more else None,
    )


@router.get("/recordings/{recording_id}/transcript", response_model=Transcript, responses=ERRORS)
def api_transcript(recording_id: RowId, session: SessionDep) -> Transcript:
    """A published recording's transcript: segments in order, each with its timed words."""
    rec = public_recording(session, recording_id)
    return Transcript(
        recording_id=rec.id,
        transcript_model=rec.transcript_model,
        segments=[transcript_segment(s) for s in rec.segments],
    )


@router.get("/bodies", response_model=list[BodyOut])
def api_bodies(session: SessionDep, settings: SettingsDep) -> list[BodyOut]:
    """Every body with at least one published recording, and how many it has."""
    counts = session.execute(
        visible(select(Body, func.count(Recording.id)).join(Recording.body))
        .group_by(Body.id)
        .order_by(Body.slug)
    )
    return [
        BodyOut(
            slug=b.slug,
            name=b.name,
            names=_names(b),
            recordings=n,
            feed_url=f"{settings.site_url}/feeds/bodies/{b.slug}.atom",
        )
        for b, n in counts
    ]


@router.get("/speakers", response_model=list[SpeakerOut])
def api_speakers(session: SessionDep) -> list[SpeakerOut]:
    """Every known speaker (the ``speaker`` filter of search takes the slug)."""
    return [
        SpeakerOut(
            slug=s.slug,
            name=s.name,
            names=_names(s),
            position=s.position,
            body=s.body.slug if s.body else None,
        )
        for s in session.scalars(select(Speaker).order_by(Speaker.slug))
    ]


@router.get("/dumps/latest", response_model=DumpOut, responses=ERRORS)
def api_latest_dump(settings: SettingsDep) -> DumpOut:
    """The newest bulk dump: every published transcript as gzip JSON Lines (one recording a
    line, the shape of ``/recordings/{id}/transcript`` plus the recording's fields), made each
    night, with the SHA-256 of each file."""
    folder = dumps.latest(settings)
    if folder is None:
        raise HTTPException(404, "no dump has been made yet")
    manifest = json.loads((folder / dumps.MANIFEST).read_text())
    base = f"{settings.site_url}/api/v1/dumps/{folder.name}"
    return DumpOut(
        name=manifest["name"],
        created_at=manifest["created_at"],
        recordings=manifest["recordings"],
        segments=manifest["segments"],
        format_version=manifest["format_version"],
        files=[DumpFile(**f, url=f"{base}/{f['name']}") for f in manifest["files"]],
        sha256sums_url=f"{base}/{dumps.SUMS_FILE}",
    )


@router.get("/dumps/{name}/{filename}", responses=ERRORS, response_class=FileResponse)
def api_dump_file(name: str, filename: str, settings: SettingsDep) -> FileResponse:
    """A file of a dump that is still kept (``transcripts.jsonl.gz``, ``SHA256SUMS``,
    ``manifest.json``)."""
    known = {p.name: p for p in dumps.list_dumps(settings)}
    if name not in known or filename not in (dumps.DATA_FILE, dumps.SUMS_FILE, dumps.MANIFEST):
        raise HTTPException(404, f"no dump file {name}/{filename}")
    types = {dumps.DATA_FILE: "application/gzip", dumps.MANIFEST: "application/json"}
    return FileResponse(
        known[name] / filename,
        media_type=types.get(filename, "text/plain"),
        filename=filename,
    )
