"""Probing and browser-playable renditions with the real ffmpeg."""

from __future__ import annotations

import subprocess

import pytest

from tests.helpers import wait_job
from tests.media_factory import clip_with_word_at_known_time, ffmpeg
from workers import media
from workers.submit import submit_file


def video_md5(path) -> str:
    """MD5 of the encoded video packets (stream copy keeps them bit for bit)."""
    out = subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(path), "-map", "0:v", "-c", "copy",
         "-bsf:v", "h264_mp4toannexb", "-f", "md5", "-"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
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
