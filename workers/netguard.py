"""SSRF protection for fetching from user-given URLs.

Two layers:

1. ``check_url`` runs before anything is queued: only http(s), and every address the host
   resolves to must be public (not loopback, private, link-local, multicast, reserved) unless
   the host is in ``ASHYQ_FETCH_ALLOWED_HOSTS``.
2. ``guarded()`` is active while a worker downloads: a Python audit hook sees every
   ``socket.connect`` the process makes — yt-dlp's own requests, its redirects, a DNS answer that
   changed since step 1 — and refuses a forbidden address before the connection is opened.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import socket
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

from workers.errors import PermanentError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ForbiddenTarget(PermanentError):
    """The URL points somewhere the archive must not connect to."""


def _allowed_networks(allowed: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``ASHYQ_FETCH_ALLOWED_HOSTS`` entries are addresses or CIDRs: the connection guard sees
    addresses, never names."""
    return [ipaddress.ip_network(entry, strict=False) for entry in allowed]


def is_public(address: IPAddress) -> bool:
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _permitted(address: IPAddress, allowed: list[str]) -> bool:
    return is_public(address) or any(address in net for net in _allowed_networks(allowed))


def check_url(url: str, allowed: list[str]) -> None:
    """Refuse a URL the archive must not fetch; resolves the host (no connection is made)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise ForbiddenTarget(
            f"only http and https URLs can be fetched, not {parts.scheme or '?'}:"
        )
    if not parts.hostname:
        raise ForbiddenTarget("the URL has no host")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise ForbiddenTarget(f"the host {parts.hostname} does not resolve: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not _permitted(address, allowed):
            raise ForbiddenTarget(
                f"refusing to fetch from {parts.hostname}: it resolves to {address}, "
                "a loopback, private, link-local or multicast address"
            )


_policy: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("netguard", default=None)
_installed = False


def _audit(event: str, args: tuple) -> None:
    if event != "socket.connect":
        return
    allowed = _policy.get()
    if allowed is None:
        return
    _sock, address = args
    if not isinstance(address, tuple) or not address:
        return  # Unix sockets
    try:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
    except ValueError:
        return
    if not _permitted(ip, allowed):
        raise ForbiddenTarget(f"refused a connection to {ip} (not a public address)")


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
