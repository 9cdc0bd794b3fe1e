"""The end of a live capture: its runs become one file and the recording a normal archive item.

Every ``.ts`` segment each run's playlist lists (complete ones only: a segment in flight when a
worker died is not listed) is joined by stream copy with ffmpeg's concat demuxer into one MPEG-TS
file, which is probed, hashed and stored like any ingested original; a browser-playable rendition
is made when needed (stream copy into MP4 for H.264/AAC). The segments transcribed live stay as
they are — they are already on this file's timeline — and are indexed again under one generation.

Re-running after a crash is safe: nothing under ``live/<id>`` is removed before the database
says ``ended``, the join is deterministic (same bytes, same SHA-256) and the store keeps an
identical file it already has.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.media import storage
from archive.models import LiveSession, LiveState, Recording, RecordingStatus, utcnow
from archive.settings import Settings
from workers.errors import PermanentError
from workers.media import ffmpeg as media
from workers.media import hls

log = logging.getLogger(__name__)


def recorded_segments(settings: Settings, live: LiveSession) -> list[Path]:
    from workers.live.capture import run_dir

    files: list[Path] = []
    for run in live.runs:
        folder = run_dir(settings, live.id, run["n"])
        files += [folder / uri for _, uri in hls.local(folder / "index.m3u8").segments]
    return [f for f in files if f.is_file()]


def join(segments: list[Path], target: Path) -> Path:
    """Stream-copy the segments into one MPEG-TS file (renamed into place when complete)."""
    listing = target.with_suffix(".txt")
    listing.write_text("".join(f"file '{p.resolve()}'\n" for p in segments))
    partial = target.with_name(f".{target.name}.part")
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat",
         "-safe", "0", "-i", str(listing), "-map", "0", "-c", "copy", "-f", "mpegts",
         str(partial)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise PermanentError(f"joining the live recording failed: {done.stderr.strip()[-400:]}")
    partial.replace(target)
    listing.unlink(missing_ok=True)
    return target


def finalize(settings: Settings, db: Session, live: LiveSession) -> None:
    from workers.live.capture import reindex, session_dir

    folder = session_dir(settings, live.id)
    recording = db.get(Recording, live.recording_id) if live.recording_id else None
    segments = recorded_segments(settings, live)
    if recording is None or not segments:
        live.state, live.ended_at = LiveState.failed, utcnow()
        live.error = "no data was received from the source"
        live.owner = None
        if recording is not None:
            recording.status = RecordingStatus.failed
        db.commit()
        shutil.rmtree(folder, ignore_errors=True)
        return
    work = folder / "final"
    work.mkdir(parents=True, exist_ok=True)
    joined = work / "original.ts"
    if not joined.exists():
        join(segments, joined)
    info = media.probe(joined)
    size = joined.stat().st_size
    sha = storage.sha256_file(joined)
    clash = db.scalar(
        select(Recording).where(Recording.sha256 == sha, Recording.id != recording.id)
    )
    if clash is not None:
        raise PermanentError(f"the joined file is already recording {clash.id}")
    rendition = None
    if not media.is_browser_playable(info):
        rendition = next(work.glob("playable.*"), None)
        if rendition is None:
            rendition, _mime = media.make_playable(joined, info, work)
    poster = work / "poster.jpg"
    if info.has_video and not poster.exists():
        media.poster(joined, info, poster)

    where = storage.recording_dir(sha)
    storage.put(settings.media_dir, joined, where / "original.ts")
    recording.sha256 = sha
    recording.original_path = str(where / "original.ts")
    recording.playable_path = recording.original_path
    recording.playable_mime = media.mime_for(info)
    if rendition is not None:
        storage.put(settings.media_dir, rendition, where / rendition.name)
        recording.playable_path = str(where / rendition.name)
        mp4_video = rendition.suffix == ".mp4"
        recording.playable_mime = "video/mp4" if mp4_video else "audio/mp4"
    if poster.exists():
        storage.put(settings.media_dir, poster, where / "poster.jpg")
        recording.poster_path = str(where / "poster.jpg")
    recording.size_bytes = size
    recording.duration_s = info.duration_s
    recording.container = info.container
    recording.has_video = info.has_video
    recording.probe = {"format": info.raw.get("format", {}), "streams": info.raw.get("streams", [])}
    recording.transcript_model = getattr(live_model(settings), "model_id", None)
    recording.status = RecordingStatus.ready
    db.commit()
    db.expire(recording, ["segments"])
    reindex(settings, recording)
    live.state, live.ended_at, live.owner = LiveState.ended, live.ended_at or utcnow(), None
    live.end_reason = live.end_reason or "ended"
    db.commit()
    shutil.rmtree(folder, ignore_errors=True)
    if settings.live_full_pass:
        from workers.services.submit import submit_reprocess

        submit_reprocess(settings, recording.id)
    log.info("live %s: finalized as recording %s (%.1f s)", live.id, recording.id, info.duration_s)


def live_model(settings: Settings) -> object:
    from workers.live.capture import live_engine

    return live_engine(settings)
