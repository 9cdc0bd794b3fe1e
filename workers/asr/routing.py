"""One engine for most speech, another model for one language's segments.

Settings may name a model per language (``whisper_language_models``): after the default pass,
consecutive segments detected in a routed language are joined into spans of at most one Whisper
window and transcribed again by that language's engine, with the language fixed; its segments
replace the default ones there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from workers.asr.engine import SAMPLE_RATE, Engine, SpanEngine, TranscribedSegment
from workers.asr.speech import MAX_SPAN_S, samples


@dataclass
class RoutedEngine:
    """The default engine, then a language's own model for that language's segments."""

    default: Engine
    routes: dict[str, SpanEngine]

    @property
    def model_id(self) -> str:
        routed = ",".join(
            f"{lang}={engine.model_id}" for lang, engine in sorted(self.routes.items())
        )
        return f"{self.default.model_id}|{routed}"

    def transcribe(
        self, audio_path: Path, on_progress: Callable[[float], None] | None = None
    ) -> Iterator[TranscribedSegment]:
        from faster_whisper import decode_audio

        found = list(self.default.transcribe(audio_path, on_progress))
        if not any(seg.language in self.routes for seg in found):
            yield from found
            return
        audio = decode_audio(str(audio_path), sampling_rate=SAMPLE_RATE)
        result: list[TranscribedSegment] = []
        for language, group in _language_runs(found):
            engine = self.routes.get(language or "")
            if engine is None:
                result.extend(group)
                continue
            for start, end in _spans(group):
                result.extend(engine.transcribe_array(samples(audio, start, end), start, language))
        yield from sorted(result, key=lambda seg: seg.start)


def _language_runs(
    segments: list[TranscribedSegment],
) -> Iterator[tuple[str | None, list[TranscribedSegment]]]:
    """Consecutive segments of one language, with that language."""
    run: list[TranscribedSegment] = []
    for seg in segments:
        if run and seg.language != run[-1].language:
            yield run[0].language, run
            run = []
        run.append(seg)
    if run:
        yield run[0].language, run


def _spans(group: list[TranscribedSegment]) -> list[tuple[float, float]]:
    """The group's segments joined into spans of at most one window, a little padded."""
    spans: list[list[float]] = []
    for seg in group:
        if spans and seg.end - spans[-1][0] <= MAX_SPAN_S:
            spans[-1][1] = seg.end
        else:
            spans.append([seg.start, seg.end])
    return [(max(0.0, lo - 0.2), hi + 0.2) for lo, hi in spans]
