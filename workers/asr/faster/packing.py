"""Spans of one language decoded as one stream, and every word put back on the file's timeline.

The spans are joined end to end, so Whisper works on full 30 s windows however short and
scattered they are (a span of its own would cost a whole padded window), and every word is mapped
back to the span it came from (clamped to it). ``SEAM_S`` of silence between spans keeps Whisper
from timing a word across the join (a word of the next span, timed a little early, landed in
another speaker's time). A segment whose words come from two spans is split there: the spans may
lie far apart on the timeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from workers.asr.engine import SAMPLE_RATE, TranscribedSegment, Word
from workers.asr.faster.decoding import Decoder, decode
from workers.asr.faster.layout import SEAM_S, Placed, Span, pieces, span_index, windows
from workers.asr.speech import samples

MAX_WORD_S = 2.0  # a word timed longer than this was stretched over audio Whisper skipped
SPLIT_GAP_S = 2.0  # a segment is split where this much passes between two of its words


def packed(
    decoder: Decoder,
    audio: Any,
    spans: list[Span],
    language: str | None,
    on_time: Callable[[float], None] | None = None,
    *,
    strict: bool = False,
    regions: list[Span] | None = None,
) -> list[TranscribedSegment]:
    """Transcribe ``spans`` of one language as one stream, as faster-whisper's VAD filter does.

    Spans longer than a window are cut at pauses between ``regions`` first; the windows
    (``layout.windows``: at most 30 s of the joined stream, cut only at seams, never joining
    far-apart spans) are what the batched pipeline decodes side by side. ``on_time`` hears how
    far into the joined stream decoding has come, in seconds.
    """
    length = len(audio) / SAMPLE_RATE
    spans = [(max(0.0, start), min(end, length)) for start, end in spans]
    spans = pieces([(start, end) for start, end in spans if end > start], regions or [])
    if not spans:
        return []
    placed, clips = windows(spans)
    seam = np.zeros(int(SEAM_S * SAMPLE_RATE), dtype=np.float32)
    parts = []
    for start, end in spans:
        if parts:
            parts.append(seam)
        parts.append(samples(audio, start, end))
    joined = np.concatenate(parts).astype(np.float32)
    result: list[TranscribedSegment] = []
    for seg in decode(decoder, joined, 0.0, strict=strict, language=language, clips=clips):
        if on_time is not None:
            on_time(seg.end)
        result.extend(_placed_back(placed, seg))
    return result


def _placed_back(placed: list[Placed], seg: TranscribedSegment) -> list[TranscribedSegment]:
    """A segment of the joined stream as segments on the file's timeline: one per span its words
    came from, split further where its words' timings say speech stopped (``sane_runs``)."""
    if seg.unintelligible:
        return unintelligible_parts(placed, seg)
    words = seg.words or [Word(seg.start, seg.end, seg.text, 1.0)]
    result: list[TranscribedSegment] = []
    for part in _words_by_span(placed, words).values():
        if not seg.words:
            text = "".join(w.word for w in part).strip()
            if text:
                result.append(replace(seg, start=part[0].start, end=part[-1].end))
            continue
        for run in sane_runs(part):
            text = "".join(w.word for w in run).strip()
            if text:
                result.append(
                    replace(seg, start=run[0].start, end=run[-1].end, text=text, words=run)
                )
    return result


def _words_by_span(placed: list[Placed], words: list[Word]) -> dict[int, list[Word]]:
    """Words of the joined stream grouped by the span each came from, timed on the file's
    timeline (clamped to their span)."""
    parts: dict[int, list[Word]] = {}
    for w in words:
        index = span_index(placed, (w.start + w.end) / 2)
        place = placed[index]
        word = Word(_back(place, w.start), _back(place, w.end), w.word, w.probability)
        parts.setdefault(index, []).append(word)
    return parts


def _back(place: Placed, t: float) -> float:
    """Time ``t`` of the joined stream on the file's timeline, clamped to the span ``place``."""
    joined_at, original, length = place
    return round(original + min(max(t - joined_at, 0.0), length), 3)


def sane_runs(words: list[Word]) -> list[list[Word]]:
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


def unintelligible_parts(placed: list[Placed], seg: TranscribedSegment) -> list[TranscribedSegment]:
    """An unintelligible stretch of the joined stream, as the stretch of each span it covers on
    the file's timeline (it has no words to place one by one)."""
    parts = []
    for joined_at, original, length in placed:
        lo, hi = max(seg.start, joined_at), min(seg.end, joined_at + length)
        if hi - lo > 0.05:
            start = round(original + lo - joined_at, 3)
            parts.append(replace(seg, start=start, end=round(original + hi - joined_at, 3)))
    return parts
