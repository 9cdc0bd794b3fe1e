"""The media store: every original file lives once, under the SHA-256 of its bytes.

Layout under ``<data_dir>/media``::

    ab/abcdef…/original.<ext>     the file as received, never modified
    ab/abcdef…/playable.<ext>     a browser-playable rendition, only when the original is not

Files enter the store by an atomic rename from a work directory on the same filesystem, so a
crash never leaves a half-written file under a final name.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

CHUNK = 1024 * 1024


def sha256_file(path: Path, on_progress: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    done = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if on_progress is not None:
                on_progress(done)
    return digest.hexdigest()


def recording_dir(sha256: str) -> Path:
    """Relative directory of a recording's files inside the media store."""
    return Path(sha256[:2]) / sha256


def put(media_root: Path, source: Path, relative: Path) -> Path:
    """Move ``source`` to ``relative`` in the store atomically; keep an identical existing file."""
    target = media_root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        source.unlink(missing_ok=True)
        return target
    staging = target.with_name(f".{target.name}.part")
    if source.stat().st_dev == target.parent.stat().st_dev:
        os.replace(source, staging)
    else:
        shutil.copyfile(source, staging)
        source.unlink()
    os.replace(staging, target)
    return target


def remove_recording_files(media_root: Path, sha256: str) -> None:
    shutil.rmtree(media_root / recording_dir(sha256), ignore_errors=True)
