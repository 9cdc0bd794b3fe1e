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
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from archive import jobs
from archive.db import session_factory
from archive.media import storage
from archive.models import (
    Body,
    Job,
    JobState,
    Recording,
    RecordingStatus,
    Segment,
    SourceItem,
    segment_id,
)
from archive.settings import Settings
from search.meili.client import master_client
from search.meili.indexer import sync_recording
from search.meili.schema import ensure_index
from workers.alerts import evaluate as alerts
from workers.asr.chunking import transcribe_in_chunks
from workers.asr.model_files import resolve_model, resolve_openai_model
from workers.asr.transcribe import (
    Engine,
    RoutedEngine,
    SpanEngine,
    TranscribedSegment,
    Word,
    get_engine,
)
from workers.errors import JobCancelled, PermanentError
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


def engine_for(settings: Settings) -> Engine:
    """The configured engine; with per-language models, a router over them."""

    def load(name: str) -> SpanEngine:
        if settings.whisper_engine == "openai-whisper":
            from workers.asr.openai_engine import get_openai_engine

            return get_openai_engine(
                resolve_openai_model(name, settings.models_dir),
                settings.whisper_device,
                settings.whisper_beam_size,
                settings.whisper_threads,
                tuple(settings.whisper_languages),
            )
        return get_engine(
            resolve_model(name, settings.models_dir),
            settings.whisper_device,
            settings.whisper_compute_type,
            settings.whisper_beam_size,
            settings.whisper_threads,
            tuple(settings.whisper_languages),
            settings.whisper_batch_size,
        )

    default = load(settings.whisper_model)
    if not settings.whisper_language_models:
        return default
    routes = {lang: load(name) for lang, name in settings.whisper_language_models.items()}
    return RoutedEngine(default, routes)


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


def _run(session: Session, job: Job, settings: Settings, engine: Engine | None) -> None:
    progress = Progress(session, job.id)
    if job.kind == "fetch":
        fetched = _fetch(session, job, settings, progress)
        if fetched is None:
            return
        source = fetched
    else:
        source = _source_of(job, settings, session)
    if job.kind == "ingest" and not source.exists() and job.recording_id is not None:
        # A retry after the original was already moved into the store.
        recording = session.get(Recording, job.recording_id)
        if recording is not None:
            source = settings.media_dir / recording.original_path
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

    work = settings.work_dir / sha
    work.mkdir(parents=True, exist_ok=True)
    try:
        _process(session, job, settings, engine, progress, source, info, size, sha, work)
    except PermanentError:
        shutil.rmtree(work, ignore_errors=True)
        raise


def _process(
    session: Session,
    job: Job,
    settings: Settings,
    engine: Engine | None,
    progress: Progress,
    source: Path,
    info: media.MediaInfo,
    size: int,
    sha: str,
    work: Path,
) -> None:
    rendition: tuple[Path, str] | None = None
    if not media.is_browser_playable(info):
        done = next(work.glob("playable.*"), None)
        if done is not None:
            rendition = (done, "video/mp4" if done.suffix == ".mp4" else "audio/mp4")
        else:
            progress("rendition", 0.0, force=True)
            rendition = media.make_playable(source, info, work)
    progress("rendition", 1.0, force=True)

    poster = work / "poster.jpg"
    if info.has_video and not poster.exists():
        media.poster(source, info, poster)

    audio = work / "audio16k.wav"
    if not audio.exists():
        media.extract_audio(source, audio)
    progress("audio", 1.0, force=True)

    engine = engine or engine_for(settings)
    eta = Eta()

    def transcribing(fraction: float, chunk: str = "") -> None:
        """Audio done, time elapsed and time left, e.g. "transcribe: 3/18 17% 12:05 ETA 58:10"."""
        progress("transcribe", fraction, note=f"{chunk} {eta.note(fraction)}".strip())

    if info.duration_s > settings.transcribe_chunk_s * 1.5:
        safe_id = "".join(c if c.isalnum() else "_" for c in engine.model_id)
        segments = transcribe_in_chunks(
            engine,
            audio,
            info.duration_s,
            work / f"chunks-{safe_id}",
            settings.transcribe_chunk_s,
            transcribing,
        )
    else:
        segments = _transcript(engine, audio, work, transcribing)
    progress("transcribe", 1.0, force=True)

    recording = _store(session, job, settings, sha, source, info, size, rendition, segments)
    recording.transcript_model = engine.model_id
    session.commit()

    recording.status = RecordingStatus.ready
    _index(settings, recording)
    session.commit()
    alerts.after_index(settings, recording.id)
    _remove_staged(job, settings)
    shutil.rmtree(work, ignore_errors=True)
    jobs.finish(session, job.id, recording_id=recording.id)


def _transcript(
    engine: Engine, audio: Path, work: Path, on_progress: Any
) -> list[TranscribedSegment]:
    """Transcribe, or load the checkpoint a previous attempt with the same model left."""
    safe_id = "".join(c if c.isalnum() else "_" for c in engine.model_id)
    checkpoint = work / f"transcript-{safe_id}.json"
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


def _body(session: Session, params: dict[str, Any]) -> Body:
    slug = params["body"]
    body = session.scalar(select(Body).where(Body.slug == slug))
    if body is None:
        body = Body(slug=slug, name=params.get("body_name") or slug)
        session.add(body)
        session.flush()
    return body


def _store(
    session: Session,
    job: Job,
    settings: Settings,
    sha: str,
    source: Path,
    info: media.MediaInfo,
    size: int,
    rendition: tuple[Path, str] | None,
    segments: list[TranscribedSegment],
) -> Recording:
    """Move files into the media store and write the recording and its segments in one go."""
    folder = storage.recording_dir(sha)
    recording = session.scalar(select(Recording).where(Recording.sha256 == sha))
    if recording is None:
        params = job.params
        # The extension says what ffprobe found in the bytes, never what the name claimed.
        original_rel = folder / f"original{info.extension}"
        recording = Recording(
            sha256=sha,
            title=params["title"],
            body=_body(session, params),
            recorded_on=date.fromisoformat(params["date"]),
            original_name=params.get("filename", "")[:500],
            original_path=str(original_rel),
            playable_path=str(original_rel),
            playable_mime="",
            size_bytes=size,
            duration_s=info.duration_s,
            container=info.container,
            has_video=info.has_video,
            probe={"format": info.raw.get("format", {}), "streams": info.raw.get("streams", [])},
            status=RecordingStatus.processing,
            **(params.get("meta") or {}),
        )
        session.add(recording)
    original_target = settings.media_dir / recording.original_path
    if source.resolve() != original_target.resolve():
        storage.put(settings.media_dir, source, Path(recording.original_path))
    if rendition is not None:
        rel = folder / rendition[0].name
        storage.put(settings.media_dir, rendition[0], rel)
        recording.playable_path, recording.playable_mime = str(rel), rendition[1]
    else:
        recording.playable_path = recording.original_path
        recording.playable_mime = media.mime_for(info)
    poster = settings.work_dir / sha / "poster.jpg"
    if poster.exists():
        storage.put(settings.media_dir, poster, folder / "poster.jpg")
        recording.poster_path = str(folder / "poster.jpg")
    session.flush()

    session.execute(delete(Segment).where(Segment.recording_id == recording.id))
    for idx, seg in enumerate(segments):
        session.add(
            Segment(
                id=segment_id(recording.id, idx),
                recording_id=recording.id,
                idx=idx,
                start=seg.start,
                end=seg.end,
                text=seg.text,
                language=seg.language,
                words=[[w.start, w.end, w.word, w.probability] for w in seg.words],
                avg_logprob=seg.avg_logprob,
                unintelligible=seg.unintelligible,
            )
        )
    recording.languages = sorted({s.language for s in segments if s.language})
    job.recording_id = recording.id
    session.flush()
    session.expire(recording, ["segments"])
    return recording


_index_ready: set[str] = set()


def _index(settings: Settings, recording: Recording) -> None:
    client = master_client(settings)
    if settings.meili_index not in _index_ready:
        ensure_index(client, settings.meili_index)
        _index_ready.add(settings.meili_index)
    # A reprocessed recording that staff withdrew or deleted stays out of search.
    sync_recording(client, settings.meili_index, recording)


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
