"""Live transcription: each closed chunk becomes segments on the recording's timeline, at once.

The capture cuts audio into fixed chunks, so a word can straddle a border. Three ways to cut the
*transcription windows* (``ASHYQ_LIVE_BORDER``; bench/live.py measures them):

- ``words`` (default): a window runs from where the previous one stopped emitting to the end of the
  new chunk; only words that end at least ``HOLD_S`` before the window's end are emitted, the rest
  is transcribed again with the next chunk. Words already emitted are recognised by time (their
  middle lies before the last emitted word's end) and by text, and dropped.
- ``silence``: the window ends in the last pause of the chunk (energy below ``SILENCE_DB`` for
  ``MIN_SILENCE_S``); the rest of the chunk is carried into the next window. Transcribes each
  second once, but a chunk without a pause is cut blindly.
- ``none``: every chunk on its own — the baseline that loses or doubles border words.

The state between windows (``Border``) is stored on the live session in the same transaction as
the segments, so a restarted worker goes on exactly where the dead one stopped.
"""

from __future__ import annotations

import re
import wave
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from workers.asr.transcribe import SAMPLE_RATE, Engine, TranscribedSegment, Word

HOLD_S = 1.5  # words ending closer than this to a window's end wait for the next window
MAX_CARRY_S = 8.0  # never carry more than this much audio into the next window
PAD_S = 0.15  # the next window starts this much before the last emitted word's end
SILENCE_DB = -35.0
MIN_SILENCE_S = 0.3
FRAME_S = 0.02


@dataclass(frozen=True)
class ChunkAudio:
    """A chunk's 16 kHz mono WAV and where it lies on the recording's timeline."""

    path: Path
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Border:
    carry_from: float  # the next window starts here (timeline s)
    text_until: float  # end of the last emitted word
    last_word: str | None = None


def read_span(chunks: Iterable[ChunkAudio], lo: float, hi: float) -> np.ndarray:
    """Samples of ``[lo, hi)`` on the timeline, from the consecutive chunks that cover it."""
    parts = []
    for chunk in chunks:
        if chunk.end_s <= lo or chunk.start_s >= hi:
            continue
        with wave.open(str(chunk.path), "rb") as handle:
            data = np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16)
        first = max(0, round((lo - chunk.start_s) * SAMPLE_RATE))
        last = min(len(data), round((hi - chunk.start_s) * SAMPLE_RATE))
        parts.append(data[first:last])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)


def write_wav(samples: np.ndarray, path: Path) -> Path:
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SAMPLE_RATE)
        handle.writeframes(samples.astype(np.int16).tobytes())
    return path


def pauses(samples: np.ndarray) -> list[tuple[float, float]]:
    """Quiet stretches (start, end) in seconds from the start of ``samples``."""
    frame = int(FRAME_S * SAMPLE_RATE)
    count = len(samples) // frame
    if count == 0:
        return []
    frames = samples[: count * frame].astype(np.float32).reshape(count, frame) / 32768.0
    rms = np.sqrt(np.mean(frames**2, axis=1)) + 1e-9
    quiet = 20 * np.log10(rms) < SILENCE_DB
    found, start = [], None
    for i, q in enumerate(quiet):
        if q and start is None:
            start = i
        elif not q and start is not None:
            if (i - start) * FRAME_S >= MIN_SILENCE_S:
                found.append((start * FRAME_S, i * FRAME_S))
            start = None
    if start is not None and (count - start) * FRAME_S >= MIN_SILENCE_S:
        found.append((start * FRAME_S, count * FRAME_S))
    return found


def _norm(word: str) -> str:
    return re.sub(r"\W+", "", word.lower())


def _shift(seg: TranscribedSegment, offset: float) -> TranscribedSegment:
    return replace(
        seg,
        start=round(seg.start + offset, 3),
        end=round(seg.end + offset, 3),
        words=[
            Word(round(w.start + offset, 3), round(w.end + offset, 3), w.word, w.probability)
            for w in seg.words
        ],
    )


def _run(
    engine: Engine, samples: np.ndarray, offset: float, work: Path
) -> list[TranscribedSegment]:
    if len(samples) < SAMPLE_RATE // 4:
        return []
    work.mkdir(parents=True, exist_ok=True)
    path = write_wav(samples, work / "window.wav")
    try:
        return [_shift(seg, offset) for seg in engine.transcribe(path)]
    finally:
        path.unlink(missing_ok=True)


def emit_words(
    found: list[TranscribedSegment], border: Border, limit: float
) -> tuple[list[TranscribedSegment], float, str | None]:
    """The words of a window that are new and safe to emit, as segments.

    A word is new when its middle lies after the last emitted word's end and it is not that word
    again; it is safe when it ends before ``limit``. Whisper's word times of two windows can
    overlap by a few hundred milliseconds, so a new word that starts before the last emitted
    word's end is moved to start there: stored segments never overlap, which the player's
    transcript highlighting and the captions track rely on. Returns the segments, the end of the
    last emitted word and its normalised text.
    """
    emitted: list[TranscribedSegment] = []
    text_until, last_word = border.text_until, border.last_word
    for seg in found:
        words = seg.words or [Word(seg.start, seg.end, seg.text, 1.0)]
        kept: list[Word] = []
        for w in words:
            if w.end > limit + 1e-6:
                break
            if (w.start + w.end) / 2 < text_until:
                continue
            if last_word and _norm(w.word) == last_word and w.start < text_until + 0.3:
                continue
            if w.start < text_until:
                w = Word(round(text_until, 3), w.end, w.word, w.probability)
            kept.append(w)
            text_until, last_word = w.end, _norm(w.word) or last_word
        if kept:
            text = "".join(w.word for w in kept).strip()
            if text:
                emitted.append(
                    replace(seg, start=kept[0].start, end=kept[-1].end, text=text, words=kept)
                )
        if len(kept) < len(words) and any(w.end > limit + 1e-6 for w in words):
            break  # the rest of this window is held for the next one
    return emitted, text_until, last_word


def transcribe_chunk(
    engine: Engine,
    run_chunks: list[ChunkAudio],
    chunk: ChunkAudio,
    border: Border,
    *,
    final: bool,
    strategy: str,
    work: Path,
) -> tuple[list[TranscribedSegment], Border]:
    """Segments to store for ``chunk`` and the border state for the next one.

    ``run_chunks`` are the chunks of the same connection up to and including ``chunk`` (the
    window may reach back into earlier ones); ``final`` says nothing follows in this connection.
    """
    hi = chunk.end_s
    if strategy == "none":
        segments = _run(engine, read_span([chunk], chunk.start_s, hi), chunk.start_s, work)
        return segments, Border(hi, hi, None)
    run_start = run_chunks[0].start_s
    lo = max(border.carry_from, run_start, chunk.start_s - MAX_CARRY_S)
    if strategy == "silence":
        cut = hi
        if not final:
            samples = read_span(run_chunks, lo, hi)
            for start, end in reversed(pauses(samples)):
                middle = lo + (start + end) / 2
                if hi - MAX_CARRY_S <= middle <= hi - 0.2 and middle > lo + 0.5:
                    cut = middle
                    break
        segments = _run(engine, read_span(run_chunks, lo, cut), lo, work)
        return segments, Border(cut, cut, None)

    found = _run(engine, read_span(run_chunks, lo, hi), lo, work)
    limit = hi if final else hi - HOLD_S
    emitted, text_until, last_word = emit_words(found, border, limit)
    if final:
        return emitted, Border(hi, hi, None)
    # Nothing new emitted (silence): skip it, but keep the held tail where a word may begin.
    carry = text_until - PAD_S if emitted else limit
    carry = min(max(carry, hi - MAX_CARRY_S, lo), limit)
    return emitted, Border(round(carry, 3), text_until, last_word)
