"""Probing and browser-playable renditions with the real ffmpeg."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.helpers import wait_job
from tests.support.media_factory import clip_with_word_at_known_time, ffmpeg
from workers.media import ffmpeg as media
from workers.services.submit import submit_file


def video_md5(path) -> str:
    """MD5 of the encoded video packets (stream copy keeps them bit for bit)."""
    packets = ["-map", "0:v", "-c", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "md5", "-"]
    argv = ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path), *packets]
    out = subprocess.run(argv, check=True, capture_output=True, text=True)
    return out.stdout.strip()


@pytest.mark.parametrize(
    ("fmt", "playable"),
    [
        ("mp4", True),
        ("webm", True),
        ("mp3", True),
        ("wav", True),
        ("flac", True),
        ("ogg", True),
        ("m4a", True),
        ("mkv", False),
    ],
)
def test_playability_follows_container_and_codecs(tmp_path, fmt, playable):
    clip = clip_with_word_at_known_time(tmp_path, fmt=fmt)
    info = media.probe(clip.path)
    assert info.duration_s > 5
    assert media.is_browser_playable(info) is playable


def test_hevc_is_re_encoded_and_mkv_h264_is_stream_copied(tmp_path):
    """
    GIVEN an HEVC MP4 (Chromium cannot play it) and an H.264 MKV (codecs fine, container not)
    WHEN renditions are made
    THEN HEVC becomes H.264 MP4 and the MKV is rewrapped with its video stream copied
    """
    source = clip_with_word_at_known_time(tmp_path / "src", fmt="mp4").path
    hevc = tmp_path / "hevc.mp4"
    ffmpeg("-i", str(source), "-c:v", "libx265", "-preset", "ultrafast", "-c:a", "copy", str(hevc))
    info = media.probe(hevc)
    assert info.video_codec == "hevc" and not media.is_browser_playable(info)
    out, mime = media.make_playable(hevc, info, tmp_path / "r1")
    made = media.probe(out)
    assert (made.video_codec, made.audio_codec, mime) == ("h264", "aac", "video/mp4")
    assert media.is_browser_playable(made)

    mkv = clip_with_word_at_known_time(tmp_path / "mkv", fmt="mkv").path
    mkv_info = media.probe(mkv)
    out, _ = media.make_playable(mkv, mkv_info, tmp_path / "r2")
    made = media.probe(out)
    assert made.container == "mp4" and made.video_codec == "h264"
    assert video_md5(out) == video_md5(mkv)  # the same encoded frames: copied, not re-encoded
    assert abs(made.duration_s - mkv_info.duration_s) < 0.2


def test_a_file_without_audio_is_refused(tmp_path):
    silent_video = tmp_path / "noaudio.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=64x64:d=2", "-c:v", "libx264", str(silent_video))
    with pytest.raises(media.PermanentError, match="no audio stream"):
        media.probe(silent_video)


@pytest.mark.whisper
@pytest.mark.parametrize("fmt", ["mkv", "webm", "ogg", "flac"])
def test_every_common_container_ingests(archive, worker, tmp_path, fmt):
    """GIVEN a clip in FMT WHEN ingested THEN it becomes searchable, with a playable file"""
    clip = clip_with_word_at_known_time(tmp_path, fmt=fmt)
    job = wait_job(
        archive, submit_file(archive, clip.path, title=fmt, body="senat", when="2026-01-01")
    )
    assert job.state == "succeeded", job.error
    from archive.db import session_scope
    from archive.models import Recording

    with session_scope(archive.db_url) as session:
        rec = session.get(Recording, job.recording_id)
        playable = archive.media_dir / rec.playable_path
        assert playable.is_file()
        assert media.is_browser_playable(media.probe(playable))
        assert (archive.media_dir / rec.original_path).read_bytes() == clip.path.read_bytes()
        assert any("railway" in seg.text.lower() for seg in rec.segments)


def test_media_is_kept_by_caches_a_minute_then_revalidated_with_a_304(archive, tmp_path):
    """
    GIVEN a published recording's media file
    WHEN it is fetched, fetched again with its ETag, fetched by range, and after a withdrawal
    THEN shared caches may keep it a minute and must then ask again; asking with the ETag costs
      a 304 with no body (a stale tag gets the file), ranges still answer 206, and once
      withdrawn it is gone (404) — no cache was told to keep it for a day
    """
    from fastapi.testclient import TestClient

    from api.app import create_app
    from archive.db import session_scope
    from archive.models import Recording
    from tests.support.factory import indexed_recording, tone
    from workers.services import publishing

    rec = indexed_recording(archive, ["One sentence."], media=tone(tmp_path))
    client, url = TestClient(create_app(archive)), f"/media/{rec}/playable"
    full = client.get(url)
    cache = "public, max-age=60, must-revalidate"
    assert full.status_code == 200 and full.headers["cache-control"] == cache
    etag = full.headers["etag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and again.headers["cache-control"] == cache
    assert client.get(url, headers={"If-None-Match": '"stale"'}).content == full.content
    part = client.get(url, headers={"Range": "bytes=10-109", "If-Range": etag})
    assert part.status_code == 206 and part.content == full.content[10:110]
    assert part.headers["cache-control"] == cache
    with session_scope(archive.db_url) as session:
        publishing.withdraw(archive, session, session.get(Recording, rec))
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 404
