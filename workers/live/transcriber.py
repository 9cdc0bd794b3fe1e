"""The text of a live capture: register each closed audio chunk, transcribe it, store and index it.

ffmpeg lists a chunk in its run's CSV only once the chunk is complete; each listed chunk becomes a
``LiveChunk`` row. Chunks are transcribed oldest first with the run's earlier audio as context
(``workers.live.text``), and a chunk's segments, its "done" mark and the border state are stored
in one transaction, then indexed — which queues the alert evaluation of those segments
(``workers.indexing``), so a subscriber hears of a word as soon as search finds it.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from archive.live import run_dir, session_dir
from archive.models import LiveChunk, LiveSession, Recording, utcnow
from archive.settings import Settings
from workers import indexing
from workers.asr.factory import make_engine
from workers.asr.transcribe import Engine, TranscribedSegment
from workers.ingest import store
from workers.live.text import Border, ChunkAudio, transcribe_chunk


def live_engine(settings: Settings) -> Engine:
    """The engine live chunks are transcribed with: the archive's, with the live beam size."""
    return make_engine(settings, beam_size=settings.live_beam_size)


@dataclass
class Transcriber:
    """A capture's chunk bookkeeping and transcription (the capture loop drives it)."""

    settings: Settings
    db: Session
    live: LiveSession
    engine: Engine

    def register_run_chunks(self, run: dict) -> None:
        """A row for each chunk the run's ffmpeg has listed as complete and is not known yet."""
        listing = run_dir(self.settings, self.live.id, run["n"]) / "audio" / "chunks.csv"
        if not listing.exists():
            return
        known = set(
            self.db.scalars(
                select(LiveChunk.name).where(
                    LiveChunk.session_id == self.live.id, LiveChunk.run == run["n"]
                )
            )
        )
        with listing.open(newline="") as handle:
            rows = [row for row in csv.reader(handle) if len(row) >= 3 and row[0] not in known]
        for name, start, end, *_ in rows:
            self.db.add(
                LiveChunk(
                    session_id=self.live.id,
                    run=run["n"],
                    name=name,
                    start_s=round(run["offset_s"] + float(start), 3),
                    end_s=round(run["offset_s"] + float(end), 3),
                )
            )
        if rows:
            self.db.commit()

    def chunks(self, run: int) -> list[LiveChunk]:
        return list(
            self.db.scalars(
                select(LiveChunk)
                .where(LiveChunk.session_id == self.live.id, LiveChunk.run == run)
                .order_by(LiveChunk.start_s)
            )
        )

    def pending(self) -> bool:
        """Whether a registered chunk still waits for its transcript."""
        waiting = self.db.scalar(
            select(func.count())
            .select_from(LiveChunk)
            .where(LiveChunk.session_id == self.live.id, LiveChunk.transcribed_at.is_(None))
        )
        return (waiting or 0) > 0

    def transcribe_next(self) -> bool:
        """Transcribe the oldest chunk waiting, if any; False when none was."""
        chunk = self.db.scalar(
            select(LiveChunk)
            .where(LiveChunk.session_id == self.live.id, LiveChunk.transcribed_at.is_(None))
            .order_by(LiveChunk.run, LiveChunk.start_s)
            .limit(1)
        )
        if chunk is None:
            return False
        run_chunks = [c for c in self.chunks(chunk.run) if c.start_s <= chunk.start_s]
        began = time.monotonic()
        segments, border = self._transcribe(run_chunks, chunk, self.border(), final=chunk.final)
        self.store(chunk, segments, border, time.monotonic() - began)
        return True

    def flush_tail(self, chunks: list[LiveChunk]) -> None:
        """The run closed after its last chunk was transcribed with a held tail: emit the tail."""
        border = self.border()
        last = chunks[-1]
        if border.carry_from >= last.end_s - 0.05:
            return
        segments, after = self._transcribe(chunks, last, border, final=True)
        self.store(None, segments, after, 0.0)

    def border(self) -> Border:
        live = self.live
        return Border(live.carry_from_s, live.text_until_s, live.last_word)

    def _transcribe(
        self, context: list[LiveChunk], chunk: LiveChunk, border: Border, *, final: bool
    ) -> tuple[list[TranscribedSegment], Border]:
        return transcribe_chunk(
            self.engine,
            [self._audio(c) for c in context],
            self._audio(chunk),
            border,
            final=final,
            strategy=self.settings.live_border,
            work=session_dir(self.settings, self.live.id) / "work",
        )

    def _audio(self, chunk: LiveChunk) -> ChunkAudio:
        path = run_dir(self.settings, self.live.id, chunk.run) / "audio" / chunk.name
        return ChunkAudio(path, chunk.start_s, chunk.end_s)

    def store(
        self,
        chunk: LiveChunk | None,
        segments: list[TranscribedSegment],
        border: Border,
        took: float,
    ) -> None:
        """Segments, the chunk's done mark and the border state in one transaction; then the
        new segments are indexed (and their alerts queued)."""
        live = self.live
        if chunk is not None:
            done = self.db.execute(
                update(LiveChunk)
                .where(LiveChunk.id == chunk.id, LiveChunk.transcribed_at.is_(None))
                .values(transcribed_at=utcnow(), transcribe_s=round(took, 3))
            )
            if done.rowcount != 1:
                self.db.rollback()
                return
        recording = self.db.get(Recording, live.recording_id)
        assert recording is not None
        rows = store.append_segments(self.db, recording, segments)
        live.carry_from_s, live.text_until_s = border.carry_from, border.text_until
        live.last_word = (border.last_word or "")[:200] or None
        end = chunk.end_s if chunk is not None else border.carry_from
        recording.duration_s = max(recording.duration_s, end)
        self.db.commit()
        if rows:
            indexing.index_segments(self.settings, self.db, recording, rows)
