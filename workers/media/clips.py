"""Cutting a range out of an original, exactly and reproducibly.

Exact: stream copy can only start on a keyframe, so a clip is always
re-encoded. ffmpeg's input seek (``-ss`` before ``-i``) decodes from the keyframe before the start
and drops everything before it, to the frame and to the sample; ``-t`` ends it.

Reproducible: the same (original, range, format) must give the same bytes, or the clip's hash —
the thing ``verify`` checks — would depend on when it was cut. Encoders and muxers write no
version strings, dates or metadata (``bitexact``, ``-map_metadata -1``) and run with a fixed
number of threads. A clip is also cached: a repeat request reads the file and its stored hash.

Cuts run in the Celery worker (queue ``ashyq.clips``, task ``ashyq.cut_clip``), never in a web
request: a 10-minute video clip costs minutes of both cores, and a request that waited on it held
one of the web server's threads. ffmpeg runs at the lowest CPU priority (``nice 19``), so pages
and search stay responsive while it encodes.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ffmpeg

from archive.db import session_scope
from archive.media import storage
from archive.media.clip_store import (
    ClipRecord,
    abandoned,
    cache_path,
    drop_job,
    encode_limit_s,
    evict,
    job_path,
    lookup,
    read_job,
    register,
    update_job,
)
from archive.models import Recording
from archive.settings import Settings
from archive.text.ranges import TimeRange
from workers.errors import PermanentError

log = logging.getLogger(__name__)
# How often a running encode checks that someone still waits for it.
ABANDON_CHECK_S = 1.0

# Changing any of these changes every clip's bytes (and so its hash): old clips would still
# verify from the registry, but a re-cut would no longer match them. Change with care.
THREADS = 2
# Encode seconds per second of clip on 2 cores (BENCHMARKS.md, "Clip cutting", 600 s clips),
# and what every ffmpeg start costs: what a client's clip budget is charged for a cut.
ENCODE_S_PER_S = {"mp4": 0.33, "webm": 0.25, "m4a": 0.09, "mp3": 0.05}
AUDIO_ONLY_S_PER_S = 0.09
ENCODE_START_S = 0.5
_COMMON: dict[str, Any] = {
    "map_metadata": -1,
    "map_chapters": -1,
    "fflags": "+bitexact",
    "flags:a": "+bitexact",
    "threads": THREADS,
}
_H264 = {
    "c:v": "libx264",
    "preset": "veryfast",
    "crf": 23,
    "pix_fmt": "yuv420p",
    "flags:v": "+bitexact",
}
_VP9 = {
    "c:v": "libvpx-vp9",
    "deadline": "realtime",
    "cpu-used": 8,
    "row-mt": 0,
    "b:v": 0,
    "crf": 32,
    "pix_fmt": "yuv420p",
    "flags:v": "+bitexact",
}
_AUDIO = {
    "mp4": {"c:a": "aac", "b:a": "128k", "movflags": "+faststart", "f": "mp4"},
    "m4a": {"c:a": "aac", "b:a": "128k", "movflags": "+faststart", "f": "mp4"},
    "webm": {"c:a": "libopus", "b:a": "96k", "f": "webm"},
    "mp3": {"c:a": "libmp3lame", "b:a": "128k", "f": "mp3"},
}


class Abandoned(Exception):
    """Nobody waits for the cut any more: ffmpeg was stopped."""


def encode(
    source: Path,
    target: Path,
    span: TimeRange,
    fmt: str,
    with_video: bool,
    abandoned: Callable[[], bool] | None = None,
) -> None:
    """Re-encode ``span`` of ``source`` into ``target`` (a temp name, renamed when complete).

    ``abandoned`` is asked every ``ABANDON_CHECK_S`` while ffmpeg runs; when it says so, ffmpeg
    is killed and ``Abandoned`` raised (the client went away: the cores go to someone else)."""
    video = with_video and fmt in ("mp4", "webm")
    args: dict[str, Any] = {**_COMMON, **_AUDIO[fmt], "t": f"{span.duration:.3f}"}
    if video:
        args.update(_H264 if fmt == "mp4" else _VP9)
    else:
        args["vn"] = None
    inp = ffmpeg.input(str(source), ss=f"{span.start:.3f}")
    streams = [inp["v:0"], inp["a:0"]] if video else [inp["a:0"]]
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=f".part.{fmt}")
    os.close(fd)
    argv = ffmpeg.output(*streams, temp, **args).compile(overwrite_output=True)
    limit = encode_limit_s(span)
    try:
        argv_ = ["nice", "-n", "19", "ffmpeg", "-nostdin", "-loglevel", "error", *argv[1:]]
        # The with-block kills ffmpeg on any exception while waiting (Celery's soft time limit
        # included), so an abandoned encode does not run on.
        with subprocess.Popen(argv_, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
            stderr = _wait(proc, time.monotonic() + limit, abandoned)
        if proc.returncode != 0:
            lines = stderr.decode("utf-8", "replace").strip().splitlines()
            raise PermanentError(f"cutting the clip failed: {'; '.join(lines[-3:])}")
        os.replace(temp, target)
    except subprocess.TimeoutExpired as exc:
        raise PermanentError(f"cutting the clip took longer than {limit:.0f} s") from exc
    finally:
        Path(temp).unlink(missing_ok=True)


def _wait(
    proc: subprocess.Popen[bytes], deadline: float, abandoned: Callable[[], bool] | None
) -> bytes:
    """ffmpeg's stderr once it exits; kills it past ``deadline`` (TimeoutExpired) or once the
    cut is ``abandoned`` (Abandoned)."""
    while True:
        try:
            _out, err = proc.communicate(timeout=ABANDON_CHECK_S)
            return err or b""
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                proc.kill()
                proc.communicate()
                raise
            if abandoned is not None and abandoned():
                proc.kill()
                proc.communicate()
                raise Abandoned from None


def is_video(recording: Recording, fmt: str) -> bool:
    return recording.has_video and fmt in ("mp4", "webm")


def encode_cost_s(recording: Recording, span: TimeRange, fmt: str) -> float:
    """Estimated encode seconds of a cut (what limits and budgets count)."""
    rate = ENCODE_S_PER_S[fmt] if is_video(recording, fmt) or fmt in ("m4a", "mp3") else None
    return ENCODE_START_S + span.duration * (AUDIO_ONLY_S_PER_S if rate is None else rate)


def cached(data_dir: Path, recording: Recording, span: TimeRange, fmt: str) -> ClipRecord | None:
    """The clip when it was cut before (its hash is read from the sidecar, not recomputed)."""
    path = cache_path(data_dir, recording.sha256, span, fmt)
    sidecar = path.with_name(path.name + ".sha256")
    if not (path.is_file() and sidecar.is_file()):
        return None
    record = lookup(data_dir, sidecar.read_text().strip())
    # The same original re-ingested after a purge is a new recording: register it anew.
    return record if record is not None and record.recording_id == recording.id else None


def cut(
    data_dir: Path,
    media_dir: Path,
    recording: Recording,
    span: TimeRange,
    fmt: str,
    abandoned: Callable[[], bool] | None = None,
) -> Path:
    """The clip file of ``span`` in ``fmt``, cut now or found in the cache, and registered."""
    path = cache_path(data_dir, recording.sha256, span, fmt)
    if cached(data_dir, recording, span, fmt) is not None:
        return path
    source = media_dir / recording.original_path
    if not source.is_file():
        raise PermanentError("the original media file is missing from the store")
    encode(source, path, span, fmt, recording.has_video, abandoned)
    digest = storage.sha256_file(path)
    register(
        data_dir,
        ClipRecord(
            clip_sha256=digest,
            original_sha256=recording.sha256,
            recording_id=recording.id,
            start_ms=span.start_ms,
            end_ms=span.end_ms,
            format=fmt,
            size_bytes=path.stat().st_size,
        ),
    )
    # The sidecar is written last: a cache entry counts only once its clip is registered.
    path.with_name(path.name + ".sha256").write_text(digest + "\n")
    return path


def run_job(
    settings: Settings,
    recording_id: int,
    original_sha256: str,
    start_ms: int,
    end_ms: int,
    fmt: str,
) -> None:
    """Make a queued cut; called by the ``ashyq.cut_clip`` task.

    Idempotent: a job already gone (done by an earlier delivery) is a no-op and a cut already in
    the cache is not made again; a job whose recording was purged is dropped. A failure is kept
    on the job file for the requests that wait for it. Afterwards the cache is brought back
    under its size bound.
    """
    span = TimeRange(start_ms, end_ms)
    job = read_job(job_path(settings.data_dir, original_sha256, span, fmt))
    if job is None or job.state == "failed":
        return
    with session_scope(settings.db_url) as session:
        recording = session.get(Recording, recording_id)
        if recording is None or recording.sha256 != original_sha256:
            drop_job(settings.data_dir, job)
            return
        session.expunge(recording)

    def gone() -> bool:
        return abandoned(settings.data_dir, job, settings.clip_abandon_s)

    what = (span.key, fmt, recording_id)
    if gone():
        log.info("clip %s %s of recording %s: nobody waits for it, dropped", *what)
        drop_job(settings.data_dir, job)
        return
    update_job(settings.data_dir, job, "running")
    try:
        made = cut(settings.data_dir, settings.media_dir, recording, span, fmt, gone)
    except Abandoned:
        log.info("clip %s %s of recording %s: nobody waits for it, ffmpeg stopped", *what)
        drop_job(settings.data_dir, job)
        return
    except PermanentError as exc:
        log.warning("clip %s %s of recording %s failed: %s", span.key, fmt, recording_id, exc)
        update_job(settings.data_dir, job, "failed", str(exc))
        return
    drop_job(settings.data_dir, job)
    freed = evict(settings.data_dir, settings.clip_cache_max_bytes, keep=made)
    if freed:
        log.info("clip cache: evicted %d bytes", freed)
