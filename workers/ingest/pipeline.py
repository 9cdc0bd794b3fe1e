"""The ingest pipeline: probe → hash → rendition → 16 kHz audio → transcribe → store → index.

Every step is idempotent and keyed by the SHA-256 of the original:
- work happens in ``work/<sha>/``; finished artefacts are renamed into place, so a step whose
  output exists is skipped on a re-run (the transcript's file name carries the model id, so a new
  model re-transcribes on purpose);
- the original and its rendition enter the media store by atomic rename;
- segments are replaced in one transaction with deterministic ids ``{recording}-{idx}``;
- search documents use the same ids and a generation number, so re-indexing overwrites.

Nothing is written to the media store or the database before the input has passed ffprobe: bad
input ends as a failed job and leaves nothing behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import bodies, jobs
from archive.db import session_factory
from archive.media import storage
from archive.models import (
    Job,
    JobState,
    Recording,
    RecordingStatus,
    SourceItem,
)
from archive.settings import Settings
from workers import indexing
from workers.asr.chunking import transcribe_in_chunks
from workers.asr.factory import make_engine
from workers.asr.transcribe import Engine, TranscribedSegment, Word
from workers.errors import JobCancelled, PermanentError
from workers.ingest import store
from workers.ingest.eta import Eta
from workers.media import fetch
from workers.media import ffmpeg as media
from workers.retry import is_transient

log = logging.getLogger(__name__)

# Share of the progress bar each stage fills.
STAGES = {
    "download": 0.10,
    "probe": 0.11,
    "hash": 0.14,
    "rendition": 0.20,
    "audio": 0.24,
    "transcribe": 0.95,
}


class Progress:
    """Writes progress to the job row at most once a second (every write is a transaction)."""

    def __init__(self, session: Session, job_id: int) -> None:
        self.session, self.job_id, self._last = session, job_id, 0.0

    def __call__(
        self, stage: str, fraction: float = 0.0, *, force: bool = False, note: str | None = None
    ) -> None:
        names = list(STAGES)
        lo = STAGES[names[names.index(stage) - 1]] if names.index(stage) else 0.0
        value = lo + (STAGES[stage] - lo) * fraction
        now = time.monotonic()
        if force or now - self._last >= 1.0:
            self._last = now
            label = f"{stage}: {note}"[:40] if note else stage
            if not jobs.set_progress(self.session, self.job_id, label, value):
                raise JobCancelled(f"job {self.job_id} was cancelled")


def run_job(job_id: int, settings: Settings, engine: Engine | None = None) -> None:
    """Run (or resume) one job. Raises only transient errors; everything else fails the job."""
    session = session_factory(settings.db_url)()
    try:
        job = jobs.claim(session, job_id)
        if job is None:
            log.info("job %s is not claimable (gone, finished or running elsewhere)", job_id)
            return
        try:
            _run(session, job, settings, engine)
        except JobCancelled:
            # Unfinished work is gone (``_run`` removed it); the staged input stays, so a
            # retry from the dashboard can run the job again.
            session.rollback()
            log.info("job %s cancelled; stopping", job_id)
        except PermanentError as exc:
            session.rollback()
            _discard(session, job, settings)
            jobs.fail(session, job_id, str(exc))
        except Exception as exc:
            session.rollback()
            if is_transient(exc):
                raise
            log.exception("job %s failed", job_id)
            _discard(session, job, settings)
            jobs.fail(session, job_id, f"internal error: {type(exc).__name__}: {exc}")
    finally:
        session.close()


def _source_of(job: Job, settings: Settings, session: Session) -> Path:
    if job.kind == "reprocess":
        recording = session.get(Recording, job.params["recording_id"])
        if recording is None:
            raise PermanentError("the recording to reprocess no longer exists")
        return settings.media_dir / recording.original_path
    if not job.source_path:
        raise PermanentError("the job names no input file")
    return settings.data_dir / job.source_path


def _fetch_folder(job: Job, settings: Settings) -> Path:
    return settings.work_dir / f"fetch-{job.id}"


def _fetch(session: Session, job: Job, settings: Settings, progress: Progress) -> Path | None:
    """Download what a fetch job names; None when there is nothing (more) to do for this job.

    A URL that lists several items (playlist, channel, feed) becomes one fetch job per new item.
    """
    from workers.services.sources import find_item, queue_items

    params = dict(job.params)
    if job.recording_id is not None:  # a retry after the download was already stored
        recording = session.get(Recording, job.recording_id)
        if recording is not None:
            return settings.media_dir / recording.original_path
    if "item" not in params:
        items = fetch.list_items(settings, params["url"])
        if not items:
            raise PermanentError("the URL lists no media")
        if len(items) > 1 or items[0].url != params["url"]:
            new, known = queue_items(session, settings, items, body=params["body"])
            note = f"queued {len(new)} item(s); {known} already fetched"
            jobs.finish(session, job.id, recording_id=None, note=note)
            return None
        item = items[0]
        known = find_item(session, item)
        previous = session.get(Job, known.job_id) if known and known.job_id else None
        if previous is not None and previous.state == JobState.succeeded:
            note = "already fetched"
            jobs.finish(session, job.id, recording_id=previous.recording_id, note=note)
            return None
        if known is None:
            known = SourceItem(extractor=item.extractor, item_id=item.item_id, url=item.url)
            session.add(known)
        known.job_id = job.id
        params["item"] = [item.extractor, item.item_id]
        params["title"] = params.get("title") or item.title
    progress("download", 0.0, force=True)
    got = fetch.download(
        settings, params["url"], _fetch_folder(job, settings), lambda f: progress("download", f)
    )
    info = got.info
    published = fetch.parse_date(info.get("upload_date"))
    params.update(
        title=params.get("title") or info.get("title") or got.path.name,
        date=params.get("date")
        or (published.isoformat() if published else date.today().isoformat()),
        filename=f"{info.get('id') or 'download'}{got.path.suffix}",
        meta={
            "source_url": info.get("webpage_url") or params["url"],
            "description": info.get("description"),
            "channel": info.get("channel") or info.get("uploader"),
            "thumbnail_url": info.get("thumbnail"),
        },
    )
    job.params = params
    session.commit()
    progress("download", 1.0, force=True)
    return got.path


@dataclass
class Run:
    """One job's run once its input is known: found by ``_run``, handed to each step after."""

    session: Session
    job: Job
    settings: Settings
    progress: Progress
    source: Path
    info: media.MediaInfo
    size: int
    sha: str

    @property
    def work(self) -> Path:
        """Intermediate files, kept between attempts (keyed by the input's SHA-256)."""
        return self.settings.work_dir / self.sha


def _input(session: Session, job: Job, settings: Settings, progress: Progress) -> Path | None:
    """The file to ingest: downloaded, staged, or (a retry, a reprocess) already in the store."""
    if job.kind == "fetch":
        source = _fetch(session, job, settings, progress)
        if source is None:
            return None
    else:
        source = _source_of(job, settings, session)
    if job.kind == "ingest" and not source.exists() and job.recording_id is not None:
        # A retry after the original was already moved into the store.
        recording = session.get(Recording, job.recording_id)
        if recording is not None:
            source = settings.media_dir / recording.original_path
    return source


def _run(session: Session, job: Job, settings: Settings, engine: Engine | None) -> None:
    progress = Progress(session, job.id)
    source = _input(session, job, settings, progress)
    if source is None:
        return
    progress("probe", force=True)
    info = media.probe(source)
    if job.kind == "fetch" and info.duration_s > settings.fetch_max_duration_s:
        raise PermanentError(
            f"the recording lasts {info.duration_s:.0f} s, over the maximum of "
            f"{settings.fetch_max_duration_s} s"
        )
    size = source.stat().st_size
    sha = storage.sha256_file(source, lambda done: progress("hash", done / max(size, 1)))
    progress("hash", 1.0, force=True)

    existing = session.scalar(select(Recording).where(Recording.sha256 == sha))
    if (
        job.kind in ("ingest", "fetch")
        and existing is not None
        and existing.status == RecordingStatus.ready
        and existing.id != job.recording_id
    ):
        _remove_staged(job, settings)
        jobs.finish(session, job.id, recording_id=existing.id, note="already in the archive")
        return

    run = Run(session, job, settings, progress, source, info, size, sha)
    run.work.mkdir(parents=True, exist_ok=True)
    try:
        _process(run, engine)
    except PermanentError:
        shutil.rmtree(run.work, ignore_errors=True)
        raise


def _process(run: Run, engine: Engine | None) -> None:
    run.progress("rendition", 0.0, force=True)
    made = store.make_renditions(run.source, run.info, run.work)
    run.progress("rendition", 1.0, force=True)
    audio = run.work / "audio16k.wav"
    if not audio.exists():
        media.extract_audio(run.source, audio)
    run.progress("audio", 1.0, force=True)
    engine = engine or make_engine(run.settings)
    segments = _transcribe(run, engine, audio)
    run.progress("transcribe", 1.0, force=True)

    recording = _store(run, made, segments)
    recording.transcript_model = engine.model_id
    run.session.commit()

    recording.status = RecordingStatus.ready
    # A reprocessed recording that staff withdrew or deleted stays out of search.
    indexing.index_recording(run.settings, run.session, recording)
    _remove_staged(run.job, run.settings)
    shutil.rmtree(run.work, ignore_errors=True)
    jobs.finish(run.session, run.job.id, recording_id=recording.id)


def _transcribe(run: Run, engine: Engine, audio: Path) -> list[TranscribedSegment]:
    """The whole transcript; a long recording in chunks, each kept as it is done."""
    eta = Eta()

    def transcribing(fraction: float, chunk: str = "") -> None:
        """Audio done, time elapsed and time left, e.g. "transcribe: 3/18 17% 12:05 ETA 58:10"."""
        run.progress("transcribe", fraction, note=f"{chunk} {eta.note(fraction)}".strip())

    chunk_s = run.settings.transcribe_chunk_s
    if run.info.duration_s <= chunk_s * 1.5:
        return _transcript(engine, audio, run.work, transcribing)
    folder = run.work / f"chunks-{_safe(engine.model_id)}"
    return transcribe_in_chunks(engine, audio, run.info.duration_s, folder, chunk_s, transcribing)


def _safe(model_id: str) -> str:
    """A model id as part of a file name."""
    return "".join(c if c.isalnum() else "_" for c in model_id)


def _transcript(
    engine: Engine, audio: Path, work: Path, on_progress: Any
) -> list[TranscribedSegment]:
    """Transcribe, or load the checkpoint a previous attempt with the same model left."""
    checkpoint = work / f"transcript-{_safe(engine.model_id)}.json"
    if checkpoint.exists():
        raw = json.loads(checkpoint.read_text())
        return [
            TranscribedSegment(**{**seg, "words": [Word(**w) for w in seg["words"]]}) for seg in raw
        ]
    segments = list(engine.transcribe(audio, on_progress))
    partial = checkpoint.with_suffix(".part")
    partial.write_text(json.dumps([asdict(s) for s in segments], ensure_ascii=False))
    os.replace(partial, checkpoint)
    return segments


def _store(run: Run, made: store.Renditions, segments: list[TranscribedSegment]) -> Recording:
    """Move files into the media store and write the recording and its segments in one go."""
    session = run.session
    recording = session.scalar(select(Recording).where(Recording.sha256 == run.sha))
    if recording is None:
        params = run.job.params
        recording = Recording(
            sha256=run.sha,
            title=params["title"],
            body=bodies.get_or_create(session, params["body"], params.get("body_name")),
            recorded_on=date.fromisoformat(params["date"]),
            original_name=params.get("filename", "")[:500],
            original_path="",
            playable_path="",
            playable_mime="",
            size_bytes=run.size,
            duration_s=run.info.duration_s,
            container=run.info.container,
            has_video=run.info.has_video,
            probe={},
            status=RecordingStatus.processing,
            **(params.get("meta") or {}),
        )
        session.add(recording)
    store.place_media(run.settings, recording, run.source, run.info, made)
    session.flush()
    store.replace_segments(session, recording, segments)
    run.job.recording_id = recording.id
    session.flush()
    session.expire(recording, ["segments"])
    return recording


def _remove_staged(job: Job, settings: Settings) -> None:
    if job.kind == "ingest" and job.source_path:
        (settings.data_dir / job.source_path).unlink(missing_ok=True)
    if job.kind == "fetch":
        fetch.discard(_fetch_folder(job, settings))


def _discard(session: Session, job: Job, settings: Settings) -> None:
    """After a permanent failure: drop the staged input and any unfinished work for it."""
    _remove_staged(job, settings)
    session.refresh(job)
    if job.recording_id is not None:
        recording = session.get(Recording, job.recording_id)
        if recording is not None and recording.status != RecordingStatus.ready:
            recording.status = RecordingStatus.failed
            session.commit()
