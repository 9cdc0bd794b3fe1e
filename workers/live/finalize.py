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

from archive.live import run_dir, session_dir
from archive.media import storage
from archive.models import LiveSession, LiveState, Recording, RecordingStatus, utcnow
from archive.settings import Settings
from workers import indexing
from workers.errors import PermanentError
from workers.ingest import store
from workers.live.transcriber import live_engine
from workers.media import ffmpeg as media
from workers.media import hls
from workers.services.submit import submit_reprocess

log = logging.getLogger(__name__)


def recorded_segments(settings: Settings, live: LiveSession) -> list[Path]:
    """Every complete ``.ts`` segment of every run, in recording order."""
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
    argv = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "concat"]
    argv += ["-safe", "0", "-i", str(listing), "-map", "0", "-c", "copy", "-f", "mpegts"]
    done = subprocess.run([*argv, str(partial)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PermanentError(f"joining the live recording failed: {done.stderr.strip()[-400:]}")
    partial.replace(target)
    listing.unlink(missing_ok=True)
    return target


def finalize(settings: Settings, db: Session, live: LiveSession) -> None:
    """Join the runs into the recording's original, store it like an ingested one, index it
    again as a whole and end the session; a capture that recorded nothing fails instead."""
    folder = session_dir(settings, live.id)
    recording = db.get(Recording, live.recording_id) if live.recording_id else None
    segments = recorded_segments(settings, live)
    if recording is None or not segments:
        _fail(db, live, recording)
        shutil.rmtree(folder, ignore_errors=True)
        return
    work = folder / "final"
    work.mkdir(parents=True, exist_ok=True)
    joined = work / "original.ts"
    if not joined.exists():
        join(segments, joined)
    info = media.probe(joined)
    sha = storage.sha256_file(joined)
    clash = db.scalar(
        select(Recording).where(Recording.sha256 == sha, Recording.id != recording.id)
    )
    if clash is not None:
        raise PermanentError(f"the joined file is already recording {clash.id}")
    made = store.make_renditions(joined, info, work)
    recording.sha256 = sha
    store.place_media(settings, recording, joined, info, made)
    recording.transcript_model = getattr(live_engine(settings), "model_id", None)
    recording.status = RecordingStatus.ready
    db.commit()
    db.expire(recording, ["segments"])
    indexing.index_recording(settings, db, recording)
    live.state, live.ended_at, live.owner = LiveState.ended, live.ended_at or utcnow(), None
    live.end_reason = live.end_reason or "ended"
    db.commit()
    shutil.rmtree(folder, ignore_errors=True)
    if settings.live_full_pass:
        submit_reprocess(settings, recording.id)
    log.info("live %s: finalized as recording %s (%.1f s)", live.id, recording.id, info.duration_s)


def _fail(db: Session, live: LiveSession, recording: Recording | None) -> None:
    live.state, live.ended_at = LiveState.failed, utcnow()
    live.error = "no data was received from the source"
    live.owner = None
    if recording is not None:
        recording.status = RecordingStatus.failed
    db.commit()
