"""Which audio the faster-whisper engine decodes together: timeline arithmetic, no model.

Regions of speech (``workers.asr.speech.speech_regions``) with a language each become runs of one
language; the runs of a language are joined end to end into one stream, ``SEAM_S`` of silence
apart, and that stream is cut into the windows the batched pipeline decodes side by side.
``tests/unit/workers/test_transcribe_layout.py`` pins these rules.
"""

from __future__ import annotations

import bisect
import itertools
from typing import Any

from workers.asr.engine import SAMPLE_RATE
from workers.asr.speech import MAX_SPAN_S

WINDOW_MAX_GAP_S = 30.0  # runs of one language further apart never share a decoding window
RUN_MAX_PAUSE_S = 2.0  # regions of one language parted by a longer pause are decoded apart
RUN_PAD_S = 0.3  # audio kept around a run so its first and last words are whole
SEAM_S = 0.5  # silence put between the runs of one language joined into one stream
WINDOW_S = 30.0  # Whisper's window

Span = tuple[float, float]
Run = tuple[float, float, str | None]
Placed = tuple[float, float, float]  # joined start, original start, length


def streams(runs: list[Run]) -> list[tuple[str | None, list[Span]]]:
    """The spans of each language, in time order, languages in order of first appearance: what
    is decoded as one stream (``packing.packed``), so even short, scattered runs fill whole
    windows."""
    found: dict[str | None, list[Span]] = {}
    for start, end, language in sorted(runs):
        found.setdefault(language, []).append((start, end))
    return list(found.items())


def windows(spans: list[Span]) -> tuple[list[Placed], list[dict[str, float]]]:
    """Where each span lies in the joined stream, and the stream's windows.

    Returns ``placed`` (joined start, original start, length) per span, ``SEAM_S`` apart, and
    the windows as faster-whisper's ``clip_timestamps`` (joined seconds): consecutive spans up to
    ``WINDOW_S``, but a span more than ``WINDOW_MAX_GAP_S`` after the previous one on the
    timeline starts a new window. A window of unrelated text from all over a file (the same
    formula said every hour, or the benchmark's repeated clips) looked like a repetition loop to
    Whisper's compression check, which decoded it six times over at rising temperatures.
    """
    placed: list[Placed] = []
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


def runs_of(regions: list[Span], languages: list[str | None], length: float) -> list[Run]:
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


def merged(spans: list[Run]) -> list[Run]:
    """Overlapping or touching spans of one language joined (padding made them overlap)."""
    joined: list[list[Any]] = []
    for start, end, language in sorted(spans):
        if joined and joined[-1][2] == language and start <= joined[-1][1]:
            joined[-1][1] = max(joined[-1][1], end)
        else:
            joined.append([start, end, language])
    return [(start, end, language) for start, end, language in joined]


def covered(spans: list[Span], start: float, end: float) -> float:
    """Seconds of ``[start, end]`` that ``spans`` cover."""
    return sum(max(0.0, min(hi, end) - max(lo, start)) for lo, hi in spans)


def pieces(spans: list[Span], regions: list[Span]) -> list[Span]:
    """``spans`` with those longer than ``MAX_SPAN_S`` cut at pauses between ``regions`` (or,
    where a region itself is longer, every ``MAX_SPAN_S``) so each piece fits one window."""
    gaps = [(a_end, b_start) for (_a, a_end), (b_start, _b) in itertools.pairwise(regions)]
    ends = [a_end for a_end, _b_start in gaps]
    cut_up: list[Span] = []
    for start, end in spans:
        cursor = start
        while end - cursor > MAX_SPAN_S:
            cut = _cut(gaps, ends, cursor)
            cut_up.append((cursor, cut))
            cursor = cut
        cut_up.append((cursor, end))
    return cut_up


def _cut(gaps: list[Span], ends: list[float], cursor: float) -> float:
    """Where a piece starting at ``cursor`` ends: the middle of the last pause that fits in
    ``MAX_SPAN_S`` (and leaves the piece over a second long), else ``MAX_SPAN_S`` on."""
    limit = cursor + MAX_SPAN_S
    i = bisect.bisect_right(ends, limit) - 1
    while i >= 0 and ends[i] > cursor + 1.0:
        a_end, b_start = gaps[i]
        if b_start <= limit:
            return (a_end + b_start) / 2
        i -= 1
    return limit


def fill_unknown(languages: list[str | None]) -> list[str | None]:
    """Each unknown entry takes the previous known language, or the next one at the start."""
    known = next((lang for lang in languages if lang is not None), None)
    filled: list[str | None] = []
    for lang in languages:
        known = lang or known
        filled.append(known)
    return filled


def language_at(runs: list[Run], start: float, end: float) -> str | None:
    """The language of the run that overlaps ``[start, end]`` most."""
    best, overlap = None, 0.0
    for lo, hi, language in runs:
        shared = min(hi, end) - max(lo, start)
        if shared > overlap:
            best, overlap = language, shared
    return best


def span_index(placed: list[Placed], t: float) -> int:
    """The joined span that holds time ``t`` of the joined stream, or the nearest one."""
    best, distance = 0, float("inf")
    for i, (start, _original, length) in enumerate(placed):
        away = max(start - t, t - (start + length), 0.0)
        if away < distance:
            best, distance = i, away
    return best
