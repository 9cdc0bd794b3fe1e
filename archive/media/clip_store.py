"""Clips cut from originals: a disk cache keyed by what they were cut from, and a registry of
every clip file the archive ever handed out, keyed by the clip's own SHA-256.

Layout under ``<data_dir>/clips``::

    cache/ab/abcdef…(original)/<start_ms>-<end_ms>.<format>     the cut itself (+ .sha256)
    registry/12/1234…(clip).json                                  what that clip is
    queue/abcdef…(original)-<start_ms>-<end_ms>.<format>.json    a cut waiting for a worker

Clip encodes are deterministic (see ``workers.media.clips``), so a clip is a pure function of
(original SHA-256, range, format): the cache needs no database row and can be deleted at any time
— it is rebuilt byte-identically on the next request. The registry is what ``verify`` reads; it
outlives the cache (a clip downloaded last year still verifies after the cache was cleared),
and since re-cutting produces the same bytes its entries never go stale.

No migration and no table: one small JSON file per clip hash, written atomically. The cache is
bounded in size and evicted least recently used first (a cut's sidecar ``.sha256`` is touched
when it is served); eviction never touches the registry.

Queued cuts are files too, because the web process that queues a cut and the worker that makes it
share only the data directory (the embedded broker has no server to keep state in). Creating the
file with ``O_EXCL`` is what collapses duplicate requests into one job.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from archive.text.ranges import TimeRange

FORMATS = ("mp4", "webm", "m4a", "mp3")
MIME = {"mp4": "video/mp4", "webm": "video/webm", "m4a": "audio/mp4", "mp3": "audio/mpeg"}


@dataclass(frozen=True)
class ClipRecord:
    """What the registry knows of one clip file."""

    clip_sha256: str
    original_sha256: str
    recording_id: int
    start_ms: int
    end_ms: int
    format: str
    size_bytes: int

    @property
    def range(self) -> TimeRange:
        return TimeRange(self.start_ms, self.end_ms)


def clips_root(data_dir: Path) -> Path:
    return data_dir / "clips"


def clip_cache_dir(data_dir: Path, original_sha256: str) -> Path:
    """Every cached cut of one original (removed when the recording is purged)."""
    return clips_root(data_dir) / "cache" / original_sha256[:2] / original_sha256


def cache_path(data_dir: Path, original_sha256: str, span: TimeRange, fmt: str) -> Path:
    if fmt not in FORMATS:
        raise ValueError(f"unknown clip format {fmt!r}")
    return clip_cache_dir(data_dir, original_sha256) / f"{span.key}.{fmt}"


def _registry_path(data_dir: Path, clip_sha256: str) -> Path:
    return clips_root(data_dir) / "registry" / clip_sha256[:2] / f"{clip_sha256}.json"


def register(data_dir: Path, record: ClipRecord) -> None:
    """Remember a clip by its hash. Re-registering the same clip rewrites the same content."""
    _write_json(_registry_path(data_dir, record.clip_sha256), asdict(record))


def lookup(data_dir: Path, clip_sha256: str) -> ClipRecord | None:
    """The registry entry of a clip hash, or None when this archive never produced it."""
    if len(clip_sha256) != 64 or not all(c in "0123456789abcdef" for c in clip_sha256):
        return None
    path = _registry_path(data_dir, clip_sha256)
    if not path.is_file():
        return None
    return ClipRecord(**json.loads(path.read_text()))


def _write_json(target: Path, data: dict) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, sort_keys=True)
    os.replace(temp, target)


# --- the cache, bounded (least recently used goes first) ------------------------------------

SIDECAR = ".sha256"
# A cut served again within this many seconds is not touched again (one metadata write a minute).
TOUCH_EVERY_S = 60.0


def touch(path: Path) -> None:
    """Mark a cached cut as just used: its sidecar's mtime is its place in the LRU order (the
    clip's own mtime stays what it was when it was cut)."""
    sidecar = path.with_name(path.name + SIDECAR)
    try:
        if time.time() - sidecar.stat().st_mtime > TOUCH_EVERY_S:
            os.utime(sidecar)
    except FileNotFoundError:
        pass


def _cached_cuts(data_dir: Path) -> Iterator[tuple[float, int, Path]]:
    """(last use, size, path) of every complete cut in the cache."""
    root = clips_root(data_dir) / "cache"
    for sidecar in root.glob(f"*/*/*{SIDECAR}"):
        clip = sidecar.with_name(sidecar.name.removesuffix(SIDECAR))
        try:
            yield sidecar.stat().st_mtime, clip.stat().st_size, clip
        except FileNotFoundError:
            continue


def evict(data_dir: Path, max_bytes: int, keep: Path | None = None) -> int:
    """Remove the least recently used cuts until the cache holds at most ``max_bytes``; returns
    the bytes freed. ``keep`` (the cut just made, that a request waits for) is never removed.

    The sidecar goes first: a cut without its sidecar is not served
    (``workers.media.clips.cached``),
    so a reader never takes a clip that is being removed for a complete one.
    """
    cuts = sorted(_cached_cuts(data_dir))
    total = sum(size for _, size, _ in cuts)
    freed = 0
    for _, size, clip in cuts:
        if total - freed <= max_bytes:
            break
        if clip == keep:
            continue
        clip.with_name(clip.name + SIDECAR).unlink(missing_ok=True)
        clip.unlink(missing_ok=True)
        freed += size
    return freed


# --- queued cuts ------------------------------------------------------------------------------

JobState = Literal["queued", "running", "failed"]
# A failed cut is remembered this long (asking again meanwhile gets the error, not a new encode).
FAILED_KEEP_S = 300.0


@dataclass
class ClipJob:
    """A cut that was asked for and is not in the cache yet."""

    recording_id: int
    original_sha256: str
    start_ms: int
    end_ms: int
    format: str
    cost_s: float  # estimated encode seconds (what the client's budget was charged)
    state: JobState = "queued"
    since: float = field(default_factory=time.time)  # when it entered its state
    error: str = ""

    @property
    def range(self) -> TimeRange:
        return TimeRange(self.start_ms, self.end_ms)

    def alive(self, expire_s: float, now: float | None = None) -> bool:
        """Whether this job still stands: a queued one until its message expires, a running one
        for the time its encode is allowed, a failure for ``FAILED_KEEP_S``. A job past that
        was lost (a dead worker, an expired message) and may be asked for again."""
        age = (now or time.time()) - self.since
        if self.state == "queued":
            return age < expire_s
        if self.state == "running":
            return age < encode_limit_s(self.range) + 60
        return age < FAILED_KEEP_S


def encode_limit_s(span: TimeRange) -> float:
    """Longest an encode of ``span`` may run before it is killed (10 min of video: ~200 s)."""
    return 120 + 20 * span.duration


def job_path(data_dir: Path, original_sha256: str, span: TimeRange, fmt: str) -> Path:
    if fmt not in FORMATS:
        raise ValueError(f"unknown clip format {fmt!r}")
    return clips_root(data_dir) / "queue" / f"{original_sha256}-{span.key}.{fmt}.json"


def read_job(path: Path) -> ClipJob | None:
    try:
        return ClipJob(**json.loads(path.read_text()))
    except (FileNotFoundError, json.JSONDecodeError):  # gone, or caught mid-replace
        return None


def claim_job(data_dir: Path, job: ClipJob, expire_s: float) -> tuple[bool, ClipJob]:
    """Queue ``job`` unless the same cut already stands: (True, job) when this call queued it,
    (False, the standing job) when it joined one. A lost job is replaced."""
    path = job_path(data_dir, job.original_sha256, job.range, job.format)
    path.parent.mkdir(parents=True, exist_ok=True)
    _asked_path(path).touch()  # whoever claims or joins it wants it now
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        standing = read_job(path)
        if standing is not None and standing.alive(expire_s):
            return False, standing
        _write_json(path, asdict(job))
        return True, job
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(job), handle, sort_keys=True)
    return True, job


def update_job(data_dir: Path, job: ClipJob, state: JobState, error: str = "") -> None:
    job.state, job.since, job.error = state, time.time(), error
    _write_json(job_path(data_dir, job.original_sha256, job.range, job.format), asdict(job))


def drop_job(data_dir: Path, job: ClipJob) -> None:
    path = job_path(data_dir, job.original_sha256, job.range, job.format)
    path.unlink(missing_ok=True)
    _asked_path(path).unlink(missing_ok=True)


def _asked_path(path: Path) -> Path:
    return path.with_name(path.name + ".asked")


def mark_asked(data_dir: Path, original_sha256: str, span: TimeRange, fmt: str) -> None:
    """Someone still wants this cut: a request waiting for it or a status poll (the marker's
    mtime). A cut nobody asked for within ``clip_abandon_s`` is stopped (``abandoned``)."""
    marker = _asked_path(job_path(data_dir, original_sha256, span, fmt))
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()


def abandoned(data_dir: Path, job: ClipJob, after_s: float, now: float | None = None) -> bool:
    """Whether no request or poll asked for ``job`` within ``after_s`` (nor since it was
    queued: the marker is written with the job)."""
    marker = _asked_path(job_path(data_dir, job.original_sha256, job.range, job.format))
    try:
        asked = marker.stat().st_mtime
    except FileNotFoundError:
        return True
    return (now or time.time()) - asked > after_s


def pending_jobs(data_dir: Path, expire_s: float) -> list[ClipJob]:
    """Cuts queued or running now (what the queue bound counts)."""
    folder = clips_root(data_dir) / "queue"
    if not folder.is_dir():
        return []
    now = time.time()
    jobs = (read_job(path) for path in folder.glob("*.json"))
    return [job for job in jobs if job and job.state != "failed" and job.alive(expire_s, now)]
