"""The bulk dump: every published transcript as gzip JSON Lines, with a SHA-256 manifest.

A dump is a folder ``<data_dir>/dumps/<UTC time>/`` holding ``transcripts.jsonl.gz`` (one
recording a line, with its segments and word timings), ``SHA256SUMS`` (``sha256sum -c`` format)
and ``manifest.json``. It is written under a temporary name and renamed into place, so readers
never see half a dump; the newest ``dumps_kept`` are kept. Only what the public may see goes in.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
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
FORMAT_VERSION = 1
STAMP = "%Y%m%dT%H%M%SZ"


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


def make_dump(settings: Settings, now: datetime | None = None) -> Path:
    """Write a new dump and return its folder."""
    now = now or utcnow()
    root = settings.dumps_dir
    root.mkdir(parents=True, exist_ok=True)
    name = now.strftime(STAMP)
    temp = root / f".tmp-{name}-{os.getpid()}"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    recordings = segments = 0
    data = temp / DATA_FILE
    # mtime=0: the same archive gives byte-identical dumps.
    with (
        session_scope(settings.db_url) as session,
        data.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out,
    ):
        for rec in _public_recordings(session):
            line = json.dumps(recording_record(settings, rec), ensure_ascii=False)
            out.write(line.encode() + b"\n")
            recordings += 1
            segments += len(rec.segments)
    digest = _sha256(data)
    (temp / SUMS_FILE).write_text(f"{digest}  {DATA_FILE}\n")
    manifest = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "created_at": now.isoformat(),
        "recordings": recordings,
        "segments": segments,
        "files": [{"name": DATA_FILE, "bytes": data.stat().st_size, "sha256": digest}],
    }
    (temp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    target = root / name
    shutil.rmtree(target, ignore_errors=True)
    os.replace(temp, target)
    for old in list_dumps(settings)[settings.dumps_kept :]:
        shutil.rmtree(old, ignore_errors=True)
    return target


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
