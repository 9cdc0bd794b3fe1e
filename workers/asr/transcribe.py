"""Speech to timestamped text behind a small engine interface.

This module ships the faster-whisper engine. Language is never detected once per file: on a file
alternating Russian and English, file-level detection picked "en" and Whisper translated or
dropped the Russian parts. Nor is it left to faster-whisper's per-window detection
(``multilingual=True``): a 30 s window holding Russian then English was decoded as Russian and
the English came out as nothing (measured on ru.wav + jfk.wav), and the fixes for that — checking
each segment's language again and re-transcribing the misfits and the dropped stretches one by
one, each in a padded 30 s window — made the pipeline run at half the raw library's speed.

So the language is decided before decoding, per stretch of speech: voice activity detection
splits the file at pauses (``REGION_MIN_PAUSE_MS``), the encoder runs on each region's first
seconds unpadded (CTranslate2 accepts short inputs; batched, see ``language_rankings``) and names
its language among the allowed ones; regions too short or unsure take their neighbour's. Nearby
regions of one language are joined end to end, with a little silence at each seam, and decoded as
one stream with the language fixed — full windows, several at a time (faster-whisper's batched
pipeline), no temperature fallbacks from decoding speech in the wrong language — and every word is
mapped back to its place on the file's timeline (``_packed``).

Two checks follow. Segments that no region's detection heard (a language switch without a pause)
have their own language told; one decoded in the wrong language shows it in its script (English
speech decoded as Russian comes out in Latin letters). Those are decoded again in their language,
together. Then speech that VAD hears but no word covers is transcribed once more, all such
stretches of a language together, keeping only confident output ("gap repair").
Every decoded window, and every segment, is checked for a degenerate decode — a repetition
loop ("оңдай, оңдай, оңдай, …" for a whole window on real Kazakh speech, where batched windows
decode at temperature 0 without Whisper's fallbacks): its text compresses too well (Whisper's own
compression-ratio test), or a word or phrase repeats over and over. Only such a stretch is decoded
again, sequentially, with CTranslate2's repetition controls, then also with Whisper's temperature
fallbacks; where every attempt still loops, the stretch keeps its timing, is marked unintelligible
and stores no text (``_recovered``).
``bench/asr.py`` measures all this against the raw library.
"""

from __future__ import annotations

import bisect
import itertools
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

PIPELINE_VERSION = 3  # 3: repetition loops detected, decoded again, else marked unintelligible
SAMPLE_RATE = 16000
REGION_MIN_PAUSE_MS = 300  # a pause this long parts two regions of speech (language may change)
DETECT_MIN_S = 1.5  # regions shorter than this take their neighbour's language (1 s: p ≈ 0.1)
DETECT_MAX_S = 3.0  # a region's language is told from its first seconds (encoder cost ~ length)
DETECT_BATCH = 16  # regions encoded together for language detection
WINDOW_MAX_GAP_S = 30.0  # runs of one language further apart never share a decoding window
VERIFY_MIN_PROB = 0.5  # a region's detection must be this sure, else it takes its neighbour's
# Detection is judged among the allowed languages: Whisper base gives real Kazakh speech most of
# its probability for languages it knows better (lt, lv, tr), so "kk" scored 0.09 and 0.24 on
# the shared kk clips while every other allowed language had under 0.01 — and never reached
# VERIFY_MIN_PROB, so Kazakh regions took their Russian neighbours' language. Each allowed
# language's probability is taken as its share of the allowed languages' total, as long as that
# total is at least ALLOWED_MIN_MASS (below it, the clip sounds like none of them: unsure) —
# for regions of speech only (``_region_languages``). Measured on the shared kk clips: Kazakh
# regions' allowed totals were 0.08–0.47 (kk first); kzaudio_1's first seconds gave en 0.051,
# ru 0.006, kk 0.005 — 0.062 in all, which a 0.05 floor took for English and transcribed as such.
ALLOWED_MIN_MASS = 0.07
RUN_MAX_PAUSE_S = 2.0  # regions of one language parted by a longer pause are decoded apart
RUN_PAD_S = 0.3  # audio kept around a run so its first and last words are whole
SEAM_S = 0.5  # silence put between the runs of one language joined into one stream
MAX_WORD_S = 2.0  # a word timed longer than this was stretched over audio Whisper skipped
SPLIT_GAP_S = 2.0  # a segment is split where this much passes between two of its words
MIN_GAP_S = 1.2  # an uncovered stretch of speech shorter than this is left alone
MERGE_GAP_S = 2.0  # uncovered stretches closer than this are re-transcribed together
MAX_SPAN_S = 28.0  # one Whisper window, with room for the seams
WINDOW_S = 30.0  # Whisper's window
# The script each language is written in, to catch a segment decoded in the wrong language.
SCRIPTS = {
    **dict.fromkeys(("en", "de", "fr", "es", "it", "pt", "nl", "pl", "tr", "uz"), "latin"),
    **dict.fromkeys(("ru", "kk", "uk", "be", "ky", "tg", "mn", "bg"), "cyrillic"),
}
# Gap repair runs on audio the main pass found nothing in, where Whisper likes to hallucinate
# ("You", "Thank you."): keep only confident output.
REPAIR_MAX_NO_SPEECH = 0.6
REPAIR_MIN_LOGPROB = -1.0
# A degenerate decode. Whisper's own test is the zlib compression ratio of a window's text
# (``compression_ratio_threshold``, 2.4); a short loop ("дай, дай, дай, дай, дай, дай, дай" on a
# 0.8 s burst of noise) compresses too little to cross it, so a word n-gram said ``LOOP_REPEATS``
# times in a row counts too. Real speech does repeat a word: "some more words, words, words,
# words" in the shared en/mfa/acoustic_corpus clip came out with five.
MAX_COMPRESSION_RATIO = 2.4
LOOP_REPEATS = 6
LOOP_MAX_NGRAM = 4
# Recovery decodes a degenerate stretch on its own, sequentially, with CTranslate2's repetition
# controls (never used on clean speech: they forbid real repeats too): first one beam search at
# temperature 0, then, where that still loops, Whisper's temperature fallbacks (sampling while
# the text compresses too well or its average log-probability is below -1). Measured on the
# shared Kazakh clips joined into one file (bench.asr --languages kk, CER): no 4-gram repeated
# and penalty 1.1, 0.401; no 3-gram and penalty 1.2, 0.453 (the penalty pushed Kazakh words into
# capitals and rare letters); no 6-gram alone, 0.632 (loops of short words); the fallbacks before
# the controls, as the raw library decodes, 0.471 and slower.
FALLBACK_TEMPERATURES = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
_REPETITION_CONTROLS = {"no_repeat_ngram_size": 4, "repetition_penalty": 1.1}
RECOVERY_ATTEMPTS: tuple[dict[str, Any], ...] = (
    {"temperature": 0.0, **_REPETITION_CONTROLS},
    {"temperature": FALLBACK_TEMPERATURES, **_REPETITION_CONTROLS},
)
# A window Whisper itself would sample again: its average log-probability below -1
# (``log_prob_threshold``) unless it is likely silence (``no_speech_threshold``). It is decoded
# again as the raw library decodes (the temperature fallbacks alone), then as a loop is, if the
# result loops. None of the bench file's English and Russian windows fell below it; most of
# the Kazakh ones did.
MIN_AVG_LOGPROB = -1.0
MAX_NO_SPEECH = 0.6
UNSURE_ATTEMPTS: tuple[dict[str, Any], ...] = (
    {"temperature": FALLBACK_TEMPERATURES},
    *RECOVERY_ATTEMPTS,
)
_WORDS = re.compile(r"\w+")


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
    batch_size: int = (
        8  # windows decoded together (faster-whisper's batched pipeline); 1: one by one
    )
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
            regions = speech_regions(audio)
            languages = self._region_languages(model, audio, regions)
            runs = _runs(regions, _fill_unknown(languages), len(audio) / SAMPLE_RATE)
            total = sum(end - start for start, end, _lang in runs) or 1.0
            done = 0.0
            found: list[TranscribedSegment] = []
            for language, spans in _streams(runs):
                found.extend(
                    self._packed(
                        model, audio, spans, language, on_progress, done, total, regions=regions
                    )
                )
                done += sum(e - s for s, e in spans)
            if self.language is None:
                heard = [
                    (start, min(end, start + DETECT_MAX_S))
                    for (start, end), language in zip(regions, languages, strict=True)
                    if language is not None
                ]
                found = self._recheck(model, audio, heard, found)
            gaps = self._gap_languages(model, audio, runs, uncovered_speech(audio, found, regions))
            for language, spans in _streams(gaps):
                found.extend(self._packed(model, audio, spans, language, strict=True))
            if on_progress is not None:
                on_progress(1.0)
            yield from sorted(found, key=lambda seg: seg.start)

    def transcribe_array(
        self, audio: Any, offset: float, language: str | None
    ) -> list[TranscribedSegment]:
        """One span of 16 kHz samples in a fixed language (used when routing by language)."""
        with self._lock:
            model = self._load()
            return list(self._pass(model, audio, offset, vad=False, language=language))

    def _region_languages(
        self, model: Any, audio: Any, regions: list[tuple[float, float]]
    ) -> list[str | None]:
        """Each region's language told from its first ``DETECT_MAX_S`` (encoder on the unpadded
        audio, batched), or None where the region is too short or the answer too unsure."""
        if self.language is not None:
            return [self.language] * len(regions)
        told = [(start, end) for start, end in regions if end - start >= DETECT_MIN_S]
        clips = [_clip(audio, start, min(end, start + DETECT_MAX_S)) for start, end in told]
        # Shares among the allowed languages here only: a region is VAD speech of 1.5 s or more.
        # Gap repair and the recheck judge short or mostly silent clips, where a share is high
        # on next to nothing ("It was a good one." heard in a Russian clip's trailing second).
        shares = [_shares(ranking)[0] for ranking in language_rankings(model, clips)]
        detected = dict(zip(told, shares, strict=True))
        languages: list[str | None] = []
        for region in regions:
            language, probability = detected.get(region, (None, 0.0))
            languages.append(language if probability >= VERIFY_MIN_PROB else None)
        return languages

    def _gap_languages(
        self,
        model: Any,
        audio: Any,
        runs: list[tuple[float, float, str | None]],
        gaps: list[tuple[float, float]],
    ) -> list[tuple[float, float, str | None]]:
        """Each stretch of speech no word covers, with the language to try it in: its own where
        detection is sure (words a wrong-language pass dropped), else its run's."""
        if self.language is not None:
            return [(start, end, self.language) for start, end in gaps]
        clips = [
            _clip(audio, start, start + min(max(end - start, DETECT_MIN_S), DETECT_MAX_S))
            for start, end in gaps
        ]
        result = []
        for (start, end), (language, probability) in zip(
            gaps, detect_languages(model, clips), strict=True
        ):
            if probability < VERIFY_MIN_PROB:
                language = _language_at(runs, start, end)
            result.append((start, end, language))
        return result

    def _recheck(
        self,
        model: Any,
        audio: Any,
        heard: list[tuple[float, float]],
        found: list[TranscribedSegment],
    ) -> list[TranscribedSegment]:
        """Check again the segments that no region's detection heard (most of them).

        A region's language is told from its first ``DETECT_MAX_S``, and a short region takes
        its neighbour's; when two languages follow each other without a pause (clips joined, a
        speaker switching mid-breath), the later part was decoded in the wrong language. Only
        those segments are checked (batched), and the ones another language claims are
        transcribed again in it, together. Returns the segments in time order.
        """
        suspects = [
            seg
            for seg in found
            if _covered(heard, seg.start, seg.end) < 0.5 * (seg.end - seg.start)
        ]
        if not suspects:
            return found
        clips = [
            _clip(
                audio,
                seg.start,
                seg.start + min(max(seg.end - seg.start, DETECT_MIN_S), DETECT_MAX_S),
            )
            for seg in suspects
        ]
        found = sorted(found, key=lambda seg: seg.start)
        language_of = {id(seg): seg.language for seg in found}
        unsure = []
        for seg, ranking in zip(suspects, language_rankings(model, clips), strict=True):
            language, probability = ranking[0]
            script, expected = script_of(seg.text), SCRIPTS.get(seg.language or "")
            if script and expected and script != expected:
                # Decoded in a language its text is not written in (English speech decoded as
                # Russian comes out in Latin letters): the best language of that script.
                fitting = [code for code, _p in ranking if SCRIPTS.get(code) == script]
                if fitting:
                    language_of[id(seg)] = fitting[0]
                    continue
            if probability >= VERIFY_MIN_PROB:
                language_of[id(seg)] = language
            else:
                unsure.append(seg)
        # An unsure segment between two segments of one other language (once those are
        # corrected) is taken to be in theirs, as an unsure region takes its neighbour's.
        position = {id(seg): i for i, seg in enumerate(found)}
        for seg in unsure:
            i = position[id(seg)]
            if 0 < i < len(found) - 1:
                before, after = found[i - 1], found[i + 1]
                side = {language_of[id(before)], language_of[id(after)]}
                gap = max(seg.start - before.end, after.start - seg.end)
                close = gap <= RUN_MAX_PAUSE_S
                if len(side) == 1 and close:
                    language_of[id(seg)] = side.pop()
        wrong = {
            id(seg): language_of[id(seg)]
            for seg in suspects
            if language_of[id(seg)] != seg.language
        }
        if not wrong:
            return found
        kept = [seg for seg in found if id(seg) not in wrong]
        redo = [
            (max(0.0, seg.start - RUN_PAD_S), seg.end + RUN_PAD_S, wrong[id(seg)])
            for seg in found
            if id(seg) in wrong
        ]
        for language, spans in _streams(_merged(redo)):
            kept.extend(self._packed(model, audio, spans, language))
        return sorted(kept, key=lambda seg: seg.start)

    def _packed(
        self,
        model: Any,
        audio: Any,
        spans: list[tuple[float, float]],
        language: str | None,
        on_progress: Callable[[float], None] | None = None,
        done: float = 0.0,
        total: float = 0.0,
        *,
        strict: bool = False,
        regions: list[tuple[float, float]] = (),  # type: ignore[assignment]
    ) -> list[TranscribedSegment]:
        """Transcribe ``spans`` of one language as one stream, as faster-whisper's VAD filter does.

        The spans are joined end to end, so Whisper works on full 30 s windows however short and
        scattered they are (a span of its own would cost a whole padded window), and every word
        is mapped back to the span it came from (clamped to it). ``SEAM_S`` of silence between
        spans keeps Whisper from timing a word across the join (a word of the next span, timed
        a little early, landed in another speaker's time). A segment whose words come from two
        spans is split there: the spans may lie far apart on the timeline.

        Spans longer than a window are cut at pauses between ``regions`` first; the windows
        (``_windows``: at most 30 s of the joined stream, cut only at seams, never joining
        far-apart spans) are what the batched pipeline decodes side by side.
        """
        length = len(audio) / SAMPLE_RATE
        spans = [(max(0.0, start), min(end, length)) for start, end in spans]
        spans = _pieces([(start, end) for start, end in spans if end > start], list(regions))
        if not spans:
            return []
        placed, clips = _windows(spans)
        seam = np.zeros(int(SEAM_S * SAMPLE_RATE), dtype=np.float32)
        pieces = []
        for start, end in spans:
            if pieces:
                pieces.append(seam)
            pieces.append(_clip(audio, start, end))
        joined = np.concatenate(pieces).astype(np.float32)
        result: list[TranscribedSegment] = []
        for seg in self._pass(
            model, joined, 0.0, vad=False, strict=strict, language=language, clips=clips
        ):
            if on_progress is not None and total > 0:
                on_progress(min(0.95, (done + seg.end) / total))
            if seg.unintelligible:
                result.extend(_unintelligible_parts(placed, seg))
                continue
            words = seg.words or [Word(seg.start, seg.end, seg.text, 1.0)]
            parts: dict[int, list[Word]] = {}
            for w in words:
                index = _span_index(placed, (w.start + w.end) / 2)
                joined_at, original, length = placed[index]

                def back(
                    t: float,
                    joined_at: float = joined_at,
                    original: float = original,
                    length: float = length,
                ) -> float:
                    return round(original + min(max(t - joined_at, 0.0), length), 3)

                parts.setdefault(index, []).append(
                    Word(back(w.start), back(w.end), w.word, w.probability)
                )
            for part in parts.values():
                if not seg.words:
                    text = "".join(w.word for w in part).strip()
                    if text:
                        result.append(replace(seg, start=part[0].start, end=part[-1].end))
                    continue
                for words in _sane_runs(part):
                    text = "".join(w.word for w in words).strip()
                    if text:
                        result.append(
                            replace(
                                seg, start=words[0].start, end=words[-1].end, text=text, words=words
                            )
                        )
        return result

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
        clips: list[dict[str, float]] | None = None,
    ) -> Iterator[TranscribedSegment]:
        """Decode ``audio``; a window or segment that loops is decoded again (``_recovered``).

        ``strict`` (gap repair, on audio the main pass found nothing in) keeps only confident
        output and drops a stretch that still loops rather than marking it: there a loop is
        more likely Whisper's hallucination on noise than speech it cannot read.
        """
        fixed = language or self.language
        options: dict[str, Any] = {
            "beam_size": self.beam_size,
            "word_timestamps": True,
            "multilingual": fixed is None,
            "language": fixed,
        }
        for start, end, window_language, window, group in self._windows_decoded(
            model, audio, vad=vad, options=options, clips=clips
        ):
            if on_progress is not None and duration > 0:
                on_progress(min(0.95, end / duration))
            language = fixed or window_language
            attempts = RECOVERY_ATTEMPTS if is_degenerate(group) else ()
            if not attempts and not strict and is_unsure(group):
                attempts = UNSURE_ATTEMPTS
            if attempts:
                yield from self._recovered(
                    model,
                    _clip(audio, start, end),
                    offset + start,
                    language,
                    attempts,
                    strict=strict,
                )
                continue
            for segment in group:
                found = _converted(segment, offset, language, window, strict=strict)
                if found is not None:
                    yield found

    def _windows_decoded(
        self,
        model: Any,
        audio: Any,
        *,
        vad: bool,
        options: dict[str, Any],
        clips: list[dict[str, float]] | None,
    ) -> Iterator[tuple[float, float, str | None, int, list[Any]]]:
        """faster-whisper's segments grouped by the window that decoded them: the window's span
        (seconds of ``audio``), its language where known, its index, and its segments."""
        if clips and self.batch_size > 1:
            # The given windows decoded several at a time: ~1.6x the sequential speed on
            # 2 cores (bench/asr.py). Timestamp tokens stay on, or a whole window would be one
            # segment. The batched pipeline does not tell a window's language (multilingual).
            segments, _info = _batched(model).transcribe(
                audio,
                batch_size=self.batch_size,
                without_timestamps=False,
                clip_timestamps=clips,
                **options,
            )
            tagged = ((seg, None, 0) for seg in segments)
        else:
            segments, _info = model.transcribe(audio, vad_filter=vad, **options)
            # Read as each segment comes out: the next window's decoding overwrites them.
            tagged = (
                (seg, getattr(model, "_window_language", None), getattr(model, "_window_index", 0))
                for seg in segments
            )
        for _seek, grouped in itertools.groupby(tagged, key=lambda item: item[0].seek):
            items = list(grouped)
            group = [seg for seg, _language, _window in items]
            start, end = group[0].start, group[-1].end
            for clip in clips or []:
                if clip["start"] <= (start + end) / 2 < clip["end"]:
                    start, end = clip["start"], clip["end"]
                    break
            yield start, end, items[0][1], items[0][2], group

    def _recovered(
        self,
        model: Any,
        samples: Any,
        offset: float,
        language: str | None,
        attempts: tuple[dict[str, Any], ...],
        *,
        strict: bool,
    ) -> list[TranscribedSegment]:
        """A stretch that decoded into a loop (or too unsure), decoded again on its own,
        sequentially.

        Each of ``attempts`` in turn until one does not loop (``is_degenerate``).
        Where the last still loops, its looping segments keep their timing and lose their text
        (``unintelligible``); the rest of the stretch is kept.
        """
        group: list[Any] = []
        for extra in attempts:
            segments, info = model.transcribe(
                samples,
                language=language,
                beam_size=self.beam_size,
                word_timestamps=True,
                condition_on_previous_text=False,
                vad_filter=False,
                **extra,
            )
            group = [seg for seg in segments if seg.text.strip()]
            language = language or info.language
            if not is_degenerate(group):
                break
        window = getattr(model, "_window_index", 0)
        found: list[TranscribedSegment] = []
        looping = [is_loop(seg.text) for seg in group]
        if is_degenerate(group) and not any(looping):
            looping = [True] * len(group)  # the loop runs across segments: none can be kept
        for segment, loops in zip(group, looping, strict=True):
            if not loops:
                # Whisper heard something here (it looped on it): in gap repair, text that no
                # longer loops is kept unless Whisper thinks it heard no speech; a low
                # log-probability alone is how it writes Kazakh (base model).
                kept = _converted(segment, offset, language, window, strict=False)
                if kept is not None and not (strict and segment.no_speech_prob > MAX_NO_SPEECH):
                    found.append(kept)
            elif not strict:
                found.append(
                    TranscribedSegment(
                        start=round(offset + segment.start, 3),
                        end=round(offset + segment.end, 3),
                        text="",
                        language=language,
                        window=window,
                        unintelligible=True,
                    )
                )
        return found


def is_loop(text: str) -> bool:
    """Whether ``text`` is a repetition loop: it compresses better than Whisper accepts
    (faster-whisper's ``get_compression_ratio``, zlib), or a word or a phrase of up to
    ``LOOP_MAX_NGRAM`` words comes ``LOOP_REPEATS`` times in a row."""
    from faster_whisper.transcribe import get_compression_ratio

    text = text.strip()
    if not text:
        return False
    if get_compression_ratio(text) > MAX_COMPRESSION_RATIO:
        return True
    words = _WORDS.findall(text.lower())
    for n in range(1, LOOP_MAX_NGRAM + 1):
        for first in range(len(words) - n * LOOP_REPEATS + 1):
            gram = words[first : first + n]
            if all(
                words[first + k * n : first + (k + 1) * n] == gram for k in range(1, LOOP_REPEATS)
            ):
                return True
    return False


def is_unsure(segments: list[Any]) -> bool:
    """Whether Whisper would sample a window again (its segments share the window's scores)."""
    return bool(segments) and (
        segments[0].avg_logprob < MIN_AVG_LOGPROB and segments[0].no_speech_prob <= MAX_NO_SPEECH
    )


def is_degenerate(segments: list[Any]) -> bool:
    """Whether a window's decode loops, in one of its segments or across them (the window's
    whole text: Whisper's own test is per window)."""
    return any(is_loop(seg.text) for seg in segments) or is_loop(
        " ".join(seg.text.strip() for seg in segments)
    )


def _converted(
    segment: Any, offset: float, language: str | None, window: int, *, strict: bool
) -> TranscribedSegment | None:
    """One of faster-whisper's segments on the file's timeline, or None when it holds no text
    (or, ``strict``, when Whisper is unsure it heard speech)."""
    text = segment.text.strip()
    if not text:
        return None
    if strict and (
        segment.no_speech_prob > REPAIR_MAX_NO_SPEECH or segment.avg_logprob < REPAIR_MIN_LOGPROB
    ):
        return None
    return TranscribedSegment(
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


def _streams(
    runs: list[tuple[float, float, str | None]],
) -> list[tuple[str | None, list[tuple[float, float]]]]:
    """The spans of each language, in time order, languages in order of first appearance: what
    is decoded as one stream (``_packed``), so even short, scattered runs fill whole windows."""
    streams: dict[str | None, list[tuple[float, float]]] = {}
    for start, end, language in sorted(runs):
        streams.setdefault(language, []).append((start, end))
    return list(streams.items())


def _windows(
    spans: list[tuple[float, float]],
) -> tuple[list[tuple[float, float, float]], list[dict[str, float]]]:
    """Where each span lies in the joined stream, and the stream's windows.

    Returns ``placed`` (joined start, original start, length) per span, ``SEAM_S`` apart, and
    the windows as faster-whisper's ``clip_timestamps`` (joined seconds): consecutive spans up to
    ``WINDOW_S``, but a span more than ``WINDOW_MAX_GAP_S`` after the previous one on the
    timeline starts a new window. A window of unrelated text from all over a file (the same
    formula said every hour, or the benchmark's repeated clips) looked like a repetition loop to
    Whisper's compression check, which decoded it six times over at rising temperatures.
    """
    placed: list[tuple[float, float, float]] = []
    clips: list[dict[str, float]] = []
    at, previous_end = 0.0, None
    for start, end in spans:
        length = (int(end * SAMPLE_RATE) - int(start * SAMPLE_RATE)) / SAMPLE_RATE
        if placed:
            at += SEAM_S
        near = previous_end is not None and start - previous_end <= WINDOW_MAX_GAP_S
        if clips and near and at + length - clips[-1]["start"] <= WINDOW_S:
            clips[-1]["end"] = at + length
        else:
            clips.append({"start": at, "end": at + length})
        placed.append((at, start, length))
        at += length
        previous_end = end
    return placed, clips


def _runs(
    regions: list[tuple[float, float]], languages: list[str | None], length: float
) -> list[tuple[float, float, str | None]]:
    """Neighbouring regions of one language joined into runs (unless a long silence parts them:
    it would only cost decoding time), each padded so its first and last words are whole."""
    runs: list[list[Any]] = []
    for (start, end), language in zip(regions, languages, strict=True):
        if runs and runs[-1][2] == language and start - runs[-1][1] <= RUN_MAX_PAUSE_S:
            runs[-1][1] = end
        else:
            runs.append([start, end, language])
    padded = []
    for i, (start, end, language) in enumerate(runs):
        lo = max(0.0, start - RUN_PAD_S, runs[i - 1][1] if i else 0.0)
        hi = min(length, end + RUN_PAD_S, runs[i + 1][0] if i + 1 < len(runs) else length)
        padded.append((round(lo, 3), round(hi, 3), language))
    return padded


def _merged(
    spans: list[tuple[float, float, str | None]],
) -> list[tuple[float, float, str | None]]:
    """Overlapping or touching spans of one language joined (padding made them overlap)."""
    merged: list[list[Any]] = []
    for start, end, language in sorted(spans):
        if merged and merged[-1][2] == language and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, language])
    return [(start, end, language) for start, end, language in merged]


def _covered(spans: list[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of ``[start, end]`` that ``spans`` cover."""
    return sum(max(0.0, min(hi, end) - max(lo, start)) for lo, hi in spans)


def _pieces(
    spans: list[tuple[float, float]], regions: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """``spans`` with those longer than ``MAX_SPAN_S`` cut at pauses between ``regions`` (or,
    where a region itself is longer, every ``MAX_SPAN_S``) so each piece fits one window."""
    gaps = [(a_end, b_start) for (_a, a_end), (b_start, _b) in itertools.pairwise(regions)]
    ends = [a_end for a_end, _b_start in gaps]
    pieces: list[tuple[float, float]] = []
    for start, end in spans:
        cursor = start
        while end - cursor > MAX_SPAN_S:
            limit = cursor + MAX_SPAN_S
            cut = limit
            i = bisect.bisect_right(ends, limit) - 1
            while i >= 0 and ends[i] > cursor + 1.0:
                a_end, b_start = gaps[i]
                if b_start <= limit:
                    cut = (a_end + b_start) / 2
                    break
                i -= 1
            pieces.append((cursor, cut))
            cursor = cut
        pieces.append((cursor, end))
    return pieces


def _batched(model: Any) -> Any:
    """faster-whisper's batched pipeline over the engine's loaded model (made once per model)."""
    from faster_whisper import BatchedInferencePipeline

    pipeline = getattr(model, "_ashyq_batched", None)
    if pipeline is None:
        pipeline = BatchedInferencePipeline(model)
        model._ashyq_batched = pipeline
    return pipeline


def _sane_runs(words: list[Word]) -> list[list[Word]]:
    """A segment's words with implausible timings undone, split where speech stops.

    When Whisper skips a stretch it did not understand (a window opening mid-sentence, seen on
    live chunks), alignment stretches a word over the skipped audio: "library" timed 0.7–8.7 s
    while said at 8.3 s. Such a word keeps its end and lasts ``MAX_WORD_S`` at most, and a
    segment is split where ``SPLIT_GAP_S`` passes between two words — so the skipped stretch
    shows up as speech no word covers, and gap repair transcribes it.
    """
    runs: list[list[Word]] = []
    for w in words:
        if w.end - w.start > MAX_WORD_S:
            w = Word(round(w.end - MAX_WORD_S, 3), w.end, w.word, w.probability)
        if runs and w.start - runs[-1][-1].end <= SPLIT_GAP_S:
            runs[-1].append(w)
        else:
            runs.append([w])
    return runs


def _unintelligible_parts(
    placed: list[tuple[float, float, float]], seg: TranscribedSegment
) -> list[TranscribedSegment]:
    """An unintelligible stretch of the joined stream, as the stretch of each span it covers on
    the file's timeline (it has no words to place one by one)."""
    parts = []
    for joined_at, original, length in placed:
        lo, hi = max(seg.start, joined_at), min(seg.end, joined_at + length)
        if hi - lo > 0.05:
            start = round(original + lo - joined_at, 3)
            parts.append(replace(seg, start=start, end=round(original + hi - joined_at, 3)))
    return parts


def _span_index(placed: list[tuple[float, float, float]], t: float) -> int:
    """The joined span that holds time ``t`` of the joined stream, or the nearest one."""
    best, distance = 0, float("inf")
    for i, (start, _original, length) in enumerate(placed):
        away = max(start - t, t - (start + length), 0.0)
        if away < distance:
            best, distance = i, away
    return best


def _clip(audio: Any, start: float, end: float) -> Any:
    return audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]


def _fill_unknown(languages: list[str | None]) -> list[str | None]:
    """Each unknown entry takes the previous known language, or the next one at the start."""
    known = next((lang for lang in languages if lang is not None), None)
    filled: list[str | None] = []
    for lang in languages:
        known = lang or known
        filled.append(known)
    return filled


def _language_at(
    runs: list[tuple[float, float, str | None]], start: float, end: float
) -> str | None:
    """The language of the run that overlaps ``[start, end]`` most."""
    best, overlap = None, 0.0
    for lo, hi, language in runs:
        shared = min(hi, end) - max(lo, start)
        if shared > overlap:
            best, overlap = language, shared
    return best


def speech_regions(audio: Any) -> list[tuple[float, float]]:
    """Stretches of speech between pauses of ``REGION_MIN_PAUSE_MS`` (Silero VAD), in seconds."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    found = get_speech_timestamps(
        audio, VadOptions(min_silence_duration_ms=REGION_MIN_PAUSE_MS, speech_pad_ms=100)
    )
    return [(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE) for r in found]


def _detect_unpadded(model: Any, clip: Any) -> tuple[str, float]:
    """Language of a short clip, encoding only its own frames (not a padded 30 s window)."""
    return detect_languages(model, [clip])[0]


def detect_languages(model: Any, clips: list[Any]) -> list[tuple[str, float]]:
    """The most likely allowed language of each clip, and its probability."""
    return [ranking[0] for ranking in language_rankings(model, clips)]


def language_rankings(model: Any, clips: list[Any]) -> list[list[tuple[str, float]]]:
    """The allowed languages of each clip, most likely first, with their probabilities.

    The clips are encoded in batches of similar length, padded with silence to the longest of
    the batch: one encoder call costs ~40 ms before it reads a frame (base, 2 cores), so one
    call per short region would cost more than the regions themselves, while much padding
    blurs a short clip's answer.
    """
    import ctranslate2

    found: list[list[tuple[str, float]]] = [[] for _clip in clips]
    order = sorted(range(len(clips)), key=lambda i: len(clips[i]))  # little padding per batch
    for first in range(0, len(order), DETECT_BATCH):
        batch = order[first : first + DETECT_BATCH]
        length = max(len(clips[i]) for i in batch)
        features = np.stack(
            [model.feature_extractor(np.pad(clips[i], (0, length - len(clips[i])))) for i in batch]
        )
        storage = ctranslate2.StorageView.from_array(
            np.ascontiguousarray(features.astype(np.float32))
        )
        encoded = model.model.encode(storage, to_cpu=False)
        for i, ranking in zip(batch, model.model.detect_language(encoded), strict=True):
            found[i] = [(token[2:-2], probability) for token, probability in ranking]
    return found


def _shares(ranking: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The ranking's probabilities as shares of its total (see ``ALLOWED_MIN_MASS``). Where the
    engine allows every language the ranking is all of Whisper's languages and sums to ~1."""
    total = sum(probability for _language, probability in ranking)
    if total < ALLOWED_MIN_MASS:
        return ranking
    return [(language, probability / total) for language, probability in ranking]


def script_of(text: str) -> str | None:
    """ "latin" or "cyrillic" when most of ``text``'s letters are in that script."""
    latin = sum(1 for ch in text if ch.isalpha() and ch.isascii())
    cyrillic = sum(1 for ch in text if "\u0400" <= ch <= "\u04ff")
    letters = sum(1 for ch in text if ch.isalpha())
    if letters and latin >= 0.7 * letters:
        return "latin"
    if letters and cyrillic >= 0.7 * letters:
        return "cyrillic"
    return None


def uncovered_speech(
    audio: Any,
    segments: list[TranscribedSegment],
    regions: list[tuple[float, float]] | None = None,
) -> list[tuple[float, float]]:
    """Spans that voice activity detection marks as speech but no transcribed word covers."""
    words = sorted(
        (w.start, w.end)
        for seg in segments
        for w in (seg.words or [Word(seg.start, seg.end, "", 1)])
    )
    if regions is None:
        regions = speech_regions(audio)
    gaps: list[tuple[float, float]] = []
    for lo, hi in regions:
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
    batch_size: int = 8,
) -> FasterWhisperEngine:
    """One engine (and so one loaded model) per worker process and configuration."""
    return FasterWhisperEngine(
        model_path=model_path,
        device=device,
        compute_type=compute_type,
        beam_size=beam_size,
        cpu_threads=cpu_threads,
        languages=languages,
        batch_size=batch_size,
    )
