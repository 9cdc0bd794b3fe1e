"""A real HTTP server on a loopback address for fetch tests: Range support, a feed, faults."""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Site:
    root: Path
    host: str
    port: int = 0
    feed_items: list[tuple[str, str, str]] = field(default_factory=list)  # (guid, title, file)
    flaky_failures: int = 1
    flaky_after: int = 1  # successful GETs before the drop (yt-dlp first sniffs the file)
    connections: int = 0
    ranges: list[str] = field(default_factory=list)
    redirect_to: str = ""
    content_types: dict[str, str] = field(default_factory=dict)  # path -> a type that lies
    scheme: str = "http"  # "https" when served with a TLS context

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def feed(self) -> bytes:
        items = "".join(
            f"<item><title>{title}</title><guid>{guid}</guid>"
            f"<pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate>"
            f'<enclosure url="{self.base}/{name}" type="audio/mpeg" length="1"/></item>'
            for guid, title, name in self.feed_items
        )
        return (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Akimat briefings</title>'
            f"<link>{self.base}/</link><description>x</description>{items}</channel></rss>"
        ).encode()


# Paths every site answers the same way, whatever its folder holds: (status, body, type).
FIXED = {
    "missing.mp4": (404, b"not found", "text/plain"),
    "error.mp4": (503, b"try later", "text/plain"),
    "page.html": (200, b"<html><body><p>No video here.</p></body></html>", "text/html"),
}
TYPES = {
    "mp4": "video/mp4",
    "mp3": "audio/mpeg",
    "ts": "video/mp2t",
    "m3u8": "application/vnd.apple.mpegurl",
    "html": "text/html",
}


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, site: Site) -> None:
        self.site = site
        super().__init__((site.host, site.port), SiteHandler)

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that hang up (yt-dlp after sniffing a file) are normal here."""


class SiteHandler(BaseHTTPRequestHandler):
    """Files of ``site.root`` with Range support, the feed, fixed faults, a redirect, and
    ``flaky/…`` files whose transfer breaks off halfway (after ``flaky_after`` good ones)."""

    protocol_version = "HTTP/1.1"
    server: SiteServer

    def log_message(self, *args: object) -> None: ...

    def setup(self) -> None:
        self.server.site.connections += 1
        super().setup()

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        site = self.server.site
        path = self.path.split("?")[0].lstrip("/")
        file = site.root / path.removeprefix("flaky/")
        if path == "feed.xml":
            self._send(200, site.feed(), "application/rss+xml")
        elif path in FIXED:
            self._send(*FIXED[path])
        elif path == "redirect.mp4":
            self._send(302, b"", "text/plain", {"Location": site.redirect_to})
        elif not file.is_file():
            self._send(404, b"not found", "text/plain")
        else:
            self._send_file(site, path, file)

    def _send_file(self, site: Site, path: str, file: Path) -> None:
        data = file.read_bytes()
        ctype = site.content_types.get(path) or TYPES.get(
            file.suffix.lstrip("."), "application/octet-stream"
        )
        start, end = 0, len(data) - 1
        status, extra = 200, {"Accept-Ranges": "bytes"}
        ranged = self.headers.get("Range", "")
        site.ranges.append(f"{path} {ranged}".strip() + f" [{self.command}]")
        if ranged.startswith("bytes="):
            first, _, last = ranged[6:].partition("-")
            start = int(first or 0)
            end = int(last) if last else len(data) - 1
            status = 206
            extra["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        body = data[start : end + 1]
        flaky = path.startswith("flaky/") and self.command == "GET"
        if flaky and site.flaky_after > 0:
            site.flaky_after -= 1
        elif flaky and site.flaky_failures > 0:
            site.flaky_failures -= 1
            return self._drop_halfway(status, body, ctype, extra)
        return self._send(status, body, ctype, extra)

    def _headers(self, status: int, length: int, ctype: str, extra: dict | None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None) -> None:
        self._headers(status, len(body), ctype, extra)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _drop_halfway(self, status: int, body: bytes, ctype: str, extra: dict) -> None:
        """Announce the whole body, send half of it, and cut the connection."""
        self._headers(status, len(body), ctype, extra)
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(2)


def serve(site: Site, tls: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    """Serve ``site`` (over HTTPS with ``tls``, a server context) until ``shutdown()``."""
    server = SiteServer(site)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    site.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
