"""What each kept container is stored and served as (archive.media.media_types): always keyed by
the container ffprobe found in the bytes, never by a name a client chose."""

from __future__ import annotations

import pytest

from archive.media.media_types import (
    DEMUXERS,
    MEDIA_EXTENSIONS,
    MEDIA_MIMES,
    MEDIA_TYPES,
    UNKNOWN,
    extension_for,
    media_type,
    mime_for,
    safe_suffix,
)


@pytest.mark.parametrize(
    ("container", "has_video", "mime", "extension"),
    [
        ("mp4", True, "video/mp4", ".mp4"),
        ("mp4", False, "audio/mp4", ".m4a"),  # what players and people expect for audio
        ("webm", True, "video/x-matroska", ".mkv"),
        ("webm", False, "audio/x-matroska", ".mkv"),
        ("mp3", False, "audio/mpeg", ".mp3"),
        ("asf", True, "video/x-ms-asf", ".wmv"),
        ("asf", False, "audio/x-ms-wma", ".wmv"),
        ("mpegts", True, "video/mp2t", ".ts"),
    ],
)
def test_type_and_extension_follow_the_container_and_the_video_track(
    container, has_video, mime, extension
):
    assert mime_for(container, has_video) == mime
    assert extension_for(container, has_video) == extension


@pytest.mark.parametrize("container", ["html", "svg", "hls", "dash", "", "MP4"])
def test_an_unknown_container_is_served_as_bytes_to_download(container):
    """GIVEN a container the table does not name WHEN typed THEN octet-stream and .bin, so no
    browser renders it as a page or an image on the archive's origin"""
    assert media_type(container) is UNKNOWN
    assert mime_for(container, True) == mime_for(container, False) == "application/octet-stream"
    assert extension_for(container, False) == ".bin"


def test_every_served_type_is_a_media_type():
    """No entry of the table can make the archive send a type a browser would run or render."""
    assert {t.video_mime for t in MEDIA_TYPES.values()} <= MEDIA_MIMES
    for mime in MEDIA_MIMES:
        assert mime.split("/")[0] in ("audio", "video", "application"), mime
        assert not any(word in mime for word in ("html", "xml", "svg", "javascript")), mime
    assert "text/html" not in MEDIA_MIMES and "image/svg+xml" not in MEDIA_MIMES


def test_the_probe_may_open_exactly_the_kept_containers():
    """
    GIVEN the table WHEN the ffprobe format whitelist is made
    THEN it names each container's demuxer (mov and matroska for their families) and no
      playlist, manifest or concat demuxer that could make ffprobe read other files
    """
    demuxers = DEMUXERS.split(",")
    assert len(demuxers) == len(MEDIA_TYPES) == len(set(demuxers))
    assert {"mov", "matroska", "mp3", "wav"} <= set(demuxers)
    assert not {"mp4", "webm", "hls", "dash", "concat", "sdp", "image2"} & set(demuxers)


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        ("talk.MP4", ".mp4"),
        ("hearing.m4a", ".m4a"),
        ("a.b.webm", ".webm"),
        ("../../etc/x.mp3", ".mp3"),
        ("page.html", ".bin"),
        ("image.svg", ".bin"),
        ("list.m3u8", ".bin"),
        ("no-extension", ".bin"),
        ("trailing.", ".bin"),
        (".mp4", ".bin"),  # a hidden file's name, not an extension
    ],
)
def test_only_a_media_extension_survives_from_a_client_name(name, suffix):
    assert safe_suffix(name) == suffix


def test_every_stored_extension_is_one_a_client_name_may_keep():
    assert {t.extension for t in MEDIA_TYPES.values()} <= MEDIA_EXTENSIONS
    assert all(ext.startswith(".") and ext == ext.lower() for ext in MEDIA_EXTENSIONS)
