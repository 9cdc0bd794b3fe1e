"""Fetching media from URLs with yt-dlp: anything it supports, plain links, HLS/DASH VOD.

Every network call runs inside ``netguard.guarded`` (SSRF) and, for a download, through the
guarded proxy that also holds yt-dlp's ffmpeg, with timeouts and limits from settings. yt-dlp's
errors are sorted into transient (timeouts, resets, 5xx, 429: retried by the task with backoff; a
partial download resumes) and permanent (404, removed or private, unsupported URL, not media, over
a limit: the job fails at once).
"""

from __future__ import annotations

import contextlib
import io
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from archive.settings import Settings
from workers.errors import PermanentError, TransientError
from workers.media.netguard import (
    ForbiddenTarget,
    GuardedProxy,
    check_url,
    ffmpeg_input_guard,
    guarded,
)


@dataclass(frozen=True)
class RemoteItem:
    """One downloadable item as a listing names it (a playlist or feed entry, or the URL itself)."""

    extractor: str
    item_id: str
    url: str
    title: str | None = None
    published: date | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Downloaded:
    path: Path
    info: dict[str, Any]


class _Limit(PermanentError):
    pass


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes, and the errors yt-dlp collected from each request handler."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__]  # type: ignore[list-item]
        pending += list(getattr(current, "unexpected_errors", None) or [])
        info = getattr(current, "exc_info", None)
        if info and len(info) > 1:
            pending.append(info[1])


def classify(exc: BaseException) -> Exception:
    """The pipeline error a yt-dlp failure stands for."""
    from yt_dlp.networking.exceptions import HTTPError, IncompleteRead, TransportError

    causes = list(_chain(exc))
    message = str(exc).removeprefix("ERROR: ").strip()
    for cause in causes:
        if isinstance(cause, ForbiddenTarget | _Limit):
            return PermanentError(str(cause))
    for cause in causes:
        if isinstance(cause, HTTPError):
            status = cause.status
            if status >= 500 or status in (408, 429):
                return TransientError(f"HTTP {status} from the source: {message}")
            return PermanentError(f"HTTP {status} from the source: {message}")
    for cause in causes:
        if isinstance(cause, IncompleteRead | TransportError | TimeoutError | ConnectionError):
            return TransientError(f"network error: {message}")
    if "Unsupported URL" in message:
        return PermanentError(f"no media found at this URL (unsupported): {message}")
    return PermanentError(message or type(exc).__name__)


def _options(settings: Settings, **extra: Any) -> dict[str, Any]:
    return {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "noplaylist": True,
        "socket_timeout": settings.fetch_timeout_s,
        "retries": 3,
        "fragment_retries": 3,
        "continuedl": True,
        "hls_prefer_native": True,
        "cachedir": False,
        "logger": extra.pop("logger", None) or _QuietLogger(),
        **extra,
    }


def _through(proxy: GuardedProxy, options: dict[str, Any]) -> dict[str, Any]:
    """yt-dlp hands live and unusual HLS to ffmpeg, a process the audit hook cannot see: with
    ``proxy`` set, yt-dlp starts ffmpeg with ``http_proxy`` pointing at the guarded proxy, and
    the input options keep ffmpeg to web protocols and media formats (``netguard``). yt-dlp's
    own requests take the proxy too, still under the audit hook."""
    ffmpeg_args = ffmpeg_input_guard("https://")
    return {**options, "proxy": proxy.url, "external_downloader_args": {"ffmpeg_i": ffmpeg_args}}


class _QuietLogger:
    """yt-dlp logs through this; errors reach us as exceptions, notes are kept to explain a
    download that produced nothing (yt-dlp skips a file over max_filesize without raising)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def debug(self, msg: str) -> None:
        self.lines.append(msg)

    info = warning = error = debug


def parse_date(value: str | None) -> date | None:
    if value and len(value) == 8 and value.isdigit():
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    return None


def _item(entry: dict[str, Any], fallback_url: str) -> RemoteItem:
    from yt_dlp.utils import unsmuggle_url

    url = entry.get("webpage_url") or entry.get("url") or fallback_url
    extractor = (entry.get("extractor_key") or entry.get("ie_key") or "generic").lower()
    # Feed entries carry their guid smuggled in the URL (yt-dlp's generic extractor).
    plain, smuggled = unsmuggle_url(url, {})
    if extractor == "generic":
        # The generic extractor's ids are file names ("video"): not unique across sites. Use the
        # feed guid (qualified by host) or the URL itself.
        guid = smuggled.get("force_videoid")
        item_id = f"{urlsplit(plain).netloc}/{guid}" if guid else plain
    else:
        item_id = str(entry.get("id") or plain)
    published = parse_date(entry.get("upload_date"))
    if published is None and entry.get("timestamp"):
        from datetime import UTC, datetime

        published = datetime.fromtimestamp(entry["timestamp"], UTC).date()
    return RemoteItem(extractor, item_id, url, entry.get("title"), published)


def list_items(settings: Settings, url: str) -> list[RemoteItem]:
    """What a URL holds: one item for a single video or link, every entry of a playlist/feed."""
    import yt_dlp

    check_url(url, settings.fetch_allowed_hosts)
    options = _options(settings, extract_flat="in_playlist", noplaylist=False)
    try:
        with guarded(settings.fetch_allowed_hosts), yt_dlp.YoutubeDL(options) as ydl:
            info = ydl.extract_info(url, download=False)
    except Exception as exc:
        raise classify(exc) from exc
    if info is None:
        raise PermanentError("no media found at this URL")
    if info.get("_type") == "playlist" or "entries" in info:
        return [_item(entry, url) for entry in info.get("entries") or [] if entry]
    return [_item(info, url)]


def download(
    settings: Settings,
    url: str,
    folder: Path,
    on_progress: Callable[[float], None] | None = None,
) -> Downloaded:
    """Download one item into ``folder``; a partial file left by an earlier try is resumed."""
    import yt_dlp

    check_url(url, settings.fetch_allowed_hosts)
    folder.mkdir(parents=True, exist_ok=True)
    log = _QuietLogger()
    options = _options(
        settings,
        logger=log,
        outtmpl=str(folder / "download.%(ext)s"),
        format="b/bv*+ba",
        max_filesize=settings.fetch_max_bytes,
        progress_hooks=[_size_limit(settings, on_progress)],
        match_filter=_duration_limit(settings),
        paths={"home": str(folder), "temp": str(folder)},
    )
    try:
        with (
            GuardedProxy(settings.fetch_allowed_hosts) as proxy,
            guarded(settings.fetch_allowed_hosts),
            yt_dlp.YoutubeDL(_through(proxy, options)) as ydl,
            contextlib.redirect_stderr(io.StringIO()),
        ):
            info = ydl.extract_info(url, download=True)
    except Exception as exc:
        raise classify(exc) from exc
    if info is None:
        raise PermanentError("no media found at this URL")
    return Downloaded(_downloaded_file(settings, folder, info, log), info)


def _size_limit(
    settings: Settings, on_progress: Callable[[float], None] | None
) -> Callable[[dict[str, Any]], None]:
    """yt-dlp's progress hook: reports progress, and stops a download past the size limit
    (``max_filesize`` alone trusts the size the source announces, which may be missing)."""

    def hook(status: dict[str, Any]) -> None:
        done = status.get("downloaded_bytes") or 0
        if done > settings.fetch_max_bytes:
            raise _Limit(
                f"the download exceeds the maximum size of {settings.fetch_max_bytes} bytes"
            )
        total = status.get("total_bytes") or status.get("total_bytes_estimate")
        if on_progress is not None and total:
            on_progress(min(1.0, done / total))

    return hook


def _duration_limit(settings: Settings) -> Callable[..., str | None]:
    """yt-dlp's match filter: refuses a recording longer than the limit before downloading it."""

    def duration_limit(info: dict[str, Any], *, incomplete: bool = False) -> str | None:
        length = info.get("duration")
        if length and length > settings.fetch_max_duration_s:
            raise _Limit(
                f"the recording lasts {length:.0f} s, over the maximum of "
                f"{settings.fetch_max_duration_s} s"
            )
        return None

    return duration_limit


def _downloaded_file(
    settings: Settings, folder: Path, info: dict[str, Any], log: _QuietLogger
) -> Path:
    """The file yt-dlp left in ``folder`` (the largest, partial files aside); when there is none,
    why: over the size limit (yt-dlp only logs that it skipped it), or nothing offered."""
    files = [p for p in folder.glob("download.*") if not p.name.endswith((".part", ".ytdl"))]
    if files:
        return max(files, key=lambda p: p.stat().st_size)
    size = info.get("filesize") or info.get("filesize_approx")
    too_big = any("larger than max-filesize" in line for line in log.lines)
    if too_big or (size and size > settings.fetch_max_bytes):
        raise PermanentError(
            f"the file is over the maximum size of {settings.fetch_max_bytes} bytes"
        )
    raise PermanentError("the source offered nothing to download")


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
