"""Uploaded and fetched bytes are never served as a page of the site (stored XSS).

The hostile files are real media: an MP3 whose ID3 tags hold ``<script>``, named ``talk.html``,
and a DASH manifest with an XHTML script that plain ffprobe accepts as ``dash`` (it names a real
M4A by absolute path, as an attacker can name a recording in the store by its public SHA-256).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from archive.db import session_scope
from archive.media.media_types import safe_suffix
from archive.models import Body, LiveSession, LiveState, Recording
from archive.settings import Settings
from tests.integration.staff.test_staff_work import upload
from tests.support.factory import indexed_recording, make_body, make_recording, tone
from tests.support.helpers import wait_job
from tests.support.media_factory import ffmpeg, ffprobe_entry, speak
from tests.support.staff import sign_in
from tests.support.webserver import Site, serve
from workers.media import ffmpeg as media
from workers.services.sources import submit_url

SCRIPT = "<script>alert(document.cookie)</script>"
PAGE_TYPES = ("text/html", "application/xhtml", "application/xml", "text/xml", "image/svg")


def hostile_mp3(folder: Path, name: str = "talk.html") -> Path:
    """Real speech in an MP3 whose ID3 title and comment are an HTML page with a script."""
    folder.mkdir(parents=True, exist_ok=True)
    wav = speak("The budget of the city was approved by the council.", folder / "speech.wav")
    path = folder / name
    ffmpeg(
        "-i",
        str(wav),
        "-c:a",
        "libmp3lame",
        "-metadata",
        f"title=<html><body>{SCRIPT}",
        "-metadata",
        f"comment={SCRIPT}",
        "-f",
        "mp3",
        str(path),
    )
    assert SCRIPT.encode() in path.read_bytes()[:1024]
    return path


def dash_manifest(folder: Path, media_file: Path, name: str = "talk.xml") -> Path:
    """A DASH manifest with an XHTML script whose one representation is ``media_file``."""
    path = folder / name
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" xmlns:xhtml="http://www.w3.org/1999/xhtml"'
        ' type="static" mediaPresentationDuration="PT3S" minBufferTime="PT1S"'
        ' profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">\n'
        f"<xhtml:script>alert(document.domain)</xhtml:script>\n"
        '<Period><AdaptationSet mimeType="audio/mp4"><Representation id="a" bandwidth="64000"'
        f' codecs="mp4a.40.2"><BaseURL>{media_file}</BaseURL></Representation></AdaptationSet>'
        "</Period></MPD>\n"
    )
    return path


def plain_ffprobe_format(path: Path) -> str:
    """What ffprobe without our allowlist calls the file (it opens any demuxer)."""
    return ffprobe_entry(path, "format=format_name")


def assert_never_a_page(answer: httpx.Response) -> None:
    kind = answer.headers["content-type"]
    assert not kind.startswith(PAGE_TYPES), kind
    assert answer.headers["x-content-type-options"] == "nosniff"
    policy = [p.strip() for p in answer.headers["content-security-policy"].split(";")]
    assert "default-src 'none'" in policy and "sandbox" in policy


def test_only_media_extensions_survive_from_a_client_name():
    """GIVEN names a client sends WHEN staged THEN only media extensions are kept, else .bin"""
    names = ["talk.HTML", "a.svg", "b.xml", "c.xhtml", "d.m3u8", "e.mpd", "f", "../x.mp3", "g.MP4"]
    assert [safe_suffix(n) for n in names] == [".bin"] * 7 + [".mp3", ".mp4"]


def test_playlists_and_manifests_are_refused_by_the_probe(tmp_path):
    """
    GIVEN an HLS playlist, a DASH manifest, an ffconcat list and an SDP file, each naming real
    audio that plain ffprobe opens through them
    WHEN the archive probes them
    THEN each is refused as "not a media file" naming the format, while a real M4A still passes
    """
    m4a = tmp_path / "a.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=d=3", "-c:a", "aac", str(m4a))
    ffmpeg(
        "-i",
        str(m4a),
        "-c",
        "copy",
        "-f",
        "hls",
        "-hls_playlist_type",
        "vod",
        str(tmp_path / "list.m3u8"),
    )
    (tmp_path / "list.txt").write_text("ffconcat version 1.0\nfile a.m4a\n")
    (tmp_path / "s.sdp").write_text(
        "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio 5004 RTP/AVP 0\n"
    )
    manifests = {
        "hls": tmp_path / "list.m3u8",
        "dash": dash_manifest(tmp_path, m4a),
        "concat": tmp_path / "list.txt",
        "sdp": tmp_path / "s.sdp",
    }
    assert plain_ffprobe_format(manifests["dash"]) == "dash"
    assert plain_ffprobe_format(manifests["concat"]) == "concat"
    for name, path in manifests.items():
        with pytest.raises(media.PermanentError, match=f"not a media file.*'{name}'"):
            media.probe(path)
    assert media.probe(m4a).container == "mp4"


@pytest.fixture()
def editor(archive: Settings, staff) -> TestClient:  # type: ignore[no-untyped-def]
    """A signed-in editor; the body the upload names exists (editors only pick existing ones)."""
    with session_scope(archive.db_url) as session:
        make_body(session, "mazhilis")
    client = TestClient(create_app(archive))
    client.csrf = sign_in(client, staff.editor)  # type: ignore[attr-defined]
    return client


@pytest.mark.whisper
def test_an_mp3_uploaded_as_html_is_stored_and_served_as_audio(archive, worker, editor, tmp_path):
    """
    GIVEN an MP3 with <script> in its ID3 tags, uploaded by staff as talk.html
    WHEN it is ingested and its files are asked for
    THEN the original is stored as original.mp3 and served as an audio/mpeg download with
    nosniff and a sandbox CSP; the playable file and a clip of it too are audio, never a page
    """
    answer = upload(editor, "talk.html", hostile_mp3(tmp_path).read_bytes())
    assert answer.status_code == 200, answer.text
    job = wait_job(archive, answer.json()["job_id"])
    assert job.state == "succeeded", job.error
    with session_scope(archive.db_url) as session:
        rec = session.get(Recording, job.recording_id)
        assert (rec.container, rec.original_name) == ("mp3", "talk.html")
        assert Path(rec.original_path).name == "original.mp3"
        assert not list((archive.media_dir / rec.original_path).parent.glob("*.html"))
    original = editor.get(f"/media/{rec.id}/original")
    assert original.status_code == 200 and SCRIPT.encode() in original.content
    assert original.headers["content-type"] == "audio/mpeg"
    assert original.headers["content-disposition"].startswith("attachment;")
    assert f'filename="ashyq-{rec.id}.mp3"' in original.headers["content-disposition"]
    assert_never_a_page(original)
    playable = editor.get(f"/media/{rec.id}/playable", headers={"Range": "bytes=0-99"})
    assert playable.status_code == 206
    assert playable.headers["content-type"].startswith("audio/")
    assert_never_a_page(playable)
    clip = editor.get(f"/r/{rec.id}/clip.mp3", params={"start": 0.5, "end": 1.5})
    assert clip.status_code == 200 and clip.headers["content-type"] == "audio/mpeg"
    assert_never_a_page(clip)


def test_a_stored_html_suffix_from_before_is_still_served_safely(archive, tmp_path):
    """
    GIVEN a recording stored before names were checked: its original is original.html (MP3 bytes
    with a script in the tags), its playable type empty
    WHEN the original, the playable file and the captions are asked for
    THEN the types come from the container (audio/mpeg), the original is a download named .mp3,
    and every answer carries nosniff and the sandbox CSP
    """
    rec_id = indexed_recording(archive, ["The budget was approved."], media=hostile_mp3(tmp_path))
    with session_scope(archive.db_url) as session:
        rec = session.get(Recording, rec_id)
        assert rec.original_path.endswith("original.html")  # the name the old code kept
        rec.container, rec.playable_mime = "mp3", ""
    client = TestClient(create_app(archive))
    original = client.get(f"/media/{rec_id}/original")
    assert original.headers["content-type"] == "audio/mpeg"
    assert original.headers["content-disposition"].startswith("attachment;")
    assert f'filename="ashyq-{rec_id}.mp3"' in original.headers["content-disposition"]
    for answer in (
        original,
        client.get(f"/media/{rec_id}/playable"),
        client.get(f"/r/{rec_id}/captions.vtt"),
    ):
        assert answer.status_code == 200
        assert_never_a_page(answer)


@pytest.fixture()
def lying_site(tmp_path: Path) -> Iterator[Site]:
    """A server on 127.0.0.2 that serves a DASH manifest at talk.xml as if it were video/mp4
    (so yt-dlp downloads the manifest itself rather than the media it lists)."""
    m4a = tmp_path / "media" / "a.m4a"
    m4a.parent.mkdir()
    ffmpeg("-f", "lavfi", "-i", "sine=d=3", "-c:a", "aac", str(m4a))
    dash_manifest(tmp_path, m4a)
    site = Site(tmp_path, "127.0.0.2", content_types={"talk.xml": "video/mp4"})
    server = serve(site)
    yield site
    server.shutdown()


@pytest.mark.whisper
def test_a_fetched_dash_manifest_never_becomes_a_recording(archive, worker, lying_site):
    """
    GIVEN a URL ending in .xml whose body is a DASH manifest with an XHTML script, which plain
    ffprobe reads as "dash" with an AAC stream
    WHEN it is fetched
    THEN the job fails as "not a media file" and no recording, upload or fetch folder remains
    """
    assert plain_ffprobe_format(lying_site.root / "talk.xml") == "dash"
    url = f"{lying_site.base}/talk.xml"
    job = wait_job(archive, submit_url(archive, url, body="akimat"))
    assert job.state == "failed"
    assert "not a media file" in job.error and "'dash'" in job.error
    assert any(line.startswith("talk.xml") for line in lying_site.ranges)  # it was downloaded
    with session_scope(archive.db_url) as session:
        assert session.scalar(select(func.count()).select_from(Recording)) == 0
    assert not list(archive.work_dir.glob("fetch-*"))


def test_live_playlists_and_segments_carry_the_safety_headers(archive, tmp_path):
    """
    GIVEN a live recording with one run of real HLS segments
    WHEN its playlist and a segment are asked for
    THEN both carry nosniff and the sandbox CSP, with their media types
    """
    from archive.live import run_dir

    with session_scope(archive.db_url) as session:
        body = Body(slug="senat", name="Senat")
        rec = make_recording(
            session, body, sha256="live-safety", title="t", container="hls", status="live"
        )
        live = LiveSession(
            url="http://example.org/x.m3u8",
            body=body,
            title="t",
            recording=rec,
            state=LiveState.capturing,
            max_duration_s=60,
            chunk_s=15,
            runs=[{"n": 0}],
        )
        session.add(live)
        session.flush()
        rec_id, folder = rec.id, run_dir(archive, live.id, 0)
    folder.mkdir(parents=True)
    segments = str(folder / "v%05d.ts")
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=d=4",
        "-c:a",
        "aac",
        "-f",
        "hls",
        "-hls_time",
        "2",
        "-hls_segment_filename",
        segments,
        str(folder / "index.m3u8"),
    )
    client = TestClient(create_app(archive))
    playlist = client.get(f"/live/{rec_id}/index.m3u8")
    assert playlist.status_code == 200 and f"/live/{rec_id}/0/v00000.ts" in playlist.text
    assert playlist.headers["content-type"] == "application/vnd.apple.mpegurl"
    segment = client.get(f"/live/{rec_id}/0/v00000.ts")
    assert segment.status_code == 200 and segment.headers["content-type"] == "video/mp2t"
    for answer in (playlist, segment):
        assert_never_a_page(answer)


def test_with_a_media_origin_pages_link_there_and_the_site_redirects(archive, tmp_path):
    """
    GIVEN ASHYQ_MEDIA_URL=https://media.example.org
    WHEN a recording page, its media on the site, and a page on the media host are asked for
    THEN the player loads from the media origin, /media/… on the site redirects there (307,
    query kept), the media host serves the file, and answers 404 for any page
    """
    rec_id = indexed_recording(archive, ["The budget was approved."], media=tone(tmp_path))
    app = create_app(archive.model_copy(update={"media_url": "https://media.example.org"}))
    site = TestClient(app)
    page = site.get(f"/r/{rec_id}")
    assert f'src="https://media.example.org/media/{rec_id}/playable' in page.text
    moved = site.get(f"/media/{rec_id}/original?x=1", follow_redirects=False)
    assert moved.status_code == 307
    assert moved.headers["location"] == f"https://media.example.org/media/{rec_id}/original?x=1"
    media_host = TestClient(app, base_url="https://media.example.org")
    served = media_host.get(f"/media/{rec_id}/original")
    assert served.status_code == 200 and served.headers["content-type"] == "audio/wav"
    assert_never_a_page(served)
    assert media_host.get(f"/r/{rec_id}").status_code == 404
    assert media_host.get("/staff/login").status_code == 404


def test_a_media_origin_must_be_a_bare_origin():
    """GIVEN a media URL with a path or no scheme WHEN settings load THEN refused clearly"""
    for bad in ("https://media.example.org/files", "media.example.org"):
        with pytest.raises(ValueError, match="must be an origin"):
            Settings(media_url=bad)
