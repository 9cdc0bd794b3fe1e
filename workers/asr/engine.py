"""What every speech engine gives and what the pipeline needs of one.

The ingest pipeline, the live capture, chunking and evaluation see only ``Engine`` and the
segment types; faster-whisper and openai-whisper (and the router over per-language models) sit
behind it, so another recogniser is one new module here, not a change in its callers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

# Part of every engine's ``model_id``: raising it re-transcribes on purpose.
PIPELINE_VERSION = 3  # 3: repetition loops detected, decoded again, else marked unintelligible
SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str
    probability: float


@dataclass(frozen=True)
class TranscribedSegment:
    start: float
    end: float
    text: str
    language: str | None
    words: list[Word] = field(default_factory=list)
    avg_logprob: float | None = None
    window: int = 0  # which decoding window produced it (internal; not stored)
    # Speech every decoding attempt turned into a repetition loop: timing kept, text "".
    unintelligible: bool = False


class Engine(Protocol):
    """What the pipeline needs of a speech recogniser."""

    @property
    def model_id(self) -> str:
        """Names the model and settings, so a change re-transcribes on purpose."""
        ...

    def transcribe(
        self, audio_path: Path, on_progress: Callable[[float], None] | None = None
    ) -> Iterator[TranscribedSegment]: ...


class SpanEngine(Engine, Protocol):
    """An engine that can also transcribe a span of samples in a given language (routing)."""

    def transcribe_array(
        self, audio: Any, offset: float, language: str | None
    ) -> list[TranscribedSegment]: ...
