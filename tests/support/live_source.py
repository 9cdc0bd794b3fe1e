"""A live HLS broadcast for tests: ``ffmpeg -re`` publishes espeak-ng speech (known words at known
times) with a small video track as a growing playlist, served over HTTP on 127.0.0.2.

The source can be killed (``kill()``: no end marker, like a crashed encoder) and started again
from a later point of the speech (``start(at=…)``: a new playlist, as a restarted encoder writes),
or left to finish (``#EXT-X-ENDLIST``).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.media_factory import duration, ffmpeg, speak
from tests.support.webserver import Site, serve
from workers.media import hls

# Each sentence starts with its own keyword, so "when was X said" has one answer.
SENTENCES = [
    ("railway", "Railway construction in the north will begin next spring."),
    ("reservoir", "Reservoir levels are lower than last year, the minister said."),
    ("hospital", "Hospital funding will grow by twelve percent in the new budget."),
    ("satellite", "Satellite images show the flooding along the river."),
    ("tractor", "Tractor factories reported record output this quarter."),
    ("library", "Library hours will be longer during the winter months."),
    ("airport", "Airport repairs are planned for the second half of the year."),
    ("bridge", "Bridge inspections found cracks in two older structures."),
    ("orchestra", "Orchestra musicians will perform at the opening ceremony."),
    ("volcano", "Volcano researchers from the academy presented a new report."),
    ("harvest", "Harvest forecasts remain good despite the dry summer."),
    ("museum", "Museum visitors can now buy tickets online."),
    ("pipeline", "Pipeline maintenance will close the eastern road for a week."),
    ("stadium", "Stadium construction is two months behind schedule."),
    ("telescope", "Telescope time at the observatory is booked until March."),
    ("vaccine", "Vaccine deliveries to rural clinics started on Monday."),
]
PAUSE_S = 1.5


@dataclass(frozen=True)
class Speech:
    path: Path
    duration_s: float
    word_at: dict[str, float]  # keyword -> second its sentence starts


def make_speech(folder: Path, count: int = len(SENTENCES), parts: Path | None = None) -> Speech:
    """The first ``count`` sentences, each followed by a pause, as one 16 kHz WAV; when each
    keyword is said. Each sentence is spoken into ``parts`` (``folder`` when not given) unless it
    is there already: several speeches of one run share the spoken sentences."""
    folder.mkdir(parents=True, exist_ok=True)
    spoken = _spoken_sentences(parts or folder, count)
    word_at, at = {}, 0.0
    for (word, _text), part in zip(SENTENCES, spoken, strict=False):
        word_at[word] = round(at, 3)
        at += duration(part) + PAUSE_S
    inputs = [arg for part in spoken for arg in ("-i", str(part))]
    chain = "".join(f"[{i}:a]aresample=16000,apad=pad_dur={PAUSE_S}[p{i}];" for i in range(count))
    chain += "".join(f"[p{i}]" for i in range(count)) + f"concat=n={count}:v=0:a=1"
    out = folder / "speech.wav"
    ffmpeg(*inputs, "-filter_complex", chain, "-ac", "1", "-ar", "16000", str(out))
    return Speech(out, duration(out), word_at)


def _spoken_sentences(folder: Path, count: int) -> list[Path]:
    """The first ``count`` sentences as espeak-ng WAVs in ``folder``; the missing ones are spoken
    a few at a time (one after another, 16 took ~8 s here)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"s{i}.wav" for i in range(count)]
    missing = [
        (text, path)
        for path, (_w, text) in zip(paths, SENTENCES, strict=False)
        if not path.exists()
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda job: speak(*job), missing))
    return paths


# How the test broadcaster encodes (as a real one would: H.264 + AAC, short GOPs, low latency).
ENCODE = [
    *["-map", "1:v", "-map", "0:a", "-shortest"],
    *["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "20"],
    *["-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-ar", "44100"],
]


def publisher_argv(speech: Speech, at: float = 0.0, color: str = "navy") -> list[str]:
    """ffmpeg reading the speech from ``at`` s in real time with a small test picture of
    ``color``, encoded as a broadcaster would; the caller appends the output format and address."""
    return [
        *["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-y", "-re"],
        *["-ss", f"{at:.3f}", "-i", str(speech.path)],
        *["-re", "-f", "lavfi", "-i", f"color=c={color}:s=160x120:r=10"],
        *ENCODE,
    ]


def _publish(argv: list[str], log: Path) -> subprocess.Popen:
    """Start a publisher in its own session, its messages kept in ``log`` for a failing test."""
    return subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=log.open("wb"), start_new_session=True
    )


def _kill(proc: subprocess.Popen | None) -> None:
    """Kill ``proc`` if it still runs, as a broadcaster that drops out (no end marker), and reap
    it so no zombie outlives the test."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


@dataclass
class LiveSource:
    speech: Speech
    folder: Path
    host: str = "127.0.0.2"
    # The picture's colour: two tests' broadcasts of the same speech must not be the same bytes
    # (the archive keeps one recording per SHA-256).
    color: str = "navy"
    proc: subprocess.Popen | None = None
    starts: int = 0
    site: Site | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.site = Site(self.folder, self.host)
        self._server = serve(self.site)

    @property
    def url(self) -> str:
        return f"{self.site.base}/live.m3u8"

    def start(self, at: float = 0.0) -> None:
        """Publish the speech from ``at`` seconds on, in real time (a fresh playlist)."""
        prefix = f"r{self.starts}_"
        self.starts += 1
        hls_out = ["-f", "hls", "-hls_time", "2", "-hls_list_size", "0", "-hls_flags", "temp_file"]
        segments = ["-hls_segment_filename", str(self.folder / f"{prefix}%05d.ts")]
        playlist = self.folder / "live.m3u8"
        self.proc = _publish(
            [*publisher_argv(self.speech, at, self.color), *hls_out, *segments, str(playlist)],
            self.folder / f"source-{self.starts}.log",
        )

    def playlist(self) -> hls.Playlist:
        return hls.local(self.folder / "live.m3u8")

    def wait_segments(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.playlist().segments) < count:
            assert time.monotonic() < deadline, "the test source published nothing"
            time.sleep(0.2)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> float:
        """Kill the encoder (no end marker); returns seconds of media it had published."""
        _kill(self.proc)
        return self.playlist().duration_s

    def wait_end(self, timeout: float) -> float:
        """Let the encoder finish (it writes the end marker); returns the media published."""
        assert self.proc is not None
        self.proc.wait(timeout)
        return self.playlist().duration_s

    def close(self) -> None:
        self.kill()
        self._server.shutdown()


# A test's maker of broadcasts (``tests/integration/live/conftest.py``): count of sentences, colour.
Broadcast = Callable[..., LiveSource]


@dataclass
class RtmpSource:
    """An RTMP broadcast served by ffmpeg itself (``-listen 1``): it waits for one client, then
    sends the speech (with a small video track) in real time and closes the connection at its end.
    """

    speech: Speech
    folder: Path
    host: str = "127.0.0.2"
    port: int = 0
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"rtmp://{self.host}:{self.port}/live/plenary"

    def start(self) -> None:
        from cli.services import free_port

        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc = _publish(
            [*publisher_argv(self.speech), "-f", "flv", "-listen", "1", self.url],
            self.folder / "rtmp-source.log",
        )

    def wait_end(self, timeout: float) -> None:
        assert self.proc is not None
        self.proc.wait(timeout)

    def close(self) -> None:
        _kill(self.proc)


@dataclass
class RtspSource:
    """An RTSP broadcast: ffmpeg publishes the speech (with a small video track) in real time to
    an RTSP server (``tests/support/rtsp_server.js``, npm's rtsp-streaming-server, which relays
    RTP over UDP only); a reader plays it from the server's client port on 127.0.0.2.

    The server keeps nothing: a reader gets the broadcast from when it joins (``played_at``)."""

    speech: Speech
    folder: Path
    host: str = "127.0.0.2"
    client_port: int = 0
    publish_port: int = 0
    server: subprocess.Popen | None = None
    proc: subprocess.Popen | None = None
    recorded_at: float | None = None
    played_at: float | None = None

    @property
    def url(self) -> str:
        return f"rtsp://{self.host}:{self.client_port}/live/plenary"

    def start(self) -> None:
        """Start the server, then the encoder; returns once the server records it."""
        from cli.services import free_port
        from tests.conftest import REPO

        self.folder.mkdir(parents=True, exist_ok=True)
        self.publish_port, self.client_port = free_port(), free_port()
        rtp_start = free_port() & ~1  # the server takes RTP/RTCP port pairs from an even port
        script = REPO / "tests" / "support" / "rtsp_server.js"
        ports = [str(self.publish_port), str(self.client_port), str(rtp_start)]
        self.server = subprocess.Popen(
            ["node", str(script), *ports],
            cwd=REPO,
            stdout=(self.folder / "server.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_event("ready", 15)
        target = f"rtsp://127.0.0.1:{self.publish_port}/live/plenary"
        self.proc = _publish(
            [*publisher_argv(self.speech), "-f", "rtsp", "-rtsp_transport", "udp", target],
            self.folder / "rtsp-source.log",
        )
        self.recorded_at = self._wait_event("record", 15)

    def _wait_event(self, event: str, timeout: float) -> float:
        """When the server logged ``event`` (seconds since the epoch)."""
        deadline = time.monotonic() + timeout
        log = self.folder / "server.log"
        while True:
            for line in log.read_text(errors="replace").splitlines():
                words = line.split()
                if len(words) >= 2 and words[1] == event:
                    return int(words[0]) / 1000
            assert self.server is not None and self.server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"no {event!r} from the RTSP server"
            time.sleep(0.1)

    def wait_played(self, timeout: float) -> float:
        """When a reader started playing the broadcast (seconds since the epoch)."""
        self.played_at = self._wait_event("play", timeout)
        return self.played_at

    def wait_end(self, timeout: float) -> float:
        """Let the encoder finish; returns the seconds of the broadcast the reader was sent."""
        assert self.proc is not None and self.recorded_at is not None
        self.proc.wait(timeout)
        played_at = self.played_at or self.wait_played(0)
        return self.speech.duration_s - (played_at - self.recorded_at)

    def close(self) -> None:
        for proc in (self.proc, self.server):
            _kill(proc)
