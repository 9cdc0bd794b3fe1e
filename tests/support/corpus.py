"""A small archive written straight into the database and indexed the way the pipeline indexes:
for tests of search, pages and browsing that need many recordings with known words, dates,
bodies and speakers, without transcribing each (the pipeline's own tests do that)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from archive.db import session_scope
from archive.models import Body, Recording, Speaker
from archive.settings import Settings
from tests.support.factory import (
    index,
    make_body,
    make_recording,
    make_segments,
    make_speaker,
)

SECONDS_PER_WORD = 0.5
GAP = 1.0


@dataclass
class Rec:
    title: str
    body: str
    day: date
    lines: list[tuple[str, str]]  # (language, text), one segment each
    event_type: str | None = None
    speaker: str | None = None  # speaker slug for every segment
    published: bool = True
    deleted: bool = False
    id: int = 0
    segment_starts: list[float] = field(default_factory=list)


BODIES = {
    "mazhilis": ("Мәжіліс", {"kk": "Мәжіліс", "ru": "Мажилис", "en": "Mazhilis"}),
    "senate": ("Сенат", {"kk": "Сенат", "ru": "Сенат", "en": "Senate"}),
}
SPEAKERS = {
    "tokayev": (
        "Қасым-Жомарт Тоқаев",
        {"ru": "Касым-Жомарт Токаев", "en": "Kassym-Jomart Tokayev"},
    ),
}


def seed(settings: Settings, recordings: list[Rec], media: Path | None = None) -> list[Rec]:
    """Write ``recordings`` (and the bodies/speakers they name) and index them; ``media``, if
    given, is the playable file every recording points at."""
    relative = "seed/media" + (media.suffix if media else ".m4a")
    if media is not None:
        target = settings.media_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(media, target)
    with session_scope(settings.db_url) as session:
        bodies = {
            slug: make_body(session, slug, name, **{f"name_{k}": v for k, v in names.items()})
            for slug, (name, names) in BODIES.items()
        }
        speakers = {
            slug: make_speaker(session, slug, name, **{f"name_{k}": v for k, v in names.items()})
            for slug, (name, names) in SPEAKERS.items()
        }
        rows = [
            write(session, spec, n, bodies[spec.body], speakers, relative)
            for n, spec in enumerate(recordings)
        ]
        index(settings, session, rows)
    return recordings


def write(
    session: Session, spec: Rec, n: int, body: Body, speakers: dict[str, Speaker], relative: str
) -> Recording:
    """One ``Rec`` as a recording whose segments follow each other GAP s apart, each word
    SECONDS_PER_WORD long; fills in the spec's ``id`` and ``segment_starts``."""
    rec = make_recording(
        session,
        body,
        sha256=hashlib.sha256(f"{spec.title}-{n}".encode()).hexdigest(),
        title=spec.title,
        recorded_on=spec.day,
        original_name="seed.m4a",
        original_path=relative,
        playable_path=relative,
        published=spec.published,
        deleted_at=datetime.now(UTC) if spec.deleted else None,
        event_type=spec.event_type,
        languages=sorted({lang for lang, _ in spec.lines}),
        transcript_model="seed",
    )
    spans, at = [], 1.0
    for language, text in spec.lines:
        end = at + SECONDS_PER_WORD * len(text.split())
        spans.append((at, end, text, language))
        spec.segment_starts.append(at)
        at = end + GAP
    segments = make_segments(session, rec, spans)
    for segment in segments:
        segment.speaker = speakers.get(spec.speaker) if spec.speaker else None
    rec.duration_s = at
    spec.id = rec.id
    return rec


# A sample archive: three recordings about the budget in three languages, two hidden ones, and
# twelve committee meetings (for pagination).
RAILWAY = [
    Rec(
        f"Transport committee {n}",
        "senate",
        date(2024, 1, 1 + n),
        [("en", f"Item {n} on the agenda."), ("en", "The railway funding was approved today.")],
        event_type="committee",
    )
    for n in range(12)
]
CORPUS = [
    Rec(
        "Бюджет отырысы",
        "mazhilis",
        date(2025, 3, 10),
        [
            ("kk", "Құрметті депутаттар, отырысты ашамыз."),
            ("kk", "Бюджеттің жобасы депутаттармен талқыланды."),
            ("kk", "Салық кодексі туралы да сөз болды."),
            ("kk", "Бюджет жобасы мен салық кодексі бірге қаралады."),
            ("kk", "Келесі мәселеге көшеміз."),
        ],
        event_type="plenary",
        speaker="tokayev",
    ),
    Rec(
        "Заседание Сената",
        "senate",
        date(2026, 5, 1),
        [
            ("ru", "Добрый день, уважаемые коллеги."),
            ("ru", "Депутаты обсудили проект бюджета на следующий год."),
        ],
        event_type="hearing",
    ),
    Rec(
        "Briefing on the budget",
        "mazhilis",
        date(2026, 1, 15),
        [("en", "The ministry presented the budget draft to journalists.")],
        event_type="briefing",
    ),
    Rec("Withdrawn", "mazhilis", date(2026, 2, 1), [("kk", "Бюджет құпия.")], published=False),
    Rec("Deleted", "mazhilis", date(2026, 2, 2), [("kk", "Бюджет өшірілді.")], deleted=True),
    *RAILWAY,
]


@contextmanager
def corpus_site(settings: Settings) -> Iterator[TestClient]:
    """The app on the sample archive (CORPUS), emptied again afterwards: for module fixtures."""
    from api.app import create_app
    from tests.conftest import clean_archive

    clean_archive(settings)
    seed(settings, CORPUS)
    with TestClient(create_app(settings)) as client:
        yield client
    clean_archive(settings)
