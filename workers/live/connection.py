"""One connection to a live source: which URL to record, and the ffmpeg that records it.

One ffmpeg per connection ("run") writes two outputs side by side: the full stream as HLS ``.ts``
segments (a crash leaves every finished segment usable; the live page plays the same files) and
16 kHz WAV chunks of ``chunk_s`` seconds, listed in a CSV only once complete.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import threading
import weakref
from pathlib import Path

from archive.settings import Settings
from workers.errors import PermanentError
from workers.media import hls
from workers.media.netguard import (
    STREAM_SCHEMES,
    GuardedProxy,
    check_url,
    ffmpeg_env,
    ffmpeg_input_guard,
    guarded,
)

HLS_TIME_S = 2  # length of the recorded .ts segments (the live page plays them)

_SIGNALS = threading.Lock()
_TERMINATED: weakref.WeakSet[subprocess.Popen] = weakref.WeakSet()  # sent their one SIGTERM

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
    hls_out = ["-map", "0:v:0?", "-map", "0:a:0", "-c", "copy", "-f", "hls"]
    hls_out += ["-hls_time", str(HLS_TIME_S), "-hls_list_size", "0"]
    hls_out += ["-hls_playlist_type", "event", "-hls_segment_filename", str(folder / "v%05d.ts")]
    wav_out = ["-map", "0:a:0", "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", "-f", "segment"]
    wav_out += ["-segment_time", str(chunk_s), "-segment_list", str(audio / "chunks.csv")]
    wav_out += ["-segment_list_type", "csv"]
    return [
        *["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-y"],
        *[*source, "-i", url],
        *[*hls_out, str(folder / "index.m3u8")],
        *[*wav_out, str(audio / "a%05d.wav")],
    ]


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


def start_ffmpeg(argv: list[str], folder: Path, proxy: GuardedProxy) -> subprocess.Popen:
    """Start a run's ffmpeg, its log in the run's folder, its web traffic through ``proxy``."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=(folder / "ffmpeg.log").open("ab"),
        env=ffmpeg_env(proxy, dict(os.environ)),
        preexec_fn=_die_with_parent,  # prctl only, no Python state
    )


def _terminate(proc: subprocess.Popen) -> None:
    """Ask ffmpeg to stop (SIGTERM; one SIGINT does not stop it), once per process.

    A second SIGTERM while ffmpeg closes its outputs makes it abandon them ("Immediate exit
    requested"): the recorded playlist is left empty and the whole run is lost (seen when the
    maximum-duration timer and the capture loop both stopped a run). Safe from both threads."""
    with _SIGNALS:
        if proc.poll() is None and proc not in _TERMINATED:
            _TERMINATED.add(proc)
            proc.send_signal(signal.SIGTERM)


def stop_ffmpeg(proc: subprocess.Popen) -> None:
    """``_terminate``, then SIGKILL if it has not exited in 15 s; the outputs are closed."""
    if proc.poll() is not None:
        return
    _terminate(proc)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
