"""Capturing a live stream: record it whole, cut its audio into chunks, transcribe each at once.

One ffmpeg per connection ("run") writes two outputs side by side (../shared/RECIPES.md):
the full stream as HLS ``.ts`` segments (a crash leaves every finished segment usable; the live
page plays the same files) and 16 kHz WAV chunks of ``chunk_s`` seconds, listed in a CSV only
once complete. This process registers each closed chunk, transcribes it, and stores its segments
and the chunk's "done" mark in one transaction, then indexes them.

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

import csv
import ctypes
import logging
import os
import random
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from archive import live as live_state
from archive.db import session_factory
from archive.models import (
    LiveChunk,
    LiveGap,
    LiveSession,
    LiveState,
    Recording,
    RecordingStatus,
    Segment,
    segment_id,
    utcnow,
)
from archive.settings import Settings
from search.meili.client import master_client
from search.meili.indexer import delete_recording, index_recording, index_segments
from search.meili.schema import ensure_index
from workers.asr.transcribe import Engine, TranscribedSegment
from workers.errors import PermanentError
from workers.live.text import Border, ChunkAudio, transcribe_chunk
from workers.media import hls
from workers.media.netguard import (
    STREAM_SCHEMES,
    GuardedProxy,
    UnresolvedHost,
    check_url,
    ffmpeg_env,
    ffmpeg_input_guard,
    guarded,
)

log = logging.getLogger(__name__)

HLS_TIME_S = 2  # length of the recorded .ts segments (the live page plays them)
HEARTBEAT_S = 5.0


def live_root(settings: Settings) -> Path:
    return settings.data_dir / "live"


def session_dir(settings: Settings, session_id: int) -> Path:
    return live_root(settings) / str(session_id)


def run_dir(settings: Settings, session_id: int, run: int) -> Path:
    return session_dir(settings, session_id) / f"run-{run:03d}"


def live_engine(settings: Settings) -> Engine:
    from workers.ingest.pipeline import engine_for

    return engine_for(settings.model_copy(update={"whisper_beam_size": settings.live_beam_size}))


try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:  # not glibc: ffmpeg still dies with the process group
    _LIBC = None


def _die_with_parent() -> None:
    """ffmpeg must not outlive a killed worker (it would go on writing into a dead run).

    Runs in the forked child before exec: libc is loaded beforehand, so this is one system call
    (no dlopen in a child forked from a threaded process)."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def ffmpeg_argv(
    url: str,
    folder: Path,
    chunk_s: int,
    *,
    hold: int,
    from_start: bool,
    rtsp_transport: str = "tcp",
) -> list[str]:
    """Record the stream as .ts segments and cut its audio into closed WAV chunks.

    RTSP is read over TCP (RTP interleaved: no loss, no NAT trouble) unless the server refused
    it, in which case the capture asks again with ``rtsp_transport="udp"``. ffmpeg may only use
    the protocols and formats the scheme needs (``netguard.ffmpeg_input_guard``); its web
    connections go through the capture's ``GuardedProxy`` (its environment, ``_start_run``)."""
    scheme = url.split(":", 1)[0].lower()
    source: list[str] = ffmpeg_input_guard(url)
    if hls.is_hls(url):
        source += [
            "-m3u8_hold_counters",
            str(hold),
            "-live_start_index",
            "0" if from_start else "-1",
            # one connection per request: each segment's host is checked by the proxy
            "-http_persistent",
            "0",
        ]
        source += ["-rw_timeout", "15000000"]
    elif scheme == "rtsp":
        source += ["-rtsp_transport", rtsp_transport, "-timeout", "15000000"]
    else:
        source += ["-rw_timeout", "15000000"]
    audio = folder / "audio"
    return [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-y", *source, "-i", url,
        "-map", "0:v:0?", "-map", "0:a:0", "-c", "copy", "-f", "hls",
        "-hls_time", str(HLS_TIME_S), "-hls_list_size", "0", "-hls_playlist_type", "event",
        "-hls_segment_filename", str(folder / "v%05d.ts"), str(folder / "index.m3u8"),
        "-map", "0:a:0", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le",
        "-f", "segment", "-segment_time", str(chunk_s), "-segment_list", str(audio / "chunks.csv"),
        "-segment_list_type", "csv", str(audio / "a%05d.wav"),
    ]  # fmt: skip


def resolve(settings: Settings, url: str) -> tuple[str, str | None]:
    """The media URL to record and yt-dlp's live status, for a page (YouTube live, …).

    Direct stream URLs (HLS, RTMP, RTSP) are recorded as given. Both are checked here, at every
    connection: hours may pass between registering a capture and its start, and the stream URL
    yt-dlp finds in a page is anybody's choice (ForbiddenTarget, a PermanentError)."""
    check_url(url, settings.fetch_allowed_hosts, STREAM_SCHEMES)
    if hls.is_direct_stream(url):
        return url, None
    import yt_dlp

    from workers.media.fetch import _options, classify

    try:
        with (
            guarded(settings.fetch_allowed_hosts),
            yt_dlp.YoutubeDL(_options(settings, format="b/bv*+ba")) as ydl,
        ):
            info = ydl.extract_info(url, download=False)
    except Exception as exc:
        raise classify(exc) from exc
    media = info.get("url") or next(
        (f["url"] for f in reversed(info.get("formats") or []) if f.get("url")), None
    )
    if not media:
        raise PermanentError("yt-dlp found no stream at this URL")
    check_url(media, settings.fetch_allowed_hosts, STREAM_SCHEMES)
    return media, info.get("live_status")


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
            with GuardedProxy(settings.fetch_allowed_hosts) as proxy:
                Capture(settings, db, live, engine or live_engine(settings), beat, proxy).run()
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
        delete_recording(master_client(settings), settings.meili_index, live.recording_id)


@dataclass
class Capture:
    settings: Settings
    db: Session
    live: LiveSession
    engine: Engine
    beat: _Heartbeat
    proxy: GuardedProxy | None = None  # ffmpeg's web connections go through it (netguard)
    proc: subprocess.Popen | None = None
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

    # The loop ------------------------------------------------------------------------------------

    def run(self) -> None:
        if self.live.state == LiveState.finalizing:
            self._finish()
            return
        self._ensure_recording()
        if self.live.attempts > 1:
            # A previous worker may have stored segments it had no time to index.
            recording = self.db.get(Recording, self.live.recording_id)
            if recording is not None and recording.segments:
                reindex(self.settings, recording)
        written = self._close_abandoned_runs()
        stored = self._aware(self.live.last_data_at)
        # The stored time lags while chunks are transcribed; the dead ffmpeg's files do not.
        known = [moment for moment in (stored, written) if moment is not None]
        self.last_data_at = max(known) if known else datetime.now(UTC)
        # Giving up counts from this worker's start: a dead worker is not a silent source.
        self.silent_since = datetime.now(UTC)
        self.started = self._aware(self.live.started_at) or datetime.now(UTC)
        try:
            while not self.beat.lost:
                self._supervise()
                if self.ending and self.live.end_reason != self.ending:
                    self._record_end()
                self._register_chunks()
                worked = self._transcribe_next()
                if self.ending and self.proc is None and not worked and not self._pending():
                    break
                if not worked:
                    time.sleep(0.5)
        finally:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        if self.beat.lost:
            log.warning("live %s was taken over by another worker; stopping here", self.live.id)
            return
        self._finish()

    def _record_end(self) -> None:
        """The broadcast is over (the backlog of chunks may still be transcribing)."""
        self.live.end_reason, self.live.ended_at = self.ending, utcnow()
        self.db.commit()
        log.info("live %s: capture ends: %s", self.live.id, self.ending)

    def _finish(self) -> None:
        from workers.live.finalize import finalize

        self.db.execute(
            update(LiveSession)
            .where(LiveSession.id == self.live.id)
            .values(state=LiveState.finalizing, end_reason=self.ending or self.live.end_reason)
        )
        self.db.commit()
        self.db.refresh(self.live)
        finalize(self.settings, self.db, self.live)

    @staticmethod
    def _aware(moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

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
            self._stop_process()
        elif self._grew(now):
            self._note_data()
        elif now - self.last_growth >= self.settings.live_stall_s:
            log.warning(
                "live %s: no data for %.0f s, reconnecting", self.live.id, now - self.last_growth
            )
            self.killed_for_stall = True
            self._stop_process()
        if self.proc is not None and self.proc.poll() is not None:
            self._on_exit()

    def _connect(self) -> None:
        url = self.live.url
        try:
            media, status = resolve(self.settings, url)
            if status in ("was_live", "post_live", "not_live") and self._recorded_runs():
                self.ending = "end of stream"
                return
            if status == "is_upcoming":
                raise ConnectionError("the stream has not started yet")
            if hls.is_hls(media):
                playlist = hls.fetch(media, self.settings.fetch_allowed_hosts)
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
        self._start_run(media)

    def _recorded_runs(self) -> bool:
        return any(r.get("duration_s", 0) > 0 or not r.get("closed") for r in self.live.runs)

    def _backoff(self, why: str) -> None:
        self.failures += 1
        delay = min(self.settings.live_backoff_max_s, 2 ** min(self.failures, 10) / 2)
        delay *= random.uniform(0.8, 1.2)
        self.next_attempt = time.monotonic() + delay
        log.info("live %s: %s; next try in %.1f s", self.live.id, why, delay)

    def _start_run(self, media: str) -> None:
        if self.proxy is None:
            raise RuntimeError("ffmpeg is never started without the network guard's proxy")
        runs = list(self.live.runs)
        number = len(runs)
        offset = sum(r.get("duration_s", 0.0) for r in runs)
        folder = run_dir(self.settings, self.live.id, number)
        (folder / "audio").mkdir(parents=True, exist_ok=True)
        argv = ffmpeg_argv(
            media,
            folder,
            self.live.chunk_s,
            hold=self.settings.live_hold_counters,
            from_start=not runs,
            rtsp_transport=self.rtsp_transport,
        )
        runs.append({"n": number, "offset_s": round(offset, 3), "closed": False})
        self.live.runs = runs
        self.db.commit()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(folder / "ffmpeg.log").open("ab"),
            env=ffmpeg_env(self.proxy, dict(os.environ)),
            preexec_fn=_die_with_parent,  # prctl only, no Python state
        )
        self.run_no, self.run_has_data, self.killed_for_stall = number, False, False
        self.last_growth, self.last_size = time.monotonic(), -1
        log.info("live %s: run %d connected (offset %.1f s)", self.live.id, number, offset)

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
                session_id=self.live.id, at_s=offset, lost_s=round(lost, 1),
                started_at=previous, ended_at=wall,
            )
        )  # fmt: skip
        self.db.commit()
        log.info("live %s: gap of %.1f s at %.1f s", self.live.id, lost, offset)

    def _probe_video(self) -> None:
        recording = self.db.get(Recording, self.live.recording_id)
        if recording is None or recording.has_video:
            return
        from workers.media import ffmpeg as media

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

    def _stop_process(self) -> None:
        """SIGTERM (one SIGINT does not stop ffmpeg), then SIGKILL; the outputs are closed."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

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
        log.warning(
            "live %s: connection %d ended (exit %s) without an end marker: %s",
            self.live.id, self.run_no, code, tail.strip().splitlines()[-1:] or "",
        )  # fmt: skip
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
                self._register_run_chunks(run)
                self._close_run(run["n"])
        return newest

    def _close_run(self, number: int) -> None:
        runs = [dict(r) for r in self.live.runs]
        run = runs[number]
        folder = run_dir(self.settings, self.live.id, number)
        self._register_run_chunks(run)
        chunks = self._chunks(number)
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
            self._flush_tail(number, chunks)

    def _register_chunks(self) -> None:
        if self.run_no >= 0 and self.proc is not None:
            self._register_run_chunks(self.live.runs[self.run_no])

    def _register_run_chunks(self, run: dict) -> None:
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
        added = False
        with listing.open(newline="") as handle:
            for row in csv.reader(handle):
                if len(row) < 3 or row[0] in known:
                    continue
                start, end = float(row[1]), float(row[2])
                self.db.add(
                    LiveChunk(
                        session_id=self.live.id, run=run["n"], name=row[0],
                        start_s=round(run["offset_s"] + start, 3),
                        end_s=round(run["offset_s"] + end, 3),
                    )
                )  # fmt: skip
                added = True
        if added:
            self.db.commit()

    def _chunks(self, run: int) -> list[LiveChunk]:
        return list(
            self.db.scalars(
                select(LiveChunk)
                .where(LiveChunk.session_id == self.live.id, LiveChunk.run == run)
                .order_by(LiveChunk.start_s)
            )
        )

    def _pending(self) -> bool:
        return (
            self.db.scalar(
                select(func.count())
                .select_from(LiveChunk)
                .where(LiveChunk.session_id == self.live.id, LiveChunk.transcribed_at.is_(None))
            )
            or 0
        ) > 0

    def _audio(self, chunk: LiveChunk) -> ChunkAudio:
        path = run_dir(self.settings, self.live.id, chunk.run) / "audio" / chunk.name
        return ChunkAudio(path, chunk.start_s, chunk.end_s)

    def _transcribe_next(self) -> bool:
        chunk = self.db.scalar(
            select(LiveChunk)
            .where(LiveChunk.session_id == self.live.id, LiveChunk.transcribed_at.is_(None))
            .order_by(LiveChunk.run, LiveChunk.start_s)
            .limit(1)
        )
        if chunk is None:
            return False
        run_chunks = [c for c in self._chunks(chunk.run) if c.start_s <= chunk.start_s]
        began = time.monotonic()
        segments, border = transcribe_chunk(
            self.engine,
            [self._audio(c) for c in run_chunks],
            self._audio(chunk),
            self._border(),
            final=chunk.final,
            strategy=self.settings.live_border,
            work=session_dir(self.settings, self.live.id) / "work",
        )
        self._store(chunk, segments, border, time.monotonic() - began)
        return True

    def _flush_tail(self, run: int, chunks: list[LiveChunk]) -> None:
        """The run closed after its last chunk was transcribed with a held tail: emit the tail."""
        border = self._border()
        last = chunks[-1]
        if border.carry_from >= last.end_s - 0.05:
            return
        segments, after = transcribe_chunk(
            self.engine,
            [self._audio(c) for c in chunks],
            self._audio(last),
            border,
            final=True,
            strategy=self.settings.live_border,
            work=session_dir(self.settings, self.live.id) / "work",
        )
        self._store(None, segments, after, 0.0)

    def _border(self) -> Border:
        return Border(self.live.carry_from_s, self.live.text_until_s, self.live.last_word)

    def _store(
        self,
        chunk: LiveChunk | None,
        segments: list[TranscribedSegment],
        border: Border,
        took: float,
    ) -> None:
        """Segments, the chunk's done mark and the border state, in one transaction."""
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
        first = next_segment_idx(self.db, recording.id)
        rows = []
        for idx, seg in enumerate(segments, start=first):
            row = Segment(
                id=segment_id(recording.id, idx), recording_id=recording.id, idx=idx,
                start=seg.start, end=seg.end, text=seg.text, language=seg.language,
                words=[[w.start, w.end, w.word, w.probability] for w in seg.words],
                avg_logprob=seg.avg_logprob,
            )  # fmt: skip
            self.db.add(row)
            rows.append(row)
        live.carry_from_s, live.text_until_s = border.carry_from, border.text_until
        live.last_word = (border.last_word or "")[:200] or None
        end = chunk.end_s if chunk is not None else border.carry_from
        recording.duration_s = max(recording.duration_s, end)
        languages = set(recording.languages or []) | {s.language for s in segments if s.language}
        recording.languages = sorted(languages)
        self.db.commit()
        if rows:
            _index_rows(self.settings, recording, rows)

    # The recording row ---------------------------------------------------------------------------

    def _ensure_recording(self) -> None:
        live = self.live
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
        self.db.add(recording)
        self.db.flush()
        live.recording_id = recording.id
        self.db.commit()


def next_segment_idx(db: Session, recording_id: int) -> int:
    """The index the recording's next segment gets (0 for the first)."""
    last = db.scalar(select(func.max(Segment.idx)).where(Segment.recording_id == recording_id))
    return 0 if last is None else last + 1


_ready: set[str] = set()


def _index_rows(settings: Settings, recording: Recording, rows: list[Segment]) -> None:
    client = master_client(settings)
    if settings.meili_index not in _ready:
        ensure_index(client, settings.meili_index)
        _ready.add(settings.meili_index)
    index_segments(client, settings.meili_index, recording, rows)


def reindex(settings: Settings, recording: Recording) -> None:
    client = master_client(settings)
    ensure_index(client, settings.meili_index)
    index_recording(client, settings.meili_index, recording)
