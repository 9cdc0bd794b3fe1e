"""Capturing a live stream: record it whole, cut its audio into chunks, transcribe each at once.

Each connection ("run") is one ffmpeg (``workers.live.connection``) recording the stream as HLS
segments and closed WAV chunks; this loop supervises it while ``workers.live.transcriber``
registers each closed chunk, transcribes it, and stores and indexes its segments.

The end of a connection is never judged by ffmpeg's exit code (it exits 0 when the server dies):
a connection with no new data for ``live_stall_s`` is killed; after every exit the source
playlist is read — ``#EXT-X-ENDLIST`` ends the capture, an unchanged playlist means the source is
still stalled — and otherwise it reconnects with exponential backoff. No data for
``live_give_up_s``, the maximum duration, or a stop request end it too; then the runs are joined
(``workers.live.finalize``). Between two runs the lost wall time is recorded as a gap at that point
of the recording's timeline.

Timeline: positions are in the joined file, i.e. each run starts where the previous run's
recorded segments end.
"""

from __future__ import annotations

import logging
import random
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from archive import live as live_state
from archive.db import session_factory
from archive.live import run_dir
from archive.models import LiveGap, LiveSession, LiveState, Recording, RecordingStatus, utcnow
from archive.settings import Settings
from workers import indexing
from workers.asr.transcribe import Engine
from workers.errors import PermanentError
from workers.live.connection import ffmpeg_argv, resolve, start_ffmpeg, stop_ffmpeg
from workers.live.finalize import finalize
from workers.live.transcriber import Transcriber, live_engine
from workers.media import ffmpeg as media
from workers.media import hls
from workers.media.netguard import GuardedProxy, UnresolvedHost

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0


class _Heartbeat(threading.Thread):
    """Touches the session every few seconds from its own connection (transcribing a chunk or
    joining a long file must not look like a dead worker); notices a lost ownership."""

    def __init__(self, settings: Settings, live: LiveSession) -> None:
        super().__init__(daemon=True, name=f"live-heartbeat-{live.id}")
        self.settings, self.live = settings, live
        self.stopped, self.lost = threading.Event(), False

    def run(self) -> None:
        session = session_factory(self.settings.db_url)()
        try:
            while not self.stopped.wait(HEARTBEAT_S):
                try:
                    if not live_state.heartbeat(session, self.live):
                        self.lost = True
                        return
                except Exception:  # a locked database now and then is not a lost worker
                    session.rollback()
                    log.warning("live %s: heartbeat failed", self.live.id, exc_info=True)
        finally:
            session.close()


def capture(settings: Settings, session_id: int, engine: Engine | None = None) -> None:
    """Capture (or resume, or finish) one live session; returns when it has ended."""
    db = session_factory(settings.db_url)()
    try:
        live = live_state.claim(db, session_id, timedelta(seconds=settings.live_stale_s))
        if live is None:
            log.info("live %s is not claimable (ended or captured elsewhere)", session_id)
            return
        beat = _Heartbeat(settings, live)
        beat.start()
        try:
            text = Transcriber(settings, db, live, engine or live_engine(settings))
            with GuardedProxy(settings.fetch_allowed_hosts) as proxy:
                Capture(settings, db, live, text, beat, proxy).run()
        except PermanentError as exc:
            db.rollback()
            log.warning("live %s: cannot capture: %s", session_id, exc)
            _release(settings, db, live, str(exc), give_up=True)
        except Exception as exc:
            db.rollback()
            log.exception("live %s: capture failed", session_id)
            _release(
                settings, db, live, f"{type(exc).__name__}: {exc}", give_up=live.attempts >= 10
            )
        finally:
            beat.stopped.set()
    finally:
        db.close()


def _release(
    settings: Settings, db: Session, live: LiveSession, error: str, *, give_up: bool
) -> None:
    """After an error: let the watchdog hand the session to a worker again (or fail it).

    A failed recording is not public, so its live segments leave search at once (the one
    visibility rule, ``archive.public``), not at the next re-index."""
    values: dict[str, Any] = {"owner": None, "error": error[:4000]}
    if give_up:
        values.update(state=LiveState.failed, ended_at=utcnow(), end_reason="failed")
    db.execute(update(LiveSession).where(LiveSession.id == live.id).values(**values))
    if give_up and live.recording_id is not None:
        db.execute(
            update(Recording)
            .where(Recording.id == live.recording_id)
            .values(status=RecordingStatus.failed)
        )
    db.commit()
    if give_up and live.recording_id is not None:
        indexing.unindex_recording(settings, live.recording_id)


@dataclass
class Capture:
    """One worker's capture of one session: the connection loop and its state."""

    settings: Settings
    db: Session
    live: LiveSession
    text: Transcriber
    beat: _Heartbeat
    proxy: GuardedProxy | None = None  # ffmpeg's web connections go through it (netguard)
    proc: subprocess.Popen | None = None
    deadline: threading.Timer | None = None  # stops ffmpeg at the maximum duration
    run_no: int = -1
    ending: str | None = None
    killed_for_stall: bool = False
    # Some RTSP servers (and cameras) only send RTP over UDP: they answer 461 to a TCP SETUP.
    rtsp_transport: str = "tcp"
    failures: int = 0
    next_attempt: float = 0.0
    last_growth: float = field(default_factory=time.monotonic)
    last_size: int = -1
    last_fingerprint: tuple | None = None
    run_has_data: bool = False
    last_data_write: float = 0.0
    last_stop_check: float = 0.0
    # Wall-clock moments, set by ``_resume``: the last data, when this worker began listening,
    # when the capture began.
    last_data_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    silent_since: datetime = field(default_factory=lambda: datetime.now(UTC))
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    # The loop ------------------------------------------------------------------------------------

    def run(self) -> None:
        if self.live.state == LiveState.finalizing:
            self._finish()
            return
        self._resume()
        try:
            while not self.beat.lost:
                self._supervise()
                if self.ending and self.live.end_reason != self.ending:
                    self._record_end()
                self._register_chunks()
                worked = self.text.transcribe_next()
                if self.ending and self.proc is None and not worked and not self.text.pending():
                    break
                if not worked:
                    time.sleep(0.5)
        finally:
            if self.deadline is not None:
                self.deadline.cancel()
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        if self.beat.lost:
            log.warning("live %s was taken over by another worker; stopping here", self.live.id)
            return
        self._finish()

    def _resume(self) -> None:
        """Take the session over where it stands: its recording row, what a previous worker
        stored but had no time to index, the runs it left open, and the clocks."""
        ensure_recording(self.db, self.live)
        if self.live.attempts > 1:
            recording = self.db.get(Recording, self.live.recording_id)
            if recording is not None and recording.segments:
                indexing.index_recording(self.settings, self.db, recording)
        written = self._close_abandoned_runs()
        # The stored time lags while chunks are transcribed; the dead ffmpeg's files do not.
        known = [moment for moment in (self.live.last_data_at, written) if moment is not None]
        self.last_data_at = max(known) if known else datetime.now(UTC)
        # Giving up counts from this worker's start: a dead worker is not a silent source.
        self.silent_since = datetime.now(UTC)
        self.started = self.live.started_at or datetime.now(UTC)

    def _record_end(self) -> None:
        """The broadcast is over (the backlog of chunks may still be transcribing)."""
        self.live.end_reason, self.live.ended_at = self.ending, utcnow()
        self.db.commit()
        log.info("live %s: capture ends: %s", self.live.id, self.ending)

    def _finish(self) -> None:
        self.db.execute(
            update(LiveSession)
            .where(LiveSession.id == self.live.id)
            .values(state=LiveState.finalizing, end_reason=self.ending or self.live.end_reason)
        )
        self.db.commit()
        self.db.refresh(self.live)
        finalize(self.settings, self.db, self.live)

    # Connection ----------------------------------------------------------------------------------

    def _supervise(self) -> None:
        now = time.monotonic()
        if now - self.last_stop_check > 2.0:
            self.last_stop_check = now
            self.db.refresh(self.live, ["stop_requested"])
            if self.live.stop_requested and not self.ending:
                self.ending = "stopped by staff"
        wall = datetime.now(UTC)
        if not self.ending and (wall - self.started).total_seconds() >= self.live.max_duration_s:
            self.ending = "maximum duration reached"
        if self.proc is None:
            if self.ending:
                return
            silent = (wall - max(self.last_data_at, self.silent_since)).total_seconds()
            if silent >= self.settings.live_give_up_s:
                self.ending = f"no data for {self.settings.live_give_up_s:.0f} s"
            elif now >= self.next_attempt:
                self._connect()
            return
        if self.ending:
            stop_ffmpeg(self.proc)
        elif self._grew(now):
            self._note_data()
        elif now - self.last_growth >= self.settings.live_stall_s:
            log.warning(
                "live %s: no data for %.0f s, reconnecting", self.live.id, now - self.last_growth
            )
            self.killed_for_stall = True
            stop_ffmpeg(self.proc)
        if self.proc is not None and self.proc.poll() is not None:
            self._on_exit()

    def _connect(self) -> None:
        url = self.live.url
        try:
            stream, status = resolve(self.settings, url)
            if status in ("was_live", "post_live", "not_live") and self._recorded_runs():
                self.ending = "end of stream"
                return
            if status == "is_upcoming":
                raise ConnectionError("the stream has not started yet")
            if hls.is_hls(stream):
                playlist = hls.fetch(stream, self.settings.fetch_allowed_hosts)
                if playlist.ended and self._recorded_runs():
                    self.ending = "end of stream"
                    return
                if playlist.fingerprint == self.last_fingerprint:
                    raise ConnectionError("the source playlist has not changed (still stalled)")
                self.last_fingerprint = playlist.fingerprint
        except UnresolvedHost as exc:
            self._backoff(f"source unreachable: {exc}")
            return
        except PermanentError:
            raise
        except Exception as exc:
            self._backoff(f"source unreachable: {exc}")
            return
        self._start_run(stream)

    def _recorded_runs(self) -> bool:
        return any(r.get("duration_s", 0) > 0 or not r.get("closed") for r in self.live.runs)

    def _backoff(self, why: str) -> None:
        self.failures += 1
        delay = min(self.settings.live_backoff_max_s, 2 ** min(self.failures, 10) / 2)
        delay *= random.uniform(0.8, 1.2)
        self.next_attempt = time.monotonic() + delay
        log.info("live %s: %s; next try in %.1f s", self.live.id, why, delay)

    def _start_run(self, stream: str) -> None:
        if self.proxy is None:
            raise RuntimeError("ffmpeg is never started without the network guard's proxy")
        runs = list(self.live.runs)
        number = len(runs)
        offset = sum(r.get("duration_s", 0.0) for r in runs)
        folder = run_dir(self.settings, self.live.id, number)
        (folder / "audio").mkdir(parents=True, exist_ok=True)
        argv = ffmpeg_argv(
            stream,
            folder,
            self.live.chunk_s,
            hold=self.settings.live_hold_counters,
            from_start=not runs,
            rtsp_transport=self.rtsp_transport,
        )
        runs.append({"n": number, "offset_s": round(offset, 3), "closed": False})
        self.live.runs = runs
        self.db.commit()
        self.proc = start_ffmpeg(argv, folder, self.proxy)
        self._stop_at_the_maximum(self.proc)
        self.run_no, self.run_has_data, self.killed_for_stall = number, False, False
        self.last_growth, self.last_size = time.monotonic(), -1
        log.info("live %s: run %d connected (offset %.1f s)", self.live.id, number, offset)

    def _stop_at_the_maximum(self, proc: subprocess.Popen) -> None:
        """Stop this run's ffmpeg when the maximum duration is reached, from a timer: the loop
        checks the maximum only between chunks, and transcribing one can take seconds under load,
        in which the recorder would go on recording past the maximum."""
        if self.deadline is not None:
            self.deadline.cancel()
        left = self.live.max_duration_s - (datetime.now(UTC) - self.started).total_seconds()

        def stop() -> None:
            if proc.poll() is None:
                self.ending = self.ending or "maximum duration reached"
                stop_ffmpeg(proc)  # the loop may stop it too: ffmpeg gets one SIGTERM

        self.deadline = threading.Timer(max(left, 0.0), stop)
        self.deadline.daemon = True
        self.deadline.start()

    def _grew(self, now: float) -> bool:
        """Whether the audio chunk being written (or the number of chunks) grew since last look."""
        audio = run_dir(self.settings, self.live.id, self.run_no) / "audio"
        chunks = sorted(audio.glob("a*.wav"))
        size = len(chunks) * 10**12 + (chunks[-1].stat().st_size if chunks else 0)
        if size > max(self.last_size, 0):
            self.last_size, self.last_growth = size, now
            return True
        return False

    def _note_data(self) -> None:
        wall = datetime.now(UTC)
        if not self.run_has_data:
            self.run_has_data = True
            self.failures = 0
            self._record_gap(wall)
            self._probe_video()
        self.last_data_at = wall
        if time.monotonic() - self.last_data_write > 2.0:
            self.last_data_write = time.monotonic()
            self.db.execute(
                update(LiveSession).where(LiveSession.id == self.live.id).values(last_data_at=wall)
            )
            self.db.commit()

    def _record_gap(self, wall: datetime) -> None:
        """A run after one that recorded: the stream was lost between the last data and now.

        Runs that recorded nothing before it (a refused first connection) leave no gap."""
        if not any(r.get("duration_s", 0) > 0 for r in self.live.runs[: self.run_no]):
            return
        previous = self.last_data_at
        offset = self.live.runs[self.run_no]["offset_s"]
        lost = max(0.0, (wall - previous).total_seconds())
        self.db.add(
            LiveGap(
                session_id=self.live.id,
                at_s=offset,
                lost_s=round(lost, 1),
                started_at=previous,
                ended_at=wall,
            )
        )
        self.db.commit()
        log.info("live %s: gap of %.1f s at %.1f s", self.live.id, lost, offset)

    def _probe_video(self) -> None:
        recording = self.db.get(Recording, self.live.recording_id)
        if recording is None or recording.has_video:
            return
        folder = run_dir(self.settings, self.live.id, self.run_no)
        for _ in range(20):
            first = next(iter(sorted(folder.glob("v*.ts"))), None)
            if first is not None and first.stat().st_size > 0:
                try:
                    recording.has_video = media.probe(first).has_video
                    self.db.commit()
                except PermanentError:
                    pass
                return
            time.sleep(0.1)

    def _on_exit(self) -> None:
        code = self.proc.returncode if self.proc else None
        self.proc = None
        self._register_chunks()
        self._close_run(self.run_no)
        tail = (run_dir(self.settings, self.live.id, self.run_no) / "ffmpeg.log").read_text(
            errors="replace"
        )[-600:]
        if self.ending:
            return
        if "461 Unsupported Transport" in tail and self.rtsp_transport == "tcp":
            log.info("live %s: the RTSP server refused TCP; asking for RTP over UDP", self.live.id)
            self.rtsp_transport = "udp"
            return
        if not self.killed_for_stall and hls.is_hls(self.live.url):
            try:
                playlist = hls.fetch(self.live.url, self.settings.fetch_allowed_hosts)
            except Exception:
                playlist = None
            if playlist is not None and playlist.ended:
                self.ending = "end of stream"
                return
            if playlist is not None:
                self.last_fingerprint = playlist.fingerprint
        last_line = tail.strip().splitlines()[-1:] or ""
        log.warning(
            "live %s: connection %d ended (exit %s) without an end marker: %s",
            *(self.live.id, self.run_no, code, last_line),
        )
        self._backoff("connection lost")

    # Runs and chunks -----------------------------------------------------------------------------

    def _close_abandoned_runs(self) -> datetime | None:
        """Runs left open by a dead worker: take what they finished, drop what was in flight.

        Returns when the dead connection last wrote data (its newest file)."""
        newest = None
        for run in self.live.runs:
            if not run.get("closed"):
                folder = run_dir(self.settings, self.live.id, run["n"])
                times = [
                    p.stat().st_mtime
                    for p in folder.rglob("*")
                    if p.is_file() and p.suffix != ".log"
                ]
                if times:
                    moment = datetime.fromtimestamp(max(times), UTC)
                    newest = max(newest, moment) if newest else moment
                self.text.register_run_chunks(run)
                self._close_run(run["n"])
        return newest

    def _close_run(self, number: int) -> None:
        runs = [dict(r) for r in self.live.runs]
        run = runs[number]
        folder = run_dir(self.settings, self.live.id, number)
        self.text.register_run_chunks(run)
        chunks = self.text.chunks(number)
        audio_end = chunks[-1].end_s - run["offset_s"] if chunks else 0.0
        run["duration_s"] = round(max(hls.local(folder / "index.m3u8").duration_s, 0.0), 3)
        run["audio_s"] = round(audio_end, 3)
        run["closed"] = True
        self.live.runs = runs
        if chunks:
            last = chunks[-1]
            last.final = True
        self.db.commit()
        if chunks and chunks[-1].transcribed_at is not None:
            self.text.flush_tail(chunks)

    def _register_chunks(self) -> None:
        if self.run_no >= 0 and self.proc is not None:
            self.text.register_run_chunks(self.live.runs[self.run_no])


def ensure_recording(db: Session, live: LiveSession) -> None:
    """The live recording the capture's segments belong to, made on its first start."""
    if live.recording_id is not None:
        return
    recording = Recording(
        sha256=f"live-{live.id}",
        title=live.title,
        body_id=live.body_id,
        recorded_on=date.today(),
        original_name=live.url[:500],
        original_path="",
        playable_path="",
        playable_mime="application/vnd.apple.mpegurl",
        size_bytes=0,
        duration_s=0.0,
        container="hls",
        has_video=False,
        probe={},
        status=RecordingStatus.live,
        event_type=live.event_type,
        # Never the stream URL, which may carry a stream key: the page staff gave, if any.
        source_url=live.page_url,
    )
    db.add(recording)
    db.flush()
    live.recording_id = recording.id
    db.commit()
