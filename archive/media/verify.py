"""Is this file an unaltered clip this archive produced — and of which recording and range?

A clip verifies when its SHA-256 is in the clip registry (``archive.media.clip_store``). Any change
to
the bytes (one flipped byte, a re-encode, a trim) changes the hash, so only the exact file handed
out verifies. A caller may also say what the clip claims to be (recording, start, end); then a
genuine clip of another range is rejected too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from archive.media import storage
from archive.media.clip_store import ClipRecord, lookup
from archive.text.ranges import parse_time, to_ms


@dataclass(frozen=True)
class Verdict:
    verified: bool
    sha256: str
    reason: str
    record: ClipRecord | None = None


def verify_digest(
    data_dir: Path,
    sha256: str,
    *,
    recording_id: int | None = None,
    start: str | float | None = None,
    end: str | float | None = None,
) -> Verdict:
    """Check a clip hash against the registry and, if given, against what it claims to be.

    Raises ValueError for an unreadable claimed start/end.
    """
    claimed_start, claimed_end = parse_time(start), parse_time(end)
    record = lookup(data_dir, sha256.lower())
    if record is None:
        return Verdict(False, sha256, "this archive never produced a file with this SHA-256")
    span = record.range
    if recording_id is not None and recording_id != record.recording_id:
        return Verdict(
            False,
            sha256,
            f"this is a clip of recording {record.recording_id}, not {recording_id}",
            record,
        )
    mismatched = [
        (name, claimed, actual)
        for name, claimed, actual in (
            ("start", claimed_start, span.start_ms),
            ("end", claimed_end, span.end_ms),
        )
        if claimed is not None and to_ms(claimed) != actual
    ]
    if mismatched:
        told = ", ".join(
            f"{name} is {actual / 1000} s, not {claimed}" for name, claimed, actual in mismatched
        )
        return Verdict(False, sha256, f"this is a clip of another range: {told}", record)
    return Verdict(
        True,
        sha256,
        f"unaltered {record.format} clip of recording {record.recording_id}, "
        f"{span.start} s to {span.end} s",
        record,
    )


def verify_file(data_dir: Path, path: Path, **claims: object) -> Verdict:
    return verify_digest(data_dir, storage.sha256_file(path), **claims)  # type: ignore[arg-type]
