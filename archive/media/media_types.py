"""Which media formats the archive keeps, and what each is stored and served as.

Everything here is keyed by the container ffprobe found in the bytes (``Recording.container``),
never by a file name: an uploader's name or a URL's tail can say ``.html`` or ``.svg`` over
perfectly valid MP3 bytes (ID3 tags hold any text, ``<script>`` included), and a name-derived
type would have the site serve that file as a page on its own origin.

``DEMUXERS`` is what ffprobe may open at all (``-format_whitelist``): playlists and manifests
(``hls``, ``dash``, ``concat``, ``sdp``), images, subtitles and text-art demuxers are not media
recordings and are refused before anything is stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple


class MediaType(NamedTuple):
    extension: str
    video_mime: str
    audio_mime: str


# Keyed by ``MediaInfo.container``: the first ffprobe format token, or "mp4" / "webm" for the
# mov and matroska families.
MEDIA_TYPES: dict[str, MediaType] = {
    "mp4": MediaType(".mp4", "video/mp4", "audio/mp4"),
    "webm": MediaType(".mkv", "video/x-matroska", "audio/x-matroska"),
    "mp3": MediaType(".mp3", "audio/mpeg", "audio/mpeg"),
    "ogg": MediaType(".ogg", "video/ogg", "audio/ogg"),
    "wav": MediaType(".wav", "audio/wav", "audio/wav"),
    "flac": MediaType(".flac", "audio/flac", "audio/flac"),
    "aac": MediaType(".aac", "audio/aac", "audio/aac"),
    "mpegts": MediaType(".ts", "video/mp2t", "video/mp2t"),
    "asf": MediaType(".wmv", "video/x-ms-asf", "audio/x-ms-wma"),
    "avi": MediaType(".avi", "video/x-msvideo", "video/x-msvideo"),
    "flv": MediaType(".flv", "video/x-flv", "video/x-flv"),
    "mpeg": MediaType(".mpg", "video/mpeg", "video/mpeg"),
    "mxf": MediaType(".mxf", "application/mxf", "application/mxf"),
    "aiff": MediaType(".aiff", "audio/aiff", "audio/aiff"),
    "amr": MediaType(".amr", "audio/amr", "audio/amr"),
    "caf": MediaType(".caf", "audio/x-caf", "audio/x-caf"),
    "ac3": MediaType(".ac3", "audio/ac3", "audio/ac3"),
    "eac3": MediaType(".eac3", "audio/eac3", "audio/eac3"),
    "wv": MediaType(".wv", "audio/x-wavpack", "audio/x-wavpack"),
    "au": MediaType(".au", "audio/basic", "audio/basic"),
}
# ffprobe demuxer names for the table above (``mov`` and ``matroska`` name whole families).
DEMUXERS = ",".join("mov" if c == "mp4" else "matroska" if c == "webm" else c for c in MEDIA_TYPES)
# What a client's file name may contribute to a staged file's name (ffprobe reads the bytes;
# the extension only helps it with raw streams such as ADTS AAC).
MEDIA_EXTENSIONS = frozenset(
    {t.extension for t in MEDIA_TYPES.values()}
    | {".m4a", ".m4v", ".mov", ".webm", ".mka", ".opus", ".oga", ".ogv", ".wma", ".mpeg", ".mts"}
)
# Types a response may carry for a media file; anything else is served as a download of bytes.
MEDIA_MIMES = frozenset(
    {t.video_mime for t in MEDIA_TYPES.values()}
    | {t.audio_mime for t in MEDIA_TYPES.values()}
    | {"video/webm", "audio/webm"}
)
UNKNOWN = MediaType(".bin", "application/octet-stream", "application/octet-stream")


def media_type(container: str) -> MediaType:
    return MEDIA_TYPES.get(container, UNKNOWN)


def mime_for(container: str, has_video: bool) -> str:
    kind = media_type(container)
    return kind.video_mime if has_video else kind.audio_mime


def extension_for(container: str, has_video: bool) -> str:
    """``.m4a`` for audio-only MP4 (players and people expect it), else the container's."""
    if container == "mp4" and not has_video:
        return ".m4a"
    return media_type(container).extension


def safe_suffix(name: str) -> str:
    """The extension of ``name`` when it is a media extension we keep, else ``.bin``.

    The client's file name never becomes a path, and no other extension (``.html``, ``.svg``,
    ``.xml``) ever reaches the disk under our names."""
    suffix = Path(name).suffix.lower()
    return suffix if suffix in MEDIA_EXTENSIONS else ".bin"
