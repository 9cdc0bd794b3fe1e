"""A recording of known English sentences at known times, written straight into the database
and media store — for tests of ranges, clips, exports and embeds that need real speech whose
transcript is known exactly (no transcription run needed to set it up)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from archive.db import session_scope
from archive.settings import Settings
from tests.support.factory import (
    make_body,
    make_recording,
    make_segments,
    make_speaker,
    store_media,
)
from tests.support.media_factory import duration, ffmpeg, speak

SENTENCES = (
    "Good morning. The session of the committee is now open.",
    "The railway budget for next year was approved by the deputies.",
    "Construction in Karaganda will begin next spring, the minister said.",
)
LEAD, GAP, FPS = 0.5, 1.0, 25
# Each video frame is one flat grey whose luma tells its number (mod FRAME_CYCLE), so a test can
# tell which frame a clip starts on.
FRAME_STEP, FRAME_CYCLE = 6, 36
FRAME_LUMA = f"geq=lum='16+mod(N*{FRAME_STEP}\\,{FRAME_STEP * FRAME_CYCLE})':cb=128:cr=128"


@dataclass
class Spoken:
    id: int
    sha256: str
    path: Path
    duration: float
    segments: list[tuple[float, float, str]]  # (start, end, text) as stored


def make_media(folder: Path, video: bool = True) -> tuple[Path, list[tuple[float, float, str]]]:
    """espeak-ng sentences with LEAD s of silence before and GAP s between them; the video's
    frames are numbered by their grey level (FRAME_LUMA)."""
    folder.mkdir(parents=True, exist_ok=True)
    parts, bounds, at = [], [], LEAD
    for n, text in enumerate(SENTENCES):
        wav = speak(text, folder / f"s{n}.wav")
        length = duration(wav)
        bounds.append((round(at, 3), round(at + length, 3), text))
        parts.append(wav)
        at += length + GAP
    inputs = [arg for wav in parts for arg in ("-i", str(wav))]
    chain = "".join(f"[{n}:a]aresample=22050[a{n}];" for n in range(len(parts)))
    pieces = "[lead]" + "".join(f"[a{n}][g{n}]" for n in range(len(parts)))
    gaps = "".join(f"aevalsrc=0:d={GAP}:s=22050[g{n}];" for n in range(len(parts)))
    graph = (
        f"{chain}aevalsrc=0:d={LEAD}:s=22050[lead];{gaps}"
        f"{pieces}concat=n={2 * len(parts) + 1}:v=0:a=1[a]"
    )
    out = folder / ("spoken.mp4" if video else "spoken.m4a")
    picture = ["-f", "lavfi", "-i", f"color=s=160x120:r={FPS},{FRAME_LUMA}"] if video else []
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"] if video else []
    video_map = ["-map", f"{len(parts)}:v", "-shortest"] if video else []
    mapped = ["-filter_complex", graph, "-map", "[a]", *video_map]
    ffmpeg(*inputs, *picture, *mapped, *codecs, "-c:a", "aac", str(out))
    return out, bounds


def store(
    settings: Settings,
    media: Path,
    bounds: list[tuple[float, float, str]],
    *,
    title: str = "Committee on transport",
    published: bool = True,
    video: bool = True,
) -> Spoken:
    """Put ``media`` in the store and its transcript in the database: one segment per sentence,
    words timed evenly inside it, the first segment spoken by a named speaker and reviewed."""
    sha, relative = store_media(settings, media)
    length = duration(media)
    with session_scope(settings.db_url) as session:
        slug = "transport-" + hashlib.sha256(title.encode()).hexdigest()[:6]
        body = make_body(session, slug, "Транспорт комитеті", name_en="Transport committee")
        speaker = make_speaker(
            session, f"{slug}-minister", "Марат Карабаев", name_en="Marat Karabayev"
        )
        rec = make_recording(
            session,
            body,
            sha256=sha,
            title=title,
            recorded_on=date(2026, 3, 15),
            original_name=media.name,
            original_path=relative,
            playable_path=relative,
            playable_mime="video/mp4" if video else "audio/mp4",
            size_bytes=media.stat().st_size,
            duration_s=length,
            has_video=video,
            published=published,
            transcript_model="faster-whisper:base:test",
        )
        first = make_segments(session, rec, bounds)[0]
        first.speaker, first.reviewed = speaker, True
        rec_id = rec.id
    return Spoken(rec_id, sha, settings.media_dir / relative, length, bounds)
