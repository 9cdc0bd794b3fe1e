"""Where the speech is, on a file's timeline: what both Whisper engines decode and repair.

Voice activity detection (Silero, through faster-whisper) finds the stretches of speech; what it
calls speech but no transcribed word covers is transcribed again ("gap repair"), keeping only
output Whisper is confident in: on audio the main pass found nothing in, Whisper likes to
hallucinate ("You", "Thank you.").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from workers.asr.engine import SAMPLE_RATE, TranscribedSegment, Word

REGION_MIN_PAUSE_MS = 300  # a pause this long parts two regions of speech (language may change)
MIN_GAP_S = 1.2  # an uncovered stretch of speech shorter than this is left alone
MERGE_GAP_S = 2.0  # uncovered stretches closer than this are re-transcribed together
MAX_SPAN_S = 28.0  # one Whisper window, with room for the seams
REPAIR_MAX_NO_SPEECH = 0.6
REPAIR_MIN_LOGPROB = -1.0


def whole_file(
    lock: threading.Lock,
    audio_path: Path,
    on_progress: Callable[[float], None] | None,
    run: Callable[[Any], list[TranscribedSegment]],
) -> list[TranscribedSegment]:
    """``run`` on the file's 16 kHz samples, one file at a time per engine (its model is not
    shared between threads), progress completed, and the segments in time order: what
    transcribing a file means for both Whisper engines."""
    from faster_whisper import decode_audio

    with lock:
        found = run(decode_audio(str(audio_path), sampling_rate=SAMPLE_RATE))
    if on_progress is not None:
        on_progress(1.0)
    return sorted(found, key=lambda seg: seg.start)


def samples(audio: Any, start: float, end: float) -> Any:
    """The 16 kHz samples of ``audio`` between two times in seconds."""
    return audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]


def confident(no_speech_prob: float, avg_logprob: float) -> bool:
    """Whether gap repair keeps a segment: Whisper is sure it heard speech, and what."""
    return no_speech_prob <= REPAIR_MAX_NO_SPEECH and avg_logprob >= REPAIR_MIN_LOGPROB


def on_timeline(
    offset: float,
    start: float,
    end: float,
    text: str,
    words: Iterable[tuple[float, float, str, float]],
    *,
    no_speech_prob: float,
    avg_logprob: float,
    language: str | None,
    strict: bool,
    window: int = 0,
) -> TranscribedSegment | None:
    """A segment Whisper decoded in a window that starts ``offset`` seconds into the file, moved
    onto the file's timeline (``words``: start, end, word, probability each); None when it holds
    no text or, ``strict`` (gap repair), when Whisper is unsure it heard speech. Both engines keep
    a segment by this one rule, so they agree on what a transcript holds."""
    text = text.strip()
    if not text or (strict and not confident(no_speech_prob, avg_logprob)):
        return None
    return TranscribedSegment(
        start=round(offset + start, 3),
        end=round(offset + end, 3),
        text=text,
        language=language,
        words=[
            Word(round(offset + w_start, 3), round(offset + w_end, 3), word, round(prob, 4))
            for w_start, w_end, word, prob in words
        ],
        avg_logprob=avg_logprob,
        window=window,
    )


def speech_regions(audio: Any) -> list[tuple[float, float]]:
    """Stretches of speech between pauses of ``REGION_MIN_PAUSE_MS`` (Silero VAD), in seconds."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    found = get_speech_timestamps(
        audio, VadOptions(min_silence_duration_ms=REGION_MIN_PAUSE_MS, speech_pad_ms=100)
    )
    return [(r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE) for r in found]


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
        gaps.extend(_gaps_in(lo, hi, words))
    spans: list[list[float]] = []
    for lo, hi in gaps:
        if spans and lo - spans[-1][1] <= MERGE_GAP_S and hi - spans[-1][0] <= MAX_SPAN_S:
            spans[-1][1] = hi
        else:
            spans.append([lo, hi])
    return [(float(lo), float(hi)) for lo, hi in spans]


def _gaps_in(lo: float, hi: float, words: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The stretches of ``MIN_GAP_S`` or more of one region ``[lo, hi]`` that no word covers."""
    gaps: list[tuple[float, float]] = []
    cursor = lo
    for w_start, w_end in words:
        if w_end <= cursor or w_start >= hi:
            continue
        if w_start - cursor >= MIN_GAP_S:
            gaps.append((cursor, w_start))
        cursor = max(cursor, w_end)
    if hi - cursor >= MIN_GAP_S:
        gaps.append((cursor, hi))
    return gaps
