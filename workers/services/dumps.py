"""The bulk dump: every published transcript as gzip JSON Lines, with a SHA-256 manifest.

A dump is a folder ``<data_dir>/dumps/<UTC time>/`` holding ``transcripts.jsonl.gz`` (one
recording a line, with its segments and word timings), ``SHA256SUMS`` (``sha256sum -c`` format)
and ``manifest.json`` (which also lists the ids of the recordings it holds). Each line is a gzip
member of its own (a valid gzip file, read by any gzip reader as one stream), so taking a
recording out copies the other members' bytes instead of compressing everything again (0.14 s
against 4.9 s for 57 MB of JSON, ``bench.dump_rewrite``). It is written under
a temporary name and renamed into place, so readers never see half a dump; the newest
``dumps_kept`` are kept. Only what the public may see goes in — and stays in: hiding or purging a
recording rewrites every kept dump that holds it (``withhold_hidden``) before the staff request
returns.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import re
import shutil
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from archive.db import session_scope
from archive.models import Recording, utcnow
from archive.public import visible
from archive.settings import Settings

DATA_FILE = "transcripts.jsonl.gz"
SUMS_FILE = "SHA256SUMS"
MANIFEST = "manifest.json"
LOCK_FILE = ".lock"
FORMAT_VERSION = 1
STAMP = "%Y%m%dT%H%M%SZ"
# Every line is written by ``json.dumps`` of ``recording_record``, whose first key is the id.
_LINE_ID = re.compile(rb'^\{"id": (\d+),')


def recording_record(settings: Settings, rec: Recording) -> dict[str, Any]:
    """One line of the dump (also the shape the API's transcript endpoint documents)."""
    return {
        "id": rec.id,
        "title": rec.title,
        "body": rec.body.slug,
        "body_name": rec.body.name,
        "date": rec.recorded_on.isoformat(),
        "event_type": rec.event_type,
        "duration_s": rec.duration_s,
        "languages": rec.languages,
        "sha256": rec.sha256,
        "source_url": rec.source_url,
        "page_url": f"{settings.site_url}/r/{rec.id}",
        "media_url": f"{settings.site_url}/media/{rec.id}/playable",
        "transcript_model": rec.transcript_model,
        "segments": [
            {
                "id": s.id,
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "language": s.language,
                "speaker": s.speaker.slug if s.speaker else None,
                "reviewed": s.reviewed,
                "words": s.words,
            }
            for s in rec.segments
        ],
    }


def _public_recordings(session: Session) -> Any:
    query = (
        visible(select(Recording))
        .options(selectinload(Recording.segments))
        .order_by(Recording.id)
        .execution_options(yield_per=50)
    )
    return session.scalars(query)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _member(line: bytes) -> bytes:
    """One line as a gzip member. mtime=0 and no file name: the same line always gives the same
    bytes, so a dump rewritten without a recording is byte-identical to one made afresh without
    it (one member a line costs ~5 % in size against a single stream)."""
    return gzip.compress(line, compresslevel=9, mtime=0)


def _members(path: Path) -> Iterator[tuple[bytes, bytes]]:
    """Each gzip member of ``path`` as (its compressed bytes, its lines), read in 1 MiB blocks."""
    with path.open("rb") as handle:
        rest = b""
        while block := rest or handle.read(1 << 20):
            inflate, packed, plain = zlib.decompressobj(wbits=31), [], []
            while True:
                plain.append(inflate.decompress(block))
                if inflate.eof:
                    rest = inflate.unused_data
                    packed.append(block[: len(block) - len(rest)])
                    break
                packed.append(block)
                if not (block := handle.read(1 << 20)):
                    raise EOFError(f"{path} ends inside a gzip member")
            yield b"".join(packed), b"".join(plain)


def _write_index(
    folder: Path, data: Path, head: dict[str, Any], ids: list[int], segments: int
) -> None:
    """Move ``data`` into place and write SHA256SUMS and manifest.json for it, each file replaced
    atomically. The data file goes first, so withheld lines leave what is served at once; a
    reader caught between the replaces sees a sum that does not match and fetches again."""
    digest = _sha256(data)
    os.replace(data, folder / DATA_FILE)
    manifest = {
        "format_version": FORMAT_VERSION,
        "name": head["name"],
        "created_at": head["created_at"],
        "recordings": len(ids),
        "segments": segments,
        "files": [
            {"name": DATA_FILE, "bytes": (folder / DATA_FILE).stat().st_size, "sha256": digest}
        ],
        "recording_ids": ids,
    }
    for name, text in (
        (SUMS_FILE, f"{digest}  {DATA_FILE}\n"),
        (MANIFEST, json.dumps(manifest, indent=2) + "\n"),
    ):
        temp = folder / f".{name}.{os.getpid()}"
        temp.write_text(text)
        os.replace(temp, folder / name)


@contextmanager
def _dumps_lock(root: Path) -> Iterator[None]:
    """One writer at a time across processes (web, worker, CLI share the data folder).

    Placing a new dump and withholding recordings from kept ones both happen under it, and a new
    dump is checked against the database again under it: a withdraw committed while the dump was
    being written is then either seen by that check or runs its own pass after the dump is in
    place, so a dump begun before a withdraw never publishes the recording afterwards.
    """
    root.mkdir(parents=True, exist_ok=True)
    with (root / LOCK_FILE).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def make_dump(settings: Settings, now: datetime | None = None) -> Path:
    """Write a new dump and return its folder."""
    now = now or utcnow()
    root = settings.dumps_dir
    root.mkdir(parents=True, exist_ok=True)
    name = now.strftime(STAMP)
    temp = root / f".tmp-{name}-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    ids: list[int] = []
    segments = 0
    data = temp / f".{DATA_FILE}"
    with session_scope(settings.db_url) as session, data.open("wb") as out:
        for rec in _public_recordings(session):
            line = json.dumps(recording_record(settings, rec), ensure_ascii=False)
            out.write(_member(line.encode() + b"\n"))
            ids.append(rec.id)
            segments += len(rec.segments)
    _write_index(temp, data, {"name": name, "created_at": now.isoformat()}, ids, segments)
    target = root / name
    with _dumps_lock(root):
        # Nightly, this also heals any kept dump a failed withdraw left holding a hidden one.
        _withhold(settings, [temp, *list_dumps(settings)])
        shutil.rmtree(target, ignore_errors=True)
        os.replace(temp, target)
        for old in list_dumps(settings)[settings.dumps_kept :]:
            shutil.rmtree(old, ignore_errors=True)
    return target


def withhold_hidden(settings: Settings) -> list[Path]:
    """Rewrite every kept dump that holds a recording the public may no longer see (withdrawn,
    deleted, purged) without it; return the dumps rewritten.

    Called after the change is committed, so that a dump placed meanwhile is covered (see
    ``_dumps_lock``); idempotent, so a withdraw that failed here is healed by running it again.
    """
    with _dumps_lock(settings.dumps_dir):
        return _withhold(settings, list_dumps(settings))


def _withhold(settings: Settings, folders: Iterable[Path]) -> list[Path]:
    manifests = {folder: json.loads((folder / MANIFEST).read_text()) for folder in folders}
    held = {folder: _ids_in(folder, manifest) for folder, manifest in manifests.items()}
    public = _public_ids(settings, set().union(*held.values()))
    rewritten = []
    for folder, manifest in manifests.items():
        ids = held[folder]
        if ids - public or "recording_ids" not in manifest:
            _rewrite(folder, manifest, ids - public)
            rewritten.append(folder)
    return rewritten


def _public_ids(settings: Settings, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    with session_scope(settings.db_url) as session:
        query = visible(select(Recording.id)).where(Recording.id.in_(ids))
        return set(session.scalars(query))


def _line_id(line: bytes) -> int:
    found = _LINE_ID.match(line)
    return int(found.group(1)) if found else int(json.loads(line)["id"])


def held_ids(folder: Path) -> set[int]:
    """The recordings a dump holds."""
    return _ids_in(folder, json.loads((folder / MANIFEST).read_text()))


def _ids_in(folder: Path, manifest: dict[str, Any]) -> set[int]:
    """From the manifest, or (dumps made before manifests listed them) from the data file; such
    a dump is rewritten once by ``_withhold`` to list them."""
    if "recording_ids" in manifest:
        return set(manifest["recording_ids"])
    with gzip.open(folder / DATA_FILE, "rb") as lines:
        return {_line_id(line) for line in lines}


def _rewrite(folder: Path, manifest: dict[str, Any], drop: set[int]) -> None:
    """The dump's data file without the lines of ``drop``, with new sums and manifest.

    A member holding no dropped line is copied as it is; only a member holding one (in dumps
    made before lines had members of their own, all of them) is inflated and its other lines
    compressed again, one member each.
    """
    data = folder / f".{DATA_FILE}.{os.getpid()}"
    ids: list[int] = []
    segments = manifest["segments"]
    with data.open("wb") as out:
        for packed, plain in _members(folder / DATA_FILE):
            lines = plain.splitlines(keepends=True)
            held = [_line_id(line) for line in lines]
            if len(lines) == 1 and held[0] not in drop:
                out.write(packed)
                ids.append(held[0])
                continue
            for rid, line in zip(held, lines, strict=True):
                if rid in drop:
                    segments -= len(json.loads(line)["segments"])
                else:
                    out.write(_member(line))
                    ids.append(rid)
    _write_index(folder, data, manifest, ids, segments)


def list_dumps(settings: Settings) -> list[Path]:
    """Finished dumps, newest first."""
    root = settings.dumps_dir
    if not root.is_dir():
        return []
    done = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return sorted((p for p in done if (p / MANIFEST).is_file()), reverse=True)


def latest(settings: Settings) -> Path | None:
    found = list_dumps(settings)
    return found[0] if found else None
