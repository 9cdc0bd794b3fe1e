"""One factory for test data: bodies, recordings, segments, media files and staff users, written
straight into the database, the media store and the index the way ingest leaves them.

Tests of search, pages, clips, exports and the staff area need recordings with known words at
known times, not a transcription run (the pipeline's own tests do that). Every row gets a
default for each required column, so a test names only what it is about; a recording is added
and flushed (it has an id) but not indexed until ``index`` is called, so a test can still change
it, add segments or leave it out of search.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.access import accounts
from archive.db import session_scope
from archive.media import storage
from archive.models import Body, Recording, RecordingStatus, Segment, Speaker, segment_id
from archive.settings import Settings
from search.meili.client import master_client
from search.meili.indexer import index_recording
from search.meili.schema import ensure_index
from tests.support.media_factory import ffmpeg

DAY = date(2026, 3, 1)
# (start s, end s, text) or (start s, end s, text, language): one segment each.
Span = tuple[float, float, str] | tuple[float, float, str, str]
WordTimer = Callable[[float, float, str], list[list[Any]]]


def make_body(session: Session, slug: str, name: str | None = None, **names: str) -> Body:
    """The body with this slug, made when there is none (``names``: ``name_kk=…``, ``name_en=…``);
    seeding twice or two helpers naming one body never trips the slug's unique key."""
    body = session.scalar(select(Body).where(Body.slug == slug))
    if body is None:
        body = Body(slug=slug, name=name or slug.title(), **names)
        session.add(body)
        session.flush()
    return body


def make_speaker(session: Session, slug: str, name: str, **names: str) -> Speaker:
    """The speaker with this slug, made when there is none (``names``: ``name_ru=…``, …)."""
    speaker = session.scalar(select(Speaker).where(Speaker.slug == slug))
    if speaker is None:
        speaker = Speaker(slug=slug, name=name, **names)
        session.add(speaker)
        session.flush()
    return speaker


def make_recording(session: Session, body: Body, **fields: Any) -> Recording:
    """A ready, published English recording of ``body``, added and flushed; ``fields`` set any
    column (``title``, ``sha256``, ``playable_path``, ``status="live"`` …). Without a
    ``sha256`` it gets a unique one, so a test can make as many as it likes."""
    values: dict[str, Any] = {
        "sha256": uuid.uuid4().hex * 2,
        "title": "Budget hearing",
        "recorded_on": DAY,
        "original_name": "",
        "original_path": "",
        "playable_path": "",
        "playable_mime": "audio/mp4",
        "size_bytes": 1,
        "duration_s": 0.0,
        "container": "mp4",
        "status": RecordingStatus.ready,
        "published": True,
        "languages": ["en"],
        **fields,
    }
    recording = Recording(body=body, **values)
    session.add(recording)
    session.flush()
    return recording


def even_words(start: float, end: float, text: str) -> list[list[Any]]:
    """Whisper-like word timings: the words of ``text`` share ``start``–``end`` evenly (ms)."""
    words = text.split()
    step = (end - start) / len(words)
    return [
        [round(start + i * step, 3), round(start + (i + 1) * step, 3), f" {word}", 0.9]
        for i, word in enumerate(words)
    ]


def make_segments(
    session: Session,
    recording: Recording,
    spans: Iterable[Span],
    *,
    language: str = "en",
    words: WordTimer | None = even_words,
    first_idx: int = 0,
) -> list[Segment]:
    """One segment per span, numbered from ``first_idx`` with the pipeline's ids; ``words``
    times each segment's words (None: no word timings, as an imported transcript has). Returns
    them flushed, for a test to give one a speaker or mark it reviewed."""
    segments = []
    for idx, (start, end, text, *lang) in enumerate(spans, start=first_idx):
        segment = Segment(
            id=segment_id(recording.id, idx),
            recording_id=recording.id,
            idx=idx,
            start=start,
            end=end,
            text=text,
            language=lang[0] if lang else language,
            words=words(start, end, text) if words else [],
        )
        session.add(segment)
        segments.append(segment)
    session.flush()
    return segments


def store_media(settings: Settings, media: Path) -> tuple[str, str]:
    """Copy ``media`` into the media store where ingest keeps an original; returns its SHA-256
    and the path relative to the media folder (what ``original_path`` holds)."""
    sha = storage.sha256_file(media)
    relative = storage.recording_dir(sha) / f"original{media.suffix}"
    target = settings.media_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(media, target)
    return sha, str(relative)


def index(settings: Settings, session: Session, recordings: Sequence[Recording]) -> None:
    """Index ``recordings`` as the pipeline does, with the segments now in the database."""
    session.flush()
    client = master_client(settings)
    ensure_index(client, settings.meili_index)
    for recording in recordings:
        session.expire(recording, ["segments"])
        index_recording(client, settings.meili_index, recording)


def indexed_recording(
    settings: Settings,
    texts: list[str],
    *,
    media: Path,
    title: str = "Budget hearing",
    body: str = "mazhilis",
) -> int:
    """A ready, published recording of ``media`` (a WAV) with one 2-second segment per text and
    no word timings, stored and indexed the way the pipeline leaves one; returns its id."""
    sha, relative = store_media(settings, media)
    with session_scope(settings.db_url) as session:
        recording = make_recording(
            session,
            make_body(session, body),
            sha256=sha,
            title=title,
            original_name=media.name,
            original_path=relative,
            playable_path=relative,
            playable_mime="audio/wav",
            size_bytes=media.stat().st_size,
            duration_s=2.0 * len(texts),
            container="wav",
        )
        spans = [(2.0 * idx, 2.0 * idx + 2.0, text) for idx, text in enumerate(texts)]
        make_segments(session, recording, spans, words=None)
        index(settings, session, [recording])
        return recording.id


def tone(folder: Path, seconds: float = 2.0, freq: int = 440) -> Path:
    """A short WAV that ffprobe accepts (a different ``freq`` gives different bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"tone-{freq}.wav"
    ffmpeg("-f", "lavfi", "-i", f"sine=frequency={freq}:duration={seconds}", "-ac", "1", str(path))
    return path


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    role: str
    token: str


def make_user(settings: Settings, role: str) -> Account:
    """A staff user with a unique address, a password (hashed with argon2 for real) and a
    personal API token; the plain password and token are returned for signing in."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    password = f"pw-{uuid.uuid4().hex}"
    with session_scope(settings.db_url) as session:
        user = accounts.create_user(session, email, password, role)
        token, _row = accounts.create_token(session, user, "tests")
    return Account(email, password, role, token)


@dataclass(frozen=True)
class StaffAccounts:
    admin: Account
    editor: Account


def make_staff_accounts(settings: Settings) -> StaffAccounts:
    """An admin and an editor, for a whole test run (the ``staff`` fixture)."""
    return StaffAccounts(admin=make_user(settings, "admin"), editor=make_user(settings, "editor"))
