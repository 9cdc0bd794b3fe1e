"""Long recordings are transcribed in chunks cut on silence, each checkpointed when done.

A three-hour hearing decoded at once holds ~700 MB of samples and, if the worker dies, starts
over. Instead the 16 kHz audio is cut near every ``chunk_s`` seconds at the middle of a pause
(ffmpeg's ``silencedetect`` streams the file, so finding the pauses needs no memory), each chunk is
transcribed on its own with its timestamps shifted onto the recording's timeline, and its segments
are written to ``chunk-NNNNN.json`` at once. A restarted job reads the finished chunks and goes on
from the first missing one: no chunk is transcribed twice, and cutting inside pauses keeps words
whole at the borders.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from workers.asr.engine import Engine, TranscribedSegment, Word
from workers.errors import PermanentError

log = logging.getLogger(__name__)

SEARCH_S = 60.0  # look this far either side of each target cut for a pause
SILENCE_DB = -35
MIN_SILENCE_S = 0.3
_START = re.compile(r"silence_start: (-?[\d.]+)")
_END = re.compile(r"silence_end: ([\d.]+)")


def silences(audio: Path) -> list[tuple[float, float]]:
    """Pauses in ``audio`` as (start, end) seconds, found by streaming it through ffmpeg."""
    detect = ["-af", f"silencedetect=noise={SILENCE_DB}dB:d={MIN_SILENCE_S}", "-f", "null", "-"]
    argv = ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(audio), *detect]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PermanentError(f"finding pauses failed: {done.stderr.strip()[-300:]}")
    found, start = [], None
    for line in done.stderr.splitlines():
        if (m := _START.search(line)) is not None:
            start = max(0.0, float(m.group(1)))
        elif (m := _END.search(line)) is not None and start is not None:
            found.append((start, float(m.group(1))))
            start = None
    return found


def plan(
    duration: float, pauses: list[tuple[float, float]], chunk_s: float
) -> list[tuple[float, float]]:
    """Chunk borders near every ``chunk_s``, moved to the middle of the longest nearby pause.

    "Nearby" is within ``SEARCH_S`` (at most half a chunk) of the target, so every chunk is
    between half and one and a half ``chunk_s`` long; with no pause there, the cut is made at the
    target itself.
    """
    window = min(SEARCH_S, chunk_s / 2)
    cuts = [0.0]
    while cuts[-1] + chunk_s < duration - chunk_s / 4:
        target = cuts[-1] + chunk_s
        near = [p for p in pauses if abs((p[0] + p[1]) / 2 - target) <= window]
        if near:
            best = min(near, key=lambda p: (-(p[1] - p[0]), abs((p[0] + p[1]) / 2 - target)))
            cut = (best[0] + best[1]) / 2
        else:
            cut = target
        cuts.append(round(cut, 3))
    cuts.append(duration)
    return list(itertools.pairwise(cuts))


def _load(path: Path) -> list[TranscribedSegment]:
    return [
        TranscribedSegment(**{**raw, "words": [Word(**w) for w in raw["words"]]})
        for raw in json.loads(path.read_text())
    ]


def _shift(seg: TranscribedSegment, offset: float) -> TranscribedSegment:
    return TranscribedSegment(
        start=round(seg.start + offset, 3),
        end=round(seg.end + offset, 3),
        text=seg.text,
        language=seg.language,
        words=[
            Word(round(w.start + offset, 3), round(w.end + offset, 3), w.word, w.probability)
            for w in seg.words
        ],
        avg_logprob=seg.avg_logprob,
        unintelligible=seg.unintelligible,
    )


def transcribe_in_chunks(
    engine: Engine,
    audio: Path,
    duration: float,
    folder: Path,
    chunk_s: float,
    on_progress: Callable[[float, str], None] | None = None,
) -> list[TranscribedSegment]:
    """Transcribe ``audio`` chunk by chunk, resuming from the chunks ``folder`` already holds."""
    folder.mkdir(parents=True, exist_ok=True)
    chunks = _stored_plan(folder / "plan.json", audio, duration, chunk_s)
    finished = [(folder / f"chunk-{i:05d}.json").exists() for i in range(len(chunks))]
    if any(finished):
        log.info(
            "resuming at chunk %d of %d (%d already transcribed)",
            finished.index(False) + 1 if not all(finished) else len(chunks),
            len(chunks),
            sum(finished),
        )
    if on_progress is not None:  # once for the stored chunks, so the ETA counts only new work
        pairs = zip(chunks, finished, strict=True)
        covered = sum(end - start for (start, end), done in pairs if done)
        on_progress(covered / duration, f"{sum(finished)}/{len(chunks)}")
    result: list[TranscribedSegment] = []
    for index, (start, end) in enumerate(chunks):
        checkpoint = folder / f"chunk-{index:05d}.json"
        if not finished[index]:
            report = None
            if on_progress is not None:
                report = _chunk_progress(on_progress, start, end, duration, index, len(chunks))
            _transcribe_chunk(engine, audio, start, end, checkpoint, report)
        result.extend(_load(checkpoint))
    return sorted(result, key=lambda seg: seg.start)


def _stored_plan(
    plan_file: Path, audio: Path, duration: float, chunk_s: float
) -> list[tuple[float, float]]:
    """The chunks of ``audio``: planned once and stored, so a resumed job cuts the same ones."""
    if plan_file.exists():
        return [(float(lo), float(hi)) for lo, hi in json.loads(plan_file.read_text())]
    chunks = plan(duration, silences(audio), chunk_s)
    partial = plan_file.with_suffix(".part")
    partial.write_text(json.dumps(chunks))
    os.replace(partial, plan_file)
    return chunks


def _chunk_progress(
    on_progress: Callable[[float, str], None],
    start: float,
    end: float,
    duration: float,
    index: int,
    count: int,
) -> Callable[[float], None]:
    """Progress through one chunk as progress through the recording, noted "chunk/count"."""
    note = f"{index + 1}/{count}"
    return lambda f: on_progress((start + (end - start) * f) / duration, note)


def _transcribe_chunk(
    engine: Engine,
    audio: Path,
    start: float,
    end: float,
    checkpoint: Path,
    on_progress: Callable[[float], None] | None,
) -> None:
    """One chunk cut out (stream copy), transcribed onto the recording's timeline, and its
    segments written to ``checkpoint`` atomically (a half-written checkpoint never counts)."""
    piece = checkpoint.with_suffix(".wav")
    cut = ["-ss", f"{start:.3f}", "-to", f"{end:.3f}", "-c", "copy", str(piece)]
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(audio), *cut], check=True
    )
    segments = [_shift(seg, start) for seg in engine.transcribe(piece, on_progress)]
    partial = checkpoint.with_suffix(".part")
    partial.write_text(json.dumps([asdict(s) for s in segments], ensure_ascii=False))
    os.replace(partial, checkpoint)
    piece.unlink(missing_ok=True)
