"""The faster-whisper engine: Whisper through CTranslate2, language decided per stretch.

Language is never detected once per file: on a file alternating Russian and English, file-level
detection picked "en" and Whisper translated or dropped the Russian parts. Nor is it left to
faster-whisper's per-window detection (``multilingual=True``): a 30 s window holding Russian then
English was decoded as Russian and the English came out as nothing (measured on ru.wav +
jfk.wav), and the fixes for that — checking each segment's language again and re-transcribing
the misfits and the dropped stretches one by one, each in a padded 30 s window — made the
pipeline run at half the raw library's speed.

So the language is decided before decoding, per stretch of speech: voice activity detection
splits the file at pauses (``speech.REGION_MIN_PAUSE_MS``) and each region's language is told
from its first seconds (``languages``). Nearby regions of one language are joined end to end,
with a little silence at each seam, and decoded as one stream with the language fixed — full
windows, several at a time (faster-whisper's batched pipeline), no temperature fallbacks from
decoding speech in the wrong language — and every word is mapped back to its place on the
file's timeline (``packing``).

Two checks follow. Segments decoded in the wrong language are decoded again in theirs
(``languages.rechecked``). Then speech that VAD hears but no word covers is transcribed once
more, all such stretches of a language together, keeping only confident output ("gap repair").
Every decoded window, and every segment, is checked for a degenerate decode (``loops``,
``decoding.recovered``). ``bench/asr.py`` measures all this against the raw library.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workers.asr.engine import PIPELINE_VERSION, SAMPLE_RATE, TranscribedSegment
from workers.asr.faster.decoding import Decoder, decode
from workers.asr.faster.languages import (
    DETECT_MAX_S,
    AllowedLanguages,
    gap_languages,
    rechecked,
    region_languages,
)
from workers.asr.faster.layout import Run, Span, fill_unknown, runs_of, streams
from workers.asr.faster.packing import packed
from workers.asr.speech import speech_regions, uncovered_speech, whole_file


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
    # Windows decoded together (faster-whisper's batched pipeline); 1: one by one.
    batch_size: int = 8
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
                self._model.model = AllowedLanguages(self._model.model, self.languages)
        return self._model

    def _decoder(self) -> Decoder:
        return Decoder(self._load(), self.beam_size, self.batch_size, self.language)

    def transcribe(
        self, audio_path: Path, on_progress: Callable[[float], None] | None = None
    ) -> Iterator[TranscribedSegment]:
        def run(audio: Any) -> list[TranscribedSegment]:
            return _transcribed(self._decoder(), audio, on_progress)

        yield from whole_file(self._lock, audio_path, on_progress, run)

    def transcribe_array(
        self, audio: Any, offset: float, language: str | None
    ) -> list[TranscribedSegment]:
        """One span of 16 kHz samples in a fixed language (used when routing by language)."""
        with self._lock:
            return list(decode(self._decoder(), audio, offset, language=language))


def _transcribed(
    decoder: Decoder, audio: Any, on_progress: Callable[[float], None] | None
) -> list[TranscribedSegment]:
    """The whole pipeline on a file's samples: regions and their languages, runs decoded as one
    stream per language, the language recheck, then gap repair."""
    regions = speech_regions(audio)
    languages = region_languages(decoder, audio, regions)
    runs = runs_of(regions, fill_unknown(languages), len(audio) / SAMPLE_RATE)
    found = _decoded_runs(decoder, audio, runs, regions, on_progress)
    if decoder.language is None:
        heard = [
            (start, min(end, start + DETECT_MAX_S))
            for (start, end), language in zip(regions, languages, strict=True)
            if language is not None
        ]
        found = rechecked(decoder, audio, heard, found)
    gaps = gap_languages(decoder, audio, runs, uncovered_speech(audio, found, regions))
    for language, spans in streams(gaps):
        found.extend(packed(decoder, audio, spans, language, strict=True))
    return found


def _decoded_runs(
    decoder: Decoder,
    audio: Any,
    runs: list[Run],
    regions: list[Span],
    on_progress: Callable[[float], None] | None,
) -> list[TranscribedSegment]:
    """Every run decoded, one stream per language, reporting progress as the share of the
    runs' seconds decoded (up to 0.95: the checks after take the rest)."""
    total = sum(end - start for start, end, _lang in runs) or 1.0
    done = 0.0
    found: list[TranscribedSegment] = []
    for language, spans in streams(runs):
        on_time = _progress(on_progress, done, total)
        found.extend(packed(decoder, audio, spans, language, on_time, regions=regions))
        done += sum(e - s for s, e in spans)
    return found


def _progress(
    on_progress: Callable[[float], None] | None, done: float, total: float
) -> Callable[[float], None] | None:
    """Progress through one stream (seconds into it) as a share of all the runs' seconds."""
    if on_progress is None:
        return None
    report = on_progress
    return lambda t: report(min(0.95, (done + t) / total))
