"""The media store against the database: every file a recording names is there (the original
with its SHA-256 and size), and every file there is named by a recording.

What a recording names (``archive.models.Recording``): ``original_path`` (its bytes hash to
``sha256``: the store is keyed by it, ``archive.media.storage``), ``playable_path`` (the original
itself, or a rendition beside it) and ``poster_path``. A live recording has no file yet (its
segments sit under ``data_dir/live`` until the capture ends), and a recording that failed before
its media were placed names none: both are skipped.

Files are judged only once they have sat still for ``grace_s``: ``storage.put`` moves a file
into the store before the pipeline commits the row that names it, so a check running meanwhile
would call it an orphan. A rename sets the inode's change time, which is what the grace reads.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.consistency import Difference
from archive.media import storage
from archive.models import Recording

# A file younger than this (by its inode change time) is not judged an orphan yet.
GRACE_S = 900.0


@dataclass(frozen=True)
class MediaFinding:
    """One difference: ``kind`` is one of KINDS, ``path`` relative to the media folder."""

    kind: str
    path: str
    recording_id: int | None
    detail: str


# What a finding means, and whether ``ashyq check --repair`` can mend it (none of these: a file
# that is gone or damaged comes back only from a backup; an orphan is left for a person to judge).
KINDS = {
    "missing": "a file the database names is not in the media store",
    "hash": "an original whose bytes no longer hash to the recording's SHA-256",
    "size": "an original whose size differs from the database's",
    "orphan": "a file in the media store that no recording names",
}


@dataclass
class MediaCheck:
    findings: list[MediaFinding] = field(default_factory=list)
    files: int = 0  # files named by the database and found
    hashed: int = 0  # of those, hashed
    bytes_hashed: int = 0
    young: int = 0  # files in the store too recently moved there to judge
    hashing: bool = True
    grace_s: float = GRACE_S

    def differences(self) -> list[Difference]:
        return [
            Difference("media", f.kind, f.recording_id, f.path, f.detail) for f in self.findings
        ]

    def checked(self) -> dict[str, int]:
        return {"files": self.files, "files_hashed": self.hashed, "bytes_hashed": self.bytes_hashed}

    def notes(self) -> list[str]:
        notes = (
            [] if self.hashing else ["originals not hashed (--no-hash): existence and size only"]
        )
        if self.young:
            notes.append(
                f"{self.young} file(s) placed in the last {self.grace_s:.0f} s not judged yet"
            )
        return notes


def named_files(recording: Recording) -> dict[str, str]:
    """The files a recording names, relative to the media folder: role -> path."""
    if not recording.original_path:
        return {}
    files = {"original": recording.original_path}
    if recording.playable_path and recording.playable_path != recording.original_path:
        files["playable"] = recording.playable_path
    if recording.poster_path:
        files["poster"] = recording.poster_path
    return files


def store_files(media_root: Path) -> Iterator[str]:
    """Every file under the media folder, relative to it (staging ``.part`` files included)."""
    if not media_root.is_dir():
        return
    for folder, _dirs, names in os.walk(media_root):
        for name in names:
            yield str((Path(folder) / name).relative_to(media_root))


def check_media(
    media_root: Path, session: Session, *, hash_files: bool = True, grace_s: float = GRACE_S
) -> MediaCheck:
    """Compare the media store with the database (see the module docstring). ``hash_files=False``
    checks existence and size only: hashing reads every original in full."""
    result = MediaCheck(hashing=hash_files, grace_s=grace_s)
    named: set[str] = set()
    for recording in session.scalars(select(Recording).order_by(Recording.id)):
        for role, relative in named_files(recording).items():
            named.add(relative)
            _check_file(result, media_root, recording, role, relative, hash_files)
    now = time.time()
    for relative in store_files(media_root):
        if relative in named:
            continue
        if now - (media_root / relative).stat().st_ctime < grace_s:
            result.young += 1
            continue
        result.findings.append(MediaFinding("orphan", relative, None, "no recording names it"))
    return result


def _check_file(
    result: MediaCheck,
    media_root: Path,
    recording: Recording,
    role: str,
    relative: str,
    hash_files: bool,
) -> None:
    path = media_root / relative
    if not path.is_file():
        result.findings.append(MediaFinding("missing", relative, recording.id, f"the {role}"))
        return
    result.files += 1
    if role != "original":
        return
    size = path.stat().st_size
    if size != recording.size_bytes:
        detail = f"{size} bytes, the database says {recording.size_bytes}"
        result.findings.append(MediaFinding("size", relative, recording.id, detail))
    if hash_files:
        digest = storage.sha256_file(path)
        result.hashed += 1
        result.bytes_hashed += size
        if digest != recording.sha256:
            detail = f"SHA-256 {digest}, the recording's is {recording.sha256}"
            result.findings.append(MediaFinding("hash", relative, recording.id, detail))
