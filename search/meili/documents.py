"""Search documents: one per transcript segment, with what search filters and ranks on.

Only what search needs goes in (the index's disk cost is per segment): the text in its forms
(``text_forms``), the facets and the time range. Word timings, the title, names in every language
and the rest stay in the database; pages look them up for the hits they show.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from archive.models import Recording, Segment
from archive.public import is_visible
from search.text.folding import fold
from search.text.stemming import SHIPPED, Stemming, stem_text


def date_ts(recording: Recording) -> int:
    """The recording date as a Unix timestamp (UTC midnight): Meilisearch filters numbers."""
    return int(datetime.combine(recording.recorded_on, time()).timestamp())


def is_public(recording: Recording) -> bool:
    """Whether the public may find it (archive.public: ready, published, not deleted)."""
    return is_visible(recording)


def text_forms(text: str, language: str | None, stemming: Stemming = SHIPPED) -> dict[str, str]:
    """The searchable forms of a segment's text: as spoken, script-folded, and reduced by its
    language (Kazakh stems, Russian and English Snowball stems: search.text.stemming).

    The reduced form is kept only where it changed a word; elsewhere (unknown languages, segments
    of uninflected words) it equals the folded form word for word, and the stem query also
    searches ``text_folded`` (search.meili.query), so a copy would only cost disk
    (bench/search.py). It is kept as "" rather than left out: Meilisearch refuses to search an
    attribute no document has yet.
    """
    folded = fold(text)
    stem = stem_text(text, language, stemming)
    return {"text": text, "text_folded": folded, "text_stem": stem if stem != folded else ""}


def is_searchable(segment: Segment) -> bool:
    """Unintelligible segments (speech Whisper only turned into repetition loops) have no text to
    find: left out of the index, so a search without words never lists them as moments."""
    return not segment.unintelligible


def segment_document(recording: Recording, segment: Segment, gen: int) -> dict[str, Any]:
    return {
        "id": segment.id,
        "recording_id": recording.id,
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        **text_forms(segment.text, segment.language),
        "language": segment.language,
        "speaker": segment.speaker.slug if segment.speaker else None,
        "body": recording.body.slug,
        "event_type": recording.event_type,
        "year": recording.recorded_on.year,
        "date_ts": date_ts(recording),
        "published": is_public(recording),
        "gen": gen,
    }
