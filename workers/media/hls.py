"""Just enough of HLS playlists to tell a live stream's state, and to list what was recorded.

ffmpeg exits 0 both when a stream ends and when its server dies, so after
every exit the source playlist is read again: ``#EXT-X-ENDLIST`` means the broadcast is over; a
playlist that has not changed since the last connection means the source is still stalled (so a
reconnection would only re-read its last segment); anything else means it is live again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx

from workers.media.netguard import guarded


@dataclass(frozen=True)
class Playlist:
    media_sequence: int
    segments: list[tuple[float, str]]  # (duration s, URI)
    ended: bool

    @property
    def duration_s(self) -> float:
        return sum(d for d, _ in self.segments)

    @property
    def fingerprint(self) -> tuple[int, int, str]:
        """Changes whenever the source publishes a segment (or restarts its playlist)."""
        last = self.segments[-1][1] if self.segments else ""
        return (self.media_sequence, len(self.segments), last)


def parse(text: str) -> Playlist:
    sequence, segments, ended, pending = 0, [], False, None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.split(":", 1)[1])
        elif line.startswith("#EXTINF:"):
            pending = float(line.split(":", 1)[1].split(",", 1)[0])
        elif line == "#EXT-X-ENDLIST":
            ended = True
        elif line and not line.startswith("#") and pending is not None:
            segments.append((pending, line))
            pending = None
    return Playlist(sequence, segments, ended)


def is_hls(url: str) -> bool:
    return ".m3u8" in url.split("?", 1)[0].lower()


def is_direct_stream(url: str) -> bool:
    """A stream address (HLS playlist, RTMP, RTSP) rather than a page that embeds one: recorded
    as given, never resolved by yt-dlp, and never published (it may carry a stream key)."""
    scheme = url.strip().split(":", 1)[0].lower()
    return scheme in ("rtmp", "rtmps", "rtsp", "rtsps") or is_hls(url)


def fetch(url: str, allowed_hosts: list[str], timeout: float = 10.0) -> Playlist:
    """Read a remote playlist (following a master playlist to its first variant).

    Raises ``httpx.HTTPError`` (or ``ForbiddenTarget``) when it cannot be read."""
    with guarded(allowed_hosts), httpx.Client(timeout=timeout, follow_redirects=True) as client:
        response = client.get(url)
        response.raise_for_status()
        text = response.text
        if "#EXT-X-STREAM-INF" in text:
            lines = [ln.strip() for ln in text.splitlines()]
            variant = next(ln for ln in lines if ln and not ln.startswith("#"))
            response = client.get(urljoin(str(response.url), variant))
            response.raise_for_status()
            text = response.text
    return parse(text)


def local(path: Path) -> Playlist:
    """A playlist ffmpeg wrote; an absent one is empty."""
    if not path.exists():
        return Playlist(0, [], False)
    return parse(path.read_text())
