"""The network guard's rules (workers.media.netguard) that need no connection: which URLs may be
fetched at all, which addresses count as public, and what ffmpeg is allowed to open.

The guard at work (ffmpeg and yt-dlp refused an internal host through the proxy) is checked in
tests/integration/media/test_netguard.py, together with the addresses a hand list once let
through; the cases here are the everyday private ranges and the URL checks.
"""

from __future__ import annotations

import ipaddress
import re

import pytest

from workers.errors import PermanentError
from workers.media.netguard import (
    STREAM_SCHEMES,
    ForbiddenTarget,
    GuardedProxy,
    check_url,
    ffmpeg_env,
    ffmpeg_input_guard,
    is_public,
    resolve_permitted,
)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "0.0.0.0",
        "255.255.255.255",
        "192.0.0.9",
        "192.0.0.10",  # the whole IETF block, whatever this Python exempts
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "64:ff9b::a00:1",
    ],
)
def test_private_loopback_and_special_addresses_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["1.1.1.1", "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses_and_ipv6_forms_of_them_are_public(address):
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http, https URLs"),
        ("ftp://example.org/x.mp4", "only http, https URLs"),
        ("/relative/path.mp4", "not ?:"),
        ("http:///no-host.mp4", "no host"),
        ("http://127.0.0.1:6379/", "resolves to 127.0.0.1"),
        ("http://[::1]/x", "resolves to ::1"),
        ("https://10.0.0.5/x.mp4", "resolves to 10.0.0.5"),
        ("http://169.254.169.254/latest/meta-data", "resolves to 169.254.169.254"),
        ("http://localhost:7700/", "resolves to"),
    ],
)
def test_a_url_the_archive_must_not_fetch_is_refused_before_anything_is_queued(url, reason):
    """A refusal is permanent: the job fails with the reason instead of being retried."""
    with pytest.raises(ForbiddenTarget, match=re.escape(reason)) as refused:
        check_url(url, [])
    assert isinstance(refused.value, PermanentError)


def test_public_addresses_pass_and_allowed_hosts_open_a_private_one():
    """
    GIVEN ASHYQ_FETCH_ALLOWED_HOSTS naming an address and a CIDR
    WHEN URLs on them and on a public address are checked
    THEN all pass, while a private address outside the list stays refused
    """
    check_url("https://1.1.1.1/talk.mp4", [])
    allowed = ["127.0.0.2", "10.20.0.0/16"]
    check_url("http://127.0.0.2:8000/live.m3u8", allowed)
    check_url("http://10.20.30.40/x.mp4", allowed)
    with pytest.raises(ForbiddenTarget):
        check_url("http://10.21.0.1/x.mp4", allowed)
    assert resolve_permitted("10.20.0.9", 80, allowed) == ipaddress.ip_address("10.20.0.9")


def test_live_streams_may_use_their_own_schemes_but_web_fetches_may_not():
    check_url("rtmp://1.1.1.1/live/key", [], STREAM_SCHEMES)
    check_url("rtsp://1.1.1.1/cam", [], STREAM_SCHEMES)
    with pytest.raises(ForbiddenTarget, match="only http, https URLs"):
        check_url("rtmp://1.1.1.1/live/key", [])
    with pytest.raises(ForbiddenTarget, match=re.escape("resolves to 10.0.0.5")):
        check_url("rtsp://10.0.0.5/cam", [], STREAM_SCHEMES)


# (stream URL, a protocol ffmpeg needs for it, a format it needs)
STREAMS = [
    ("https://tv.example.org/live.m3u8", "https", "hls"),
    ("HTTP://tv.example.org/live.m3u8", "http", "hls"),
    ("rtmps://ingest.example.org/live/key", "rtmps", "flv"),
    ("rtsp://cam.example.org/x", "rtsp", "rtsp"),
]


@pytest.mark.parametrize(("url", "protocol", "fmt"), STREAMS)
def test_ffmpeg_may_open_only_what_the_scheme_needs(url, protocol, fmt):
    """No ``file``, ``data``, ``concat`` or ``subfile``: a playlist cannot point ffmpeg at a
    local file."""
    argv = ffmpeg_input_guard(url)
    assert argv[0::2] == ["-protocol_whitelist", "-format_whitelist"]
    protocols, formats = argv[1].split(","), argv[3].split(",")
    assert protocol in protocols and fmt in formats
    assert not {"file", "data", "concat", "subfile", "pipe"} & set(protocols + formats)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "concat:a|b", "ftp://x/y", "/local.ts"])
def test_ffmpeg_is_refused_any_other_input(url):
    with pytest.raises(ForbiddenTarget, match="ffmpeg does not read"):
        ffmpeg_input_guard(url)


def test_ffmpeg_s_environment_sends_every_web_connection_through_the_guard():
    """
    GIVEN an environment with its own proxy settings (in any letter case)
    WHEN ffmpeg's environment is made THEN the guard's proxy replaces them and no host is exempt
    """
    base = {"PATH": "/usr/bin", "HTTP_PROXY": "http://corp:3128", "no_proxy": "*", "NO_PROXY": "x"}
    with GuardedProxy([]) as proxy:
        env = ffmpeg_env(proxy, base)
    assert env == {"PATH": "/usr/bin", "http_proxy": proxy.url, "no_proxy": ""}
    assert proxy.url.startswith("http://127.0.0.1:")
