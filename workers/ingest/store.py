"""The one writer of a recording's files and segment rows, for the pipeline and live captures.

Files: the original, a browser-playable rendition when the original is not one, and a poster
frame for video, each made in the recording's work folder and moved into the media store by
atomic rename under ``<sha[:2]>/<sha>/`` (``archive.media.storage``), so a re-run finds them made
or placed and does nothing twice.

Segments: ids are ``{recording}-{idx}``, so the same transcript written again overwrites itself;
the pipeline replaces a recording's segments in one transaction, a live capture appends each
chunk's after the last.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from archive.media import storage
from archive.models import Recording, Segment, segment_id
from archive.settings import Settings
from workers.asr.transcribe import TranscribedSegment
from workers.media import ffmpeg as media


@dataclass(frozen=True)
class Renditions:
    """What the work folder holds besides the original: a playable copy and a poster, if any."""

    playable: Path | None
    playable_mime: str | None
    poster: Path | None


def make_renditions(source: Path, info: media.MediaInfo, work: Path) -> Renditions:
    """A playable rendition when browsers cannot play ``source`` and a poster for video, made in
    ``work`` unless an earlier attempt left them there."""
    playable = mime = None
    if not media.is_browser_playable(info):
        playable = next(work.glob("playable.*"), None)
        if playable is None:
            playable, mime = media.make_playable(source, info, work)
        else:
            mime = "video/mp4" if playable.suffix == ".mp4" else "audio/mp4"
    poster = work / "poster.jpg"
    if info.has_video and not poster.exists():
        media.poster(source, info, poster)
    return Renditions(playable, mime, poster if poster.exists() else None)


def place_media(
    settings: Settings,
    recording: Recording,
    original: Path,
    info: media.MediaInfo,
    made: Renditions,
) -> None:
    """Move the original and its renditions into the store under the recording's SHA-256, and
    set what the recording says about its files (paths, type, size, duration, probe)."""
    folder = storage.recording_dir(recording.sha256)
    # A recording keeps the original's name it was given; the extension says what ffprobe found
    # in the bytes, never what the uploaded name claimed.
    rel = Path(recording.original_path or folder / f"original{info.extension}")
    if original.resolve() != (settings.media_dir / rel).resolve():
        storage.put(settings.media_dir, original, rel)
    recording.original_path = recording.playable_path = str(rel)
    recording.playable_mime = media.mime_for(info)
    if made.playable is not None and made.playable_mime is not None:
        storage.put(settings.media_dir, made.playable, folder / made.playable.name)
        recording.playable_path = str(folder / made.playable.name)
        recording.playable_mime = made.playable_mime
    if made.poster is not None:
        storage.put(settings.media_dir, made.poster, folder / "poster.jpg")
        recording.poster_path = str(folder / "poster.jpg")
    recording.size_bytes = (settings.media_dir / rel).stat().st_size
    recording.duration_s = info.duration_s
    recording.container = info.container
    recording.has_video = info.has_video
    recording.probe = {"format": info.raw.get("format", {}), "streams": info.raw.get("streams", [])}


def segment_row(recording_id: int, idx: int, seg: TranscribedSegment) -> Segment:
    """The database row of one transcribed segment (words as [start, end, word, probability])."""
    return Segment(
        id=segment_id(recording_id, idx),
        recording_id=recording_id,
        idx=idx,
        start=seg.start,
        end=seg.end,
        text=seg.text,
        language=seg.language,
        words=[[w.start, w.end, w.word, w.probability] for w in seg.words],
        avg_logprob=seg.avg_logprob,
        unintelligible=seg.unintelligible,
    )


def replace_segments(
    session: Session, recording: Recording, segments: list[TranscribedSegment]
) -> None:
    """The recording's transcript is now ``segments`` (a new transcription replaces the old)."""
    session.execute(delete(Segment).where(Segment.recording_id == recording.id))
    session.add_all(segment_row(recording.id, idx, seg) for idx, seg in enumerate(segments))
    recording.languages = sorted({s.language for s in segments if s.language})


def next_segment_idx(session: Session, recording_id: int) -> int:
    """The index the recording's next segment gets (0 for the first)."""
    last = session.scalar(select(func.max(Segment.idx)).where(Segment.recording_id == recording_id))
    return 0 if last is None else last + 1


def append_segments(
    session: Session, recording: Recording, segments: list[TranscribedSegment]
) -> list[Segment]:
    """Add ``segments`` after the recording's last (a live chunk's); returns the new rows."""
    first = next_segment_idx(session, recording.id)
    rows = [segment_row(recording.id, idx, seg) for idx, seg in enumerate(segments, start=first)]
    session.add_all(rows)
    languages = set(recording.languages or []) | {s.language for s in segments if s.language}
    recording.languages = sorted(languages)
    return rows
