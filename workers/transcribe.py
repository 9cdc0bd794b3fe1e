"""Speech to timestamped text behind a small engine interface.

This module ships the faster-whisper engine. Language is never detected once per file: on a file
alternating Russian and English, file-level detection picked "en" and Whisper translated or
dropped the Russian parts. ``multilingual=True`` makes faster-whisper detect the language of every
30-second window and decode it in that language; we record that per-window language on each
segment it yields (see ``_LanguageTrackingModel``).

A window can still hold two languages: on Russian speech followed by English in one window, the
window was decoded as Russian and the English part came out as nothing at all (measured on
ru.wav + jfk.wav). So after the pass, stretches that voice activity detection calls speech but
that no word covers (``MIN_GAP_S`` or longer) are transcribed again on their own, with their own
language detection ("gap repair"); on that file it recovered the whole English sentence.

Within a window that produced several segments, each segment's language is then checked on its
own audio: the encoder runs on the segment unpadded (CTranslate2 accepts short inputs; 0.07–0.25 s
per segment here instead of 1.2 s for a padded 30 s window) and, when it confidently names another
allowed language, the segment is transcribed again in that language. On Kazakh, Russian, Kazakh
clips in a row, the Russian sentence inside a Kazakh window came out as Kazakh-sounding noise and
was labelled kk; checked per segment, it is labelled ru and transcribed in Russian.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

PIPELINE_VERSION = 1
SAMPLE_RATE = 16000
VERIFY_MIN_S = 0.8  # segments shorter than this keep their window's language
VERIFY_MIN_PROB = 0.5  # a segment's own detection must be this sure to override its window's
MIN_GAP_S = 1.2  # an uncovered stretch of speech shorter than this is left alone
MERGE_GAP_S = 2.0  # uncovered stretches closer than this are re-transcribed together
MAX_SPAN_S = 28.0  # one Whisper window
# Gap repair runs on audio the main pass found nothing in, where Whisper likes to hallucinate
# ("You", "Thank you."): keep only confident output.
REPAIR_MAX_NO_SPEECH = 0.6
REPAIR_MIN_LOGPROB = -1.0


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


class _AllowedLanguages:
    """Wraps CTranslate2's Whisper so language detection only ever answers an allowed language.

    faster-whisper picks the first entry of ``detect_language``'s ranking; filtering the ranking
    restricts every detection (per window, per gap-repair span) to the allowed set.
    """

    def __init__(self, model: Any, allowed: tuple[str, ...]) -> None:
        self._model = model
        self._tokens = {f"<|{code}|>" for code in allowed}

    def detect_language(self, *args: Any, **kwargs: Any) -> list[list[tuple[str, float]]]:
        ranked = self._model.detect_language(*args, **kwargs)
        kept = []
        for ranking in ranked:
            allowed = [(token, p) for token, p in ranking if token in self._tokens]
            kept.append(allowed or ranking)
        return kept

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def _tracking_model_class() -> type:
    from faster_whisper import WhisperModel

    class _LanguageTrackingModel(WhisperModel):  # type: ignore[misc]
        """Remembers the language each window was decoded in (faster-whisper does not expose it)."""

        def generate_with_fallback(self, encoder_output, prompt, tokenizer, options):  # type: ignore[no-untyped-def]
            self._window_language = getattr(tokenizer, "language_code", None)
            self._window_index = getattr(self, "_window_index", 0) + 1
            return super().generate_with_fallback(encoder_output, prompt, tokenizer, options)

    return _LanguageTrackingModel


@dataclass
class FasterWhisperEngine:
    """Whisper through CTranslate2; the model is loaded on first use and kept for the process."""

    model_path: str
    device: str = "cpu"
    compute_type: str = "int8"
    beam_size: int = 5
    cpu_threads: int = 0
    language: str | None = None
    languages: tuple[str, ...] = ()
    _model: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def model_id(self) -> str:
        name = Path(self.model_path).name or self.model_path
        langs = "+".join(self.languages) or "any"
        return (
            f"faster-whisper:{name}:{self.compute_type}:beam{self.beam_size}:{langs}"
            f":v{PIPELINE_VERSION}"
        )

    def _load(self) -> Any:
        if self._model is None:
            self._model = _tracking_model_class()(
                self.model_path,
                device=self.device,
                compute_type=self.compute_type,
                cpu_threads=self.cpu_threads,
            )
            if self.languages:
                self._model.model = _AllowedLanguages(self._model.model, self.languages)
        return self._model

    def transcribe(
        self, audio_path: Path, on_progress: Callable[[float], None] | None = None
    ) -> Iterator[TranscribedSegment]:
        from faster_whisper import decode_audio

        with self._lock:
            model = self._load()
            audio = decode_audio(str(audio_path), sampling_rate=SAMPLE_RATE)
            duration = len(audio) / SAMPLE_RATE
            found = list(
                self._pass(model, audio, 0.0, vad=True, on_progress=on_progress, duration=duration)
            )
            if self.language is None:
                found = self._verify_languages(model, audio, found)
            repaired: list[TranscribedSegment] = []
            for start, end in uncovered_speech(audio, found):
                span = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
                repaired.extend(self._pass(model, span, start, vad=False, strict=True))
            if on_progress is not None:
                on_progress(1.0)
            yield from sorted(found + repaired, key=lambda seg: seg.start)

    def transcribe_array(
        self, audio: Any, offset: float, language: str | None
    ) -> list[TranscribedSegment]:
        """One span of 16 kHz samples in a fixed language (used when routing by language)."""
        with self._lock:
            model = self._load()
            return list(self._pass(model, audio, offset, vad=False, language=language))

    def _pass(
        self,
        model: Any,
        audio: Any,
        offset: float,
        *,
        vad: bool,
        strict: bool = False,
        on_progress: Callable[[float], None] | None = None,
        duration: float = 0.0,
        language: str | None = None,
    ) -> Iterator[TranscribedSegment]:
        fixed = language or self.language
        segments, _info = model.transcribe(
            audio,
            beam_size=self.beam_size,
            word_timestamps=True,
            vad_filter=vad,
            multilingual=fixed is None,
            language=fixed,
        )
        for segment in segments:
            language = fixed or getattr(model, "_window_language", None)
            window = getattr(model, "_window_index", 0)
            if on_progress is not None and duration > 0:
                on_progress(min(0.95, segment.end / duration))
            text = segment.text.strip()
            if not text:
                continue
            if strict and (
                segment.no_speech_prob > REPAIR_MAX_NO_SPEECH
                or segment.avg_logprob < REPAIR_MIN_LOGPROB
            ):
                continue
            yield TranscribedSegment(
                start=round(offset + segment.start, 3),
                end=round(offset + segment.end, 3),
                text=text,
                language=language,
                words=[
                    Word(
                        round(offset + w.start, 3),
                        round(offset + w.end, 3),
                        w.word,
                        round(w.probability, 4),
                    )
                    for w in (segment.words or [])
                ],
                avg_logprob=segment.avg_logprob,
                window=window,
            )

    def _verify_languages(
        self, model: Any, audio: Any, segments: list[TranscribedSegment]
    ) -> list[TranscribedSegment]:
        """Re-check the language of each segment that shared its window with others."""
        per_window: dict[int, int] = {}
        for seg in segments:
            per_window[seg.window] = per_window.get(seg.window, 0) + 1
        result: list[TranscribedSegment] = []
        for seg in segments:
            if per_window[seg.window] < 2 or seg.end - seg.start < VERIFY_MIN_S:
                result.append(seg)
                continue
            lo, hi = max(0.0, seg.start - 0.1), seg.end + 0.1
            clip = audio[int(lo * SAMPLE_RATE) : int(hi * SAMPLE_RATE)]
            language, probability = _detect_unpadded(model, clip)
            if language == seg.language or probability < VERIFY_MIN_PROB:
                result.append(seg)
                continue
            redone = list(self._pass(model, clip, lo, vad=False, language=language))
            result.extend(redone or [seg])
        return result


def _detect_unpadded(model: Any, clip: Any) -> tuple[str, float]:
    """Language of a short clip, encoding only its own frames (not a padded 30 s window)."""
    import ctranslate2
    import numpy as np

    features = model.feature_extractor(clip)
    storage = ctranslate2.StorageView.from_array(
        np.ascontiguousarray(np.expand_dims(features, 0).astype(np.float32))
    )
    encoded = model.model.encode(storage, to_cpu=False)
    token, probability = model.model.detect_language(encoded)[0][0]
    return token[2:-2], probability


def uncovered_speech(audio: Any, segments: list[TranscribedSegment]) -> list[tuple[float, float]]:
    """Spans that voice activity detection marks as speech but no transcribed word covers."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    words = sorted(
        (w.start, w.end)
        for seg in segments
        for w in (seg.words or [Word(seg.start, seg.end, "", 1)])
    )
    regions = get_speech_timestamps(
        audio, VadOptions(min_silence_duration_ms=300, speech_pad_ms=100)
    )
    gaps: list[tuple[float, float]] = []
    for region in regions:
        lo, hi = region["start"] / SAMPLE_RATE, region["end"] / SAMPLE_RATE
        cursor = lo
        for w_start, w_end in words:
            if w_end <= cursor or w_start >= hi:
                continue
            if w_start - cursor >= MIN_GAP_S:
                gaps.append((cursor, w_start))
            cursor = max(cursor, w_end)
        if hi - cursor >= MIN_GAP_S:
            gaps.append((cursor, hi))
    spans: list[list[float]] = []
    for lo, hi in gaps:
        if spans and lo - spans[-1][1] <= MERGE_GAP_S and hi - spans[-1][0] <= MAX_SPAN_S:
            spans[-1][1] = hi
        else:
            spans.append([lo, hi])
    return [(float(lo), float(hi)) for lo, hi in spans]


@dataclass
class RoutedEngine:
    """The default engine, then a language's own model for that language's segments.

    After the default pass, consecutive segments detected in a routed language are joined into
    spans of at most one Whisper window and transcribed again by that language's engine, with the
    language fixed; its segments replace the default ones there.
    """

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
                clip = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
                result.extend(engine.transcribe_array(clip, start, language))
        yield from sorted(result, key=lambda seg: seg.start)


def _language_runs(
    segments: list[TranscribedSegment],
) -> Iterator[tuple[str | None, list[TranscribedSegment]]]:
    run: list[TranscribedSegment] = []
    for seg in segments:
        if run and seg.language != run[-1].language:
            yield run[0].language, run
            run = []
        run.append(seg)
    if run:
        yield run[0].language, run


def _spans(group: list[TranscribedSegment]) -> list[tuple[float, float]]:
    spans: list[list[float]] = []
    for seg in group:
        if spans and seg.end - spans[-1][0] <= MAX_SPAN_S:
            spans[-1][1] = seg.end
        else:
            spans.append([seg.start, seg.end])
    return [(max(0.0, lo - 0.2), hi + 0.2) for lo, hi in spans]


@lru_cache(maxsize=8)
def get_engine(
    model_path: str,
    device: str,
    compute_type: str,
    beam_size: int,
    cpu_threads: int,
    languages: tuple[str, ...] = (),
) -> FasterWhisperEngine:
    """One engine (and so one loaded model) per worker process and configuration."""
    return FasterWhisperEngine(
        model_path=model_path,
        device=device,
        compute_type=compute_type,
        beam_size=beam_size,
        cpu_threads=cpu_threads,
        languages=languages,
    )
