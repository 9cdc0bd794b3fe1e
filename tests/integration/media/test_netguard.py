"""The network guard: what counts as public, and ffmpeg kept inside it (live capture)."""

from __future__ import annotations

import ipaddress
import os
import shlex
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive.settings import Settings
from tests.support.media_factory import duration, ffmpeg
from tests.support.webserver import Site, serve
from workers.live.connection import ffmpeg_argv
from workers.media.fetch import download
from workers.media.netguard import GuardedProxy, ffmpeg_env, is_public

ALLOWED = ["127.0.0.2"]  # as in the test settings (tests/conftest.py)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("100.100.100.200", False),  # carrier-grade NAT: a cloud metadata address lives here
        ("192.0.0.8", False),  # IETF protocol assignments
        ("169.254.169.254", False),
        ("224.0.0.1", False),  # multicast is "global" to ipaddress, never a server
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("::ffff:10.0.0.1", False),
        ("8.8.8.8", True),
        ("2002:808:808::1", True),  # 6to4 of a public address
        ("2a00:1450:4001::1", True),
    ],
)
def test_only_globally_routable_unicast_addresses_are_public(address: str, public: bool) -> None:
    """
    GIVEN addresses the old hand list let through (shared, protocol-assignment, 6to4, NAT64)
    and public ones
    WHEN judged THEN only globally routable unicast ones are public, an IPv6 address carrying an
    IPv4 one being judged by that IPv4 address
    """
    assert is_public(ipaddress.ip_address(address)) is public


def _tone(path: Path) -> None:
    """A 2 s MPEG-TS segment of a 440 Hz tone, as an HLS host serves one."""
    tone = shlex.split("-f lavfi -i sine=frequency=440:duration=2 -ar 16000 -c:a aac -f mpegts")
    ffmpeg(*tone, str(path))


def _capture(playlist: str, out: Path) -> tuple[subprocess.CompletedProcess[str], GuardedProxy]:
    """The live capture's ffmpeg recording ``playlist`` into ``out`` through its guarded proxy
    (the proxy is returned to tell what it refused)."""
    (out / "audio").mkdir(parents=True)
    argv = ffmpeg_argv(playlist, out, 1, hold=2, from_start=True)
    with GuardedProxy(ALLOWED) as proxy:
        done = subprocess.run(
            argv,
            env=ffmpeg_env(proxy, dict(os.environ)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    return done, proxy


@pytest.fixture()
def two_hosts(tmp_path: Path) -> Iterator[tuple[Site, Site]]:
    """A playlist host on 127.0.0.2 (the one address the test settings allow, standing for a
    public server) and a second server on 127.0.0.3, standing for an internal one."""
    public, internal = (
        Site(tmp_path / "public", "127.0.0.2"),
        Site(tmp_path / "internal", "127.0.0.3"),
    )
    servers = []
    for site in (public, internal):
        site.root.mkdir()
        servers.append(serve(site))
    yield public, internal
    for server in servers:
        server.shutdown()


def test_ffmpeg_is_refused_a_loopback_segment_listed_by_a_public_playlist(
    two_hosts: tuple[Site, Site], tmp_path: Path
) -> None:
    """
    GIVEN a playlist on the allowed host (127.0.0.2, standing for a public server: one machine
    has only loopback addresses, so the test allows one of them and forbids the rest, as
    production forbids all of them) listing its own segment, a segment on 127.0.0.3 (an internal
    server) and a ``file:`` segment
    WHEN the live capture's ffmpeg records it through the capture's guarded proxy
    THEN the allowed segment is recorded, the proxy refuses 127.0.0.3 before any connection
    (its server never sees one) and ffmpeg's protocol whitelist refuses the local file
    """
    public, internal = two_hosts
    secret = tmp_path / "secret.ts"
    for name, folder in (("a.ts", public.root), ("b.ts", internal.root), ("secret.ts", tmp_path)):
        _tone(folder / name)
    (public.root / "live.m3u8").write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:2.0,\na.ts\n#EXTINF:2.0,\n{internal.base}/b.ts\n"
        f"#EXTINF:2.0,\nfile://{secret}\n#EXT-X-ENDLIST\n"
    )
    out = tmp_path / "run"
    done, proxy = _capture(f"{public.base}/live.m3u8", out)
    rows = [row.split(",") for row in (out / "audio" / "chunks.csv").read_text().splitlines()]
    recorded = sum(float(row[2]) - float(row[1]) for row in rows)
    assert 1.5 <= recorded <= 2.5, (recorded, done.stderr)
    assert internal.connections == 0
    assert proxy.refused and set(proxy.refused) == {f"127.0.0.3:{internal.port}"}  # and retried
    assert "403" in done.stderr
    assert "Protocol 'file' not on whitelist" in done.stderr, done.stderr


def test_the_ffmpeg_yt_dlp_hands_an_unusual_playlist_to_never_reaches_a_loopback_host(
    two_hosts: tuple[Site, Site], tmp_path: Path
) -> None:
    """
    GIVEN a VOD playlist on the allowed host (127.0.0.2, as above) encrypted with SAMPLE-AES,
    which yt-dlp's own HLS downloader declines and hands to ffmpeg, with its key and second
    segment on 127.0.0.3 (without the guard that ffmpeg connects there twice: the audit hook
    does not see another process)
    WHEN it is downloaded as a fetch job does THEN the download keeps the allowed segment and
    the internal server never sees a connection
    """
    public, internal = two_hosts
    for name, folder in (("a.ts", public.root), ("b.ts", internal.root)):
        _tone(folder / name)
    (internal.root / "key").write_bytes(b"0123456789abcdef")
    (public.root / "vod.m3u8").write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f'#EXT-X-KEY:METHOD=SAMPLE-AES,URI="{internal.base}/key"\n'
        f"#EXTINF:2.0,\na.ts\n#EXTINF:2.0,\n{internal.base}/b.ts\n#EXT-X-ENDLIST\n"
    )
    settings = Settings(data_dir=tmp_path / "data", fetch_allowed_hosts=ALLOWED)
    downloaded = download(settings, f"{public.base}/vod.m3u8", tmp_path / "out")
    assert 1.5 <= duration(downloaded.path) <= 2.5
    assert any(line.startswith("a.ts") for line in public.ranges)
    assert internal.connections == 0


def test_ffmpeg_reaches_https_through_the_proxy_tunnel_and_never_an_internal_https_host(
    two_hosts: tuple[Site, Site], tmp_path: Path
) -> None:
    """
    GIVEN the playlist of the first test served over HTTPS on the allowed host (a self-signed
    certificate: ffmpeg does not verify by default) and its second segment an https URL on
    127.0.0.3 (a plain server there counts any TCP connection, TLS or not)
    WHEN the live capture's ffmpeg records it THEN its TLS goes through the proxy as CONNECT
    tunnels (the allowed segment is recorded) and the proxy refuses 127.0.0.3 before it is
    connected to
    """
    public, internal = two_hosts
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    request = shlex.split("req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.2")
    subprocess.run(
        ["openssl", *request, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    secure = Site(public.root, "127.0.0.2", scheme="https")
    server = serve(secure, tls)
    try:
        _tone(public.root / "a.ts")
        (public.root / "live.m3u8").write_text(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
            f"#EXTINF:2.0,\na.ts\n#EXTINF:2.0,\nhttps://127.0.0.3:{internal.port}/b.ts\n"
            "#EXT-X-ENDLIST\n"
        )
        out = tmp_path / "run"
        done, proxy = _capture(f"{secure.base}/live.m3u8", out)
    finally:
        server.shutdown()
    assert duration(out / "audio" / "a00000.wav") >= 0.9, done.stderr
    assert any(line.startswith("a.ts") for line in secure.ranges)
    assert internal.connections == 0
    assert proxy.refused and set(proxy.refused) == {f"127.0.0.3:{internal.port}"}
