"""Decoding samples with faster-whisper: windows several at a time, a loop decoded again.

Every decoded window is checked for a degenerate decode (``loops``); only such a stretch is
decoded again, sequentially, with CTranslate2's repetition controls, then also with Whisper's
temperature fallbacks; where every attempt still loops, the stretch keeps its timing, is marked
unintelligible and stores no text (``recovered``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from workers.asr.engine import TranscribedSegment
from workers.asr.faster.loops import (
    MAX_NO_SPEECH,
    RECOVERY_ATTEMPTS,
    UNSURE_ATTEMPTS,
    is_degenerate,
    is_loop,
    is_unsure,
)
from workers.asr.speech import on_timeline, samples

Window = tuple[float, float, str | None, int, list[Any]]


@dataclass(frozen=True)
class Decoder:
    """A loaded model and how its engine decodes with it (the engine's settings)."""

    model: Any
    beam_size: int
    batch_size: int
    language: str | None = None  # the engine's fixed language, if any


def decode(
    decoder: Decoder,
    audio: Any,
    offset: float,
    *,
    strict: bool = False,
    language: str | None = None,
    clips: list[dict[str, float]] | None = None,
) -> Iterator[TranscribedSegment]:
    """Decode ``audio``; a window or segment that loops is decoded again (``recovered``).

    ``strict`` (gap repair, on audio the main pass found nothing in) keeps only confident
    output and drops a stretch that still loops rather than marking it: there a loop is
    more likely Whisper's hallucination on noise than speech it cannot read.
    """
    fixed = language or decoder.language
    options: dict[str, Any] = {
        "beam_size": decoder.beam_size,
        "word_timestamps": True,
        "multilingual": fixed is None,
        "language": fixed,
    }
    for start, end, window_language, window, group in _windows_decoded(
        decoder, audio, options=options, clips=clips
    ):
        language = fixed or window_language
        attempts = RECOVERY_ATTEMPTS if is_degenerate(group) else ()
        if not attempts and not strict and is_unsure(group):
            attempts = UNSURE_ATTEMPTS
        if attempts:
            stretch = samples(audio, start, end)
            yield from recovered(decoder, stretch, offset + start, language, attempts, strict)
            continue
        for segment in group:
            found = converted(segment, offset, language, window, strict=strict)
            if found is not None:
                yield found


def _windows_decoded(
    decoder: Decoder,
    audio: Any,
    *,
    options: dict[str, Any],
    clips: list[dict[str, float]] | None,
) -> Iterator[Window]:
    """faster-whisper's segments grouped by the window that decoded them: the window's span
    (seconds of ``audio``), its language where known, its index, and its segments."""
    model = decoder.model
    if clips and decoder.batch_size > 1:
        # The given windows decoded several at a time: ~1.6x the sequential speed on
        # 2 cores (bench/asr.py). Timestamp tokens stay on, or a whole window would be one
        # segment. The batched pipeline does not tell a window's language (multilingual).
        segments, _info = _batched(model).transcribe(
            audio,
            batch_size=decoder.batch_size,
            without_timestamps=False,
            clip_timestamps=clips,
            **options,
        )
        tagged = ((seg, None, 0) for seg in segments)
    else:
        segments, _info = model.transcribe(audio, vad_filter=False, **options)
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


def _batched(model: Any) -> Any:
    """faster-whisper's batched pipeline over the engine's loaded model (made once per model)."""
    from faster_whisper import BatchedInferencePipeline

    pipeline = getattr(model, "_ashyq_batched", None)
    if pipeline is None:
        pipeline = BatchedInferencePipeline(model)
        model._ashyq_batched = pipeline
    return pipeline


def recovered(
    decoder: Decoder,
    stretch: Any,
    offset: float,
    language: str | None,
    attempts: tuple[dict[str, Any], ...],
    strict: bool,
) -> list[TranscribedSegment]:
    """A stretch that decoded into a loop (or too unsure), decoded again on its own,
    sequentially.

    Each of ``attempts`` in turn until one does not loop (``is_degenerate``).
    Where the last still loops, its looping segments keep their timing and lose their text
    (``unintelligible``); the rest of the stretch is kept.
    """
    group, language = _attempted(decoder, stretch, language, attempts)
    window = getattr(decoder.model, "_window_index", 0)
    found: list[TranscribedSegment] = []
    looping = [is_loop(seg.text) for seg in group]
    if is_degenerate(group) and not any(looping):
        looping = [True] * len(group)  # the loop runs across segments: none can be kept
    for segment, loops in zip(group, looping, strict=True):
        if not loops:
            # Whisper heard something here (it looped on it): in gap repair, text that no
            # longer loops is kept unless Whisper thinks it heard no speech; a low
            # log-probability alone is how it writes Kazakh (base model).
            kept = converted(segment, offset, language, window, strict=False)
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


def _attempted(
    decoder: Decoder,
    stretch: Any,
    language: str | None,
    attempts: tuple[dict[str, Any], ...],
) -> tuple[list[Any], str | None]:
    """The segments with text of the first of ``attempts`` that does not loop (else of the last
    one), and the language they were decoded in."""
    group: list[Any] = []
    for extra in attempts:
        segments, info = decoder.model.transcribe(
            stretch,
            language=language,
            beam_size=decoder.beam_size,
            word_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
            **extra,
        )
        group = [seg for seg in segments if seg.text.strip()]
        language = language or info.language
        if not is_degenerate(group):
            break
    return group, language


def converted(
    segment: Any, offset: float, language: str | None, window: int, *, strict: bool
) -> TranscribedSegment | None:
    """One of faster-whisper's segments on the file's timeline, or None when it holds no text
    (or, ``strict``, when Whisper is unsure it heard speech)."""
    return on_timeline(
        offset,
        segment.start,
        segment.end,
        segment.text,
        ((w.start, w.end, w.word, w.probability) for w in segment.words or []),
        no_speech_prob=segment.no_speech_prob,
        avg_logprob=segment.avg_logprob,
        language=language,
        strict=strict,
        window=window,
    )
