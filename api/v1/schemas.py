"""The shapes /api/v1 shares: a transcript segment and its timed words, and the error answer.

A segment has one set of fields and one builder (``segment_fields``). Its words travel in two
spellings, because clients already read both: ``/recordings/{id}/transcript`` (and the OpenAPI
examples) gives objects, ``{"start", "end", "word", "probability"}``; ``/recordings/{id}`` gave
``[start, end, word, probability]`` lists from the first version, and scripts index into them
(the end-to-end test reads ``w[2]``). Turning either into the other would break those clients, so
the two models differ in the type of ``words`` only and keep their schema names.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from archive.models import Segment


class ErrorOut(BaseModel):
    """Every error answer: a stable machine-readable code and a human-readable detail."""

    error: str = Field(examples=["not_found"])
    detail: str = Field(examples=["recording 42 not found"])


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "invalid_parameter"},
    404: {"model": ErrorOut, "description": "not_found"},
    429: {"model": ErrorOut, "description": "rate_limited (see Retry-After)"},
}


class WordOut(BaseModel):
    start: float
    end: float
    word: str
    probability: float


class SegmentFields(BaseModel):
    """What every segment of the API says, whichever spelling its words take."""

    id: str = Field(examples=["42-0"])
    start: float
    end: float
    text: str
    language: str | None = Field(examples=["kk"])
    speaker: str | None = Field(examples=["tokayev"])
    reviewed: bool


class TranscriptSegment(SegmentFields):
    """A segment of ``/recordings/{id}/transcript``: words as objects."""

    words: list[WordOut]


class SegmentOut(SegmentFields):
    """A segment of ``/recordings/{id}``: words as ``[start, end, word, probability]``."""

    words: list[tuple[float, float, str, float]]


def segment_fields(segment: Segment) -> dict[str, Any]:
    """The fields both segment models share, read from the row."""
    return {
        "id": segment.id,
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "language": segment.language,
        "speaker": segment.speaker.slug if segment.speaker else None,
        "reviewed": segment.reviewed,
    }


def word_out(word: list[Any]) -> WordOut:
    """A stored word, ``[start, end, word]`` or with its probability (0 when none was kept)."""
    probability = word[3] if len(word) > 3 else 0
    return WordOut(start=word[0], end=word[1], word=word[2], probability=probability)


def transcript_segment(segment: Segment) -> TranscriptSegment:
    words = [word_out(w) for w in segment.words]
    return TranscriptSegment(**segment_fields(segment), words=words)


def segment_out(segment: Segment) -> SegmentOut:
    return SegmentOut(**segment_fields(segment), words=[tuple(w) for w in segment.words])
