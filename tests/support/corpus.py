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
from sqlalchemy.orm import selectinload

from archive.db import session_scope
from archive.models import Body, Recording, RecordingStatus, Segment, Speaker, segment_id
from archive.settings import Settings
from search.meili.client import master_client
from search.meili.indexer import index_recording
from search.meili.schema import ensure_index

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


def timed_words(text: str, start: float) -> list[list]:
    """Whisper-like word timings: each word SECONDS_PER_WORD long, one after another."""
    return [
        [start + i * SECONDS_PER_WORD, start + (i + 1) * SECONDS_PER_WORD, f" {word}", 0.9]
        for i, word in enumerate(text.split())
    ]


def seed(settings: Settings, recordings: list[Rec], media: Path | None = None) -> list[Rec]:
    """Write ``recordings`` (and the bodies/speakers they name) and index them; ``media``, if
    given, is the playable file every recording points at."""
    relative = "seed/media" + (media.suffix if media else ".m4a")
    if media is not None:
        target = settings.media_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(media, target)
    client = master_client(settings)
    ensure_index(client, settings.meili_index)
    with session_scope(settings.db_url) as session:
        bodies = {}
        for slug, (name, names) in BODIES.items():
            bodies[slug] = Body(slug=slug, name=name, **{f"name_{k}": v for k, v in names.items()})
            session.add(bodies[slug])
        speakers = {}
        for slug, (name, names) in SPEAKERS.items():
            speakers[slug] = Speaker(
                slug=slug, name=name, **{f"name_{k}": v for k, v in names.items()}
            )
            session.add(speakers[slug])
        session.flush()
        for n, spec in enumerate(recordings):
            sha = hashlib.sha256(f"{spec.title}-{n}".encode()).hexdigest()
            rec = Recording(
                sha256=sha,
                title=spec.title,
                body=bodies[spec.body],
                recorded_on=spec.day,
                original_name="seed.m4a",
                original_path=relative,
                playable_path=relative,
                playable_mime="audio/mp4",
                size_bytes=1,
                duration_s=0.0,
                container="mp4",
                status=RecordingStatus.ready,
                published=spec.published,
                deleted_at=datetime.now(UTC) if spec.deleted else None,
                event_type=spec.event_type,
                languages=sorted({lang for lang, _ in spec.lines}),
                transcript_model="seed",
            )
            session.add(rec)
            session.flush()
            at = 1.0
            for idx, (language, text) in enumerate(spec.lines):
                words = timed_words(text, at)
                end = words[-1][1]
                session.add(
                    Segment(
                        id=segment_id(rec.id, idx),
                        recording_id=rec.id,
                        idx=idx,
                        start=at,
                        end=end,
                        text=text,
                        language=language,
                        words=words,
                        speaker=speakers.get(spec.speaker) if spec.speaker else None,
                    )
                )
                spec.segment_starts.append(at)
                at = end + GAP
            rec.duration_s = at
            spec.id = rec.id
        session.flush()
        for spec in recordings:
            rec = session.get(
                Recording,
                spec.id,
                options=[selectinload(Recording.segments)],
                populate_existing=True,
            )
            index_recording(client, settings.meili_index, rec)
    return recordings


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
