"""Search documents: one per transcript segment, carrying its recording's title, body and date."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from archive.models import Recording, Segment
from search.folding import fold
from search.stemming import stem_text


def date_ts(recording: Recording) -> int:
    """The recording date as a Unix timestamp (UTC midnight): Meilisearch filters numbers."""
    return int(datetime.combine(recording.recorded_on, time()).timestamp())


def word_offsets(text: str, words: list) -> list[list[float]]:
    """``[[character offset in text, start second], …]`` for each timed word found in the text.

    Lets a search hit point at the second its matching word is spoken, not where a (possibly
    30-second) segment begins.
    """
    offsets: list[list[float]] = []
    cursor = 0
    for start, _end, word, *_ in words:
        token = str(word).strip()
        if not token:
            continue
        at = text.find(token, cursor)
        if at < 0:
            continue
        offsets.append([at, start])
        cursor = at + len(token)
    return offsets


def segment_document(recording: Recording, segment: Segment, gen: int) -> dict[str, Any]:
    return {
        "id": segment.id,
        "recording_id": recording.id,
        "idx": segment.idx,
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "text_folded": fold(segment.text),
        "text_stem": stem_text(segment.text, segment.language),
        "word_offsets": word_offsets(segment.text, segment.words),
        "language": segment.language,
        "title": recording.title,
        "body": recording.body.slug,
        "body_name": recording.body.name,
        "date": recording.recorded_on.isoformat(),
        "date_ts": date_ts(recording),
        "duration": recording.duration_s,
        "published": recording.published,
        "gen": gen,
    }
