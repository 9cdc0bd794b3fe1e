"""SSRF protection for fetching from user-given URLs.

Two layers:

1. ``check_url`` runs before anything is queued: only http(s), and every address the host
   resolves to must be public (not loopback, private, link-local, multicast, reserved) unless
   the host is in ``ASHYQ_FETCH_ALLOWED_HOSTS``.
2. ``guarded()`` is active while a worker downloads: a Python audit hook sees every
   ``socket.connect`` the process makes — yt-dlp's own requests, its redirects, a DNS answer that
   changed since step 1 — and refuses a forbidden address before the connection is opened.
3. ffmpeg (live capture, and yt-dlp's ffmpeg downloader) is another process: its web
   connections go through ``GuardedProxy``, which checks every host at every connect, and
   ``ffmpeg_input_guard`` limits it to network protocols and media formats (no ``file:``, no
   ``concat``), so a playlist cannot point it at a local file either.

"Public" means globally routable (``ipaddress``'s ``is_global``), as a hand list misses ranges.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import logging
import selectors
import socket
import socketserver
import sys
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

from workers.errors import PermanentError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
log = logging.getLogger(__name__)


class ForbiddenTarget(PermanentError):
    """The URL points somewhere the archive must not connect to."""


class UnresolvedHost(ForbiddenTarget):
    """The host does not resolve: refused when submitted, but only a retry later for a live
    capture that reconnects (DNS fails now and then)."""


def _allowed_networks(allowed: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``ASHYQ_FETCH_ALLOWED_HOSTS`` entries are addresses or CIDRs: the connection guard sees
    addresses, never names."""
    return [ipaddress.ip_network(entry, strict=False) for entry in allowed]


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Python's is_global exempts parts of this block, differently from one version to the next
# (anycast relays); no server a broadcaster publishes lives there.
_IETF_ASSIGNMENTS = ipaddress.ip_network("192.0.0.0/24")


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast (``is_global``), not a hand-kept list: that list let carrier-grade
    NAT (100.64.0.0/10, where some clouds keep their metadata service), 192.0.0.0/24 and more
    through. An IPv6 address that carries an IPv4 one (mapped, 6to4, NAT64) reaches that IPv4
    address, so it is judged by it too."""
    if not address.is_global or address.is_multicast or address in _IETF_ASSIGNMENTS:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return is_public(inner)
    return True


def _permitted(address: IPAddress, allowed: list[str]) -> bool:
    return is_public(address) or any(address in net for net in _allowed_networks(allowed))


WEB_SCHEMES = ("http", "https")
STREAM_SCHEMES = (*WEB_SCHEMES, "rtmp", "rtmps", "rtsp")


def check_url(url: str, allowed: list[str], schemes: tuple[str, ...] = WEB_SCHEMES) -> None:
    """Refuse a URL the archive must not fetch; resolves the host (no connection is made)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in schemes:
        raise ForbiddenTarget(
            f"only {', '.join(schemes)} URLs can be fetched, not {parts.scheme or '?'}:"
        )
    if not parts.hostname:
        raise ForbiddenTarget("the URL has no host")
    resolve_permitted(parts.hostname, parts.port or 443, allowed)


def resolve_permitted(host: str, port: int, allowed: list[str]) -> IPAddress:
    """The address to connect to for ``host``; refuses a host when any address it resolves to is
    forbidden (a name with one public and one private address is someone's trick)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise UnresolvedHost(f"the host {host} does not resolve: {exc}") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        if not _permitted(address, allowed):
            raise ForbiddenTarget(
                f"refusing to fetch from {host}: it resolves to {address}, "
                "not a globally routable address (loopback, private, shared, link-local …)"
            )
    return addresses[0]


_policy: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("netguard", default=None)
_installed = False
# This process's GuardedProxy endpoints: yt-dlp, told to use one, connects there, and the proxy
# checks each onward connection itself.
_proxies: set[tuple[str, int]] = set()


def _audit(event: str, args: tuple) -> None:
    if event != "socket.connect":
        return
    allowed = _policy.get()
    if allowed is None:
        return
    _sock, address = args
    if not isinstance(address, tuple) or not address:
        return  # Unix sockets
    if tuple(address[:2]) in _proxies:
        return
    try:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
    except ValueError:
        return
    if not _permitted(ip, allowed):
        raise ForbiddenTarget(f"refused a connection to {ip} (not a globally routable address)")


@contextlib.contextmanager
def guarded(allowed: list[str]) -> Iterator[None]:
    """Within this block, this thread can only connect to public (or allowed) addresses."""
    global _installed
    if not _installed:
        sys.addaudithook(_audit)
        _installed = True
    token = _policy.set(list(allowed))
    try:
        yield
    finally:
        _policy.reset(token)


_HOP_HEADERS = (b"connection:", b"proxy-connection:", b"keep-alive:", b"proxy-authorization:")


def _origin_request(method: str, target: str, version: str, head: bytes) -> bytes:
    """A proxied http request as the origin server expects it, closing after one response: a
    client may send its next request, for another host, on the same connection to the proxy,
    and that must reach the proxy's check rather than the host already connected."""
    parts = urlsplit(target)
    line = f"{method} {parts.path or '/'}{'?' + parts.query if parts.query else ''} {version}"
    headers = [h for h in head.split(b"\r\n")[1:] if h and not h.lower().startswith(_HOP_HEADERS)]
    return b"\r\n".join([line.encode("latin-1"), *headers, b"Connection: close", b"", b""])


class GuardedProxy:
    """An HTTP proxy inside the worker through which ffmpeg (and yt-dlp) make every web
    connection.

    ffmpeg is another process, out of reach of the audit hook: it re-reads a live playlist,
    follows redirects and opens every segment and key URL the playlist names (a public playlist
    can list ``http://127.0.0.1:6379/…``). Given ``http_proxy`` in its environment it asks this
    proxy instead (``GET http://host/…`` for http, ``CONNECT host:443`` for https, nested
    HLS/crypto/TLS connections included), and the proxy resolves each host and refuses one that
    is not globally routable at that moment, before any byte reaches it. ``refused`` lists what
    it turned down (logs, tests)."""

    HEAD_LIMIT = 64 * 1024

    def __init__(self, allowed: list[str], timeout: float = 15.0) -> None:
        self.allowed, self.timeout = list(allowed), timeout
        self.refused: list[str] = []
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.request)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, name="netguard-proxy"
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> GuardedProxy:
        self._thread.start()
        _proxies.add(self._server.server_address[:2])
        return self

    def __exit__(self, *exc: object) -> None:
        _proxies.discard(self._server.server_address[:2])
        self._server.shutdown()
        self._server.server_close()

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(self.timeout)
        try:
            head, rest = self._read_head(client)
            method, target, version = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            connect = method.upper() == "CONNECT"
            parts = urlsplit(f"//{target}" if connect else target)
            if not parts.hostname or (not connect and parts.scheme != "http"):
                raise ForbiddenTarget(f"not a proxy request: {method} {target[:200]}")
            port = parts.port or (443 if connect else 80)
            try:
                with guarded(self.allowed):
                    address = resolve_permitted(parts.hostname, port, self.allowed)
                    upstream = socket.create_connection((str(address), port), self.timeout)
            except ForbiddenTarget as exc:
                self.refused.append(f"{parts.hostname}:{port}")
                log.warning("netguard: refused a proxied connection: %s", exc)
                # The reason reaches the job's error through yt-dlp ("HTTP Error 403: …").
                reason = f"refused a connection to {parts.hostname} (not globally routable)"
                answer = f"HTTP/1.1 403 {reason}\r\nContent-Length: 0\r\n\r\n"
                client.sendall(answer.encode("latin-1", "replace"))
                return
            with upstream:
                if connect:
                    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                else:
                    rest = _origin_request(method, target, version, head) + rest
                if rest:
                    upstream.sendall(rest)
                self._splice(client, upstream)
        except (OSError, ValueError, ForbiddenTarget) as exc:
            log.debug("netguard proxy: %s", exc)
        finally:
            client.close()

    def _read_head(self, client: socket.socket) -> tuple[bytes, bytes]:
        data = b""
        while b"\r\n\r\n" not in data:
            if len(data) > self.HEAD_LIMIT:
                raise ValueError("request head too long")
            chunk = client.recv(8192)
            if not chunk:
                raise ValueError("closed before the request head")
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        return head + b"\r\n\r\n", rest

    def _splice(self, client: socket.socket, upstream: socket.socket) -> None:
        """Copy bytes both ways until one side closes or both are idle for ``timeout``."""
        upstream.settimeout(None)
        client.settimeout(None)
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ, upstream)
            selector.register(upstream, selectors.EVENT_READ, client)
            while events := selector.select(self.timeout):
                for key, _ in events:
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return
                    key.data.sendall(data)


# Per scheme: the protocols ffmpeg may open (nested ones included: TLS under https, TCP under
# both, the proxy tunnel, AES-128 segments) and the input formats it may read. No ``file``,
# ``data``, ``concat`` or ``subfile``: a playlist cannot make ffmpeg read a local file.
_FFMPEG_INPUTS = {
    "http": (
        "http,https,tls,tcp,crypto,httpproxy",
        "hls,mpegts,mov,flv,live_flv,matroska,aac,mp3,ogg,wav,flac",
    ),
    "rtmp": ("rtmp,rtmps,tcp,tls", "flv,live_flv"),
    "rtsp": ("rtsp,rtp,udp,tcp", "rtsp,rtp,sdp"),
}


def ffmpeg_input_guard(url: str) -> list[str]:
    """ffmpeg input options that keep it to the protocols and formats ``url``'s scheme needs."""
    scheme = urlsplit(url).scheme.lower()
    family = {"https": "http", "rtmps": "rtmp"}.get(scheme, scheme)
    if family not in _FFMPEG_INPUTS:
        raise ForbiddenTarget(f"ffmpeg does not read {scheme or '?'}: URLs here")
    protocols, formats = _FFMPEG_INPUTS[family]
    return ["-protocol_whitelist", protocols, "-format_whitelist", formats]


def ffmpeg_env(proxy: GuardedProxy, base: dict[str, str]) -> dict[str, str]:
    """ffmpeg's environment: every http and https connection through ``proxy`` (ffmpeg reads
    ``http_proxy`` for nested connections too, which an ``-http_proxy`` option does not reach),
    with no host exempted."""
    env = {k: v for k, v in base.items() if k.lower() not in ("http_proxy", "no_proxy")}
    return {**env, "http_proxy": proxy.url, "no_proxy": ""}
