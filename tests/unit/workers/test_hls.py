"""Just enough HLS (workers.media.hls) to tell a live stream's state: the playlist parser and the
rules that decide whether an address is a stream recorded as given.

Fetching a remote playlist through the network guard is checked in tests/integration/live.
"""

from __future__ import annotations

import pytest

from workers.media.hls import Playlist, is_direct_stream, is_hls, local, parse

LIVE = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:41
#EXTINF:2.000000,
r0_00041.ts
#EXTINF:1.960000,
  r0_00042.ts
#EXT-X-DISCONTINUITY
#EXTINF:2.04,title
https://cdn.example.org/r0_00043.ts?token=x
"""


def test_a_live_playlist_lists_its_segments_in_order():
    playlist = parse(LIVE)
    assert playlist.media_sequence == 41
    assert playlist.segments == [
        (2.0, "r0_00041.ts"),
        (1.96, "r0_00042.ts"),
        (2.04, "https://cdn.example.org/r0_00043.ts?token=x"),
    ]
    assert playlist.duration_s == pytest.approx(6.0)
    assert not playlist.ended


def test_the_end_marker_means_the_broadcast_is_over():
    assert parse(LIVE + "#EXT-X-ENDLIST\n").ended
    assert parse("#EXTM3U\r\n#EXT-X-ENDLIST\r\n").ended  # Windows line ends too


def test_a_uri_without_its_extinf_is_not_a_segment():
    """Master playlists and tags the parser does not know list URIs that are not media segments."""
    text = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow/index.m3u8\n#EXT-X-KEY:URI=k\n"
    assert parse(text) == Playlist(0, [], False)


def test_the_fingerprint_changes_only_when_the_source_publishes():
    """
    GIVEN a playlist read twice unchanged, then once with a new segment, then restarted
    WHEN fingerprinted THEN only the new segment and the restart change it (a stalled source
      reads the same, so a reconnection would only re-read its last segment)
    """
    before = parse(LIVE)
    assert parse(LIVE).fingerprint == before.fingerprint
    grown = parse(LIVE + "#EXTINF:2.0,\nr0_00044.ts\n")
    assert grown.fingerprint != before.fingerprint
    restarted = parse("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2,\nr1_00000.ts\n")
    assert restarted.fingerprint not in (before.fingerprint, grown.fingerprint)
    assert Playlist(0, [], False).fingerprint == (0, 0, "")


def test_a_playlist_ffmpeg_has_not_written_yet_is_empty(tmp_path):
    assert local(tmp_path / "absent.m3u8") == Playlist(0, [], False)
    (tmp_path / "live.m3u8").write_text(LIVE)
    assert local(tmp_path / "live.m3u8") == parse(LIVE)


@pytest.mark.parametrize(
    ("url", "hls", "direct"),
    [
        ("https://tv.example.org/live/index.m3u8", True, True),
        ("https://tv.example.org/LIVE/INDEX.M3U8?token=abc", True, True),
        ("https://tv.example.org/watch?list=a.m3u8", False, False),  # only in the query
        ("rtmp://ingest.example.org/live/key", False, True),
        ("RTMPS://ingest.example.org/live/key", False, True),
        (" rtsp://10.0.0.5/cam ", False, True),
        ("rtsps://cam.example.org/x", False, True),
        ("https://www.youtube.com/watch?v=x", False, False),  # a page yt-dlp resolves
        ("https://example.org/talk.mp4", False, False),
    ],
)
def test_stream_addresses_are_told_from_pages(url, hls, direct):
    """A direct stream is recorded as given and never published (it may carry a stream key);
    a page is resolved by yt-dlp."""
    assert is_hls(url) is hls
    assert is_direct_stream(url) is direct
