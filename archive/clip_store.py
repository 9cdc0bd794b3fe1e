"""Clips cut from originals: a disk cache keyed by what they were cut from, and a registry of
every clip file the archive ever handed out, keyed by the clip's own SHA-256.

Layout under ``<data_dir>/clips``::

    cache/ab/abcdef…(original)/<start_ms>-<end_ms>.<format>     the cut itself
    registry/12/1234…(clip).json                                  what that clip is

Clip encodes are deterministic (see ``workers.clips``), so a clip is a pure function of
(original SHA-256, range, format): the cache needs no database row and can be deleted at any time
— it is rebuilt byte-identically on the next request. The registry is what ``verify`` reads; it
outlives the cache (a clip downloaded last year still verifies after the cache was cleared),
and since re-cutting produces the same bytes its entries never go stale.

No migration and no table: one small JSON file per clip hash, written atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from archive.ranges import TimeRange

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
    target = _registry_path(data_dir, record.clip_sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(record), handle, sort_keys=True)
    os.replace(temp, target)


def lookup(data_dir: Path, clip_sha256: str) -> ClipRecord | None:
    """The registry entry of a clip hash, or None when this archive never produced it."""
    if len(clip_sha256) != 64 or not all(c in "0123456789abcdef" for c in clip_sha256):
        return None
    path = _registry_path(data_dir, clip_sha256)
    if not path.is_file():
        return None
    return ClipRecord(**json.loads(path.read_text()))
