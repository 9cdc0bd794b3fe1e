"""ffmpeg and ffprobe, driven through ffmpeg-python, with their stderr kept for the job's error."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ffmpeg

from archive.media import media_types
from workers.errors import PermanentError

# What Debian's Chromium (and current Firefox/Safari for the MP4 row) plays natively.
PLAYABLE: dict[str, tuple[set[str], set[str]]] = {
    # container (ffprobe format_name token) -> (video codecs, audio codecs)
    "mp4": ({"h264", "av1", "vp9"}, {"aac", "mp3", "opus", "flac"}),
    "webm": ({"vp8", "vp9", "av1"}, {"opus", "vorbis"}),
    "mp3": (set(), {"mp3"}),
    "ogg": (set(), {"opus", "vorbis", "flac"}),
    "wav": (set(), {"pcm_s16le", "pcm_u8", "pcm_f32le", "pcm_s24le"}),
    "flac": (set(), {"flac"}),
}
FORMAT_REFUSED = re.compile(r"\[(\w+) @ [^]]*\] Format not on whitelist")


@dataclass(frozen=True)
class MediaInfo:
    format_name: str
    duration_s: float
    audio_codec: str | None
    video_codec: str | None
    raw: dict[str, Any] = field(repr=False)

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None

    @property
    def container(self) -> str:
        """The one container name we reason about (ffprobe reports 'mov,mp4,m4a,3gp,…')."""
        names = set(self.format_name.split(","))
        for name in ("mp4", "webm", "mp3", "ogg", "wav", "flac"):
            if name in names:
                return name
        return self.format_name.split(",")[0]

    @property
    def extension(self) -> str:
        """The original's extension in the store, from what ffprobe found (never the name)."""
        if self.container == "webm" and is_browser_playable(self):
            return ".webm"
        return media_types.extension_for(self.container, self.has_video)


def _stderr(exc: ffmpeg.Error) -> str:
    text = (exc.stderr or b"").decode("utf-8", "replace").strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return "; ".join(lines[-3:]) or "no output"


def probe(path: Path) -> MediaInfo:
    """Read container and streams; refuse anything without a decodable audio stream.

    ffprobe may open only the media demuxers in ``media_types.DEMUXERS`` and only local files:
    an HLS or DASH manifest, a concat list or an SDP file would otherwise pass as media (it
    names audio streams), be stored as an "original" and be served as XML or text on our
    origin."""
    if not path.exists():
        raise PermanentError(f"file not found: {path.name}")
    if path.stat().st_size == 0:
        raise PermanentError("the file is empty (0 bytes)")
    try:
        raw = ffmpeg.probe(
            str(path), format_whitelist=media_types.DEMUXERS, protocol_whitelist="file"
        )
    except ffmpeg.Error as exc:
        refused = FORMAT_REFUSED.search((exc.stderr or b"").decode("utf-8", "replace"))
        if refused:
            raise PermanentError(
                f"not a media file ffmpeg can read: ffprobe found {refused.group(1)!r}, which is"
                " not a media format the archive keeps (playlists and manifests are refused)"
            ) from exc
        raise PermanentError(f"not a media file ffmpeg can read: {_stderr(exc)}") from exc
    streams = raw.get("streams", [])
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
        ),
        None,
    )
    if audio is None:
        raise PermanentError("the file has no audio stream to transcribe")
    fmt = raw.get("format", {})
    duration = float(fmt.get("duration") or audio.get("duration") or 0.0)
    if duration <= 0:
        raise PermanentError("the file has no playable duration")
    return MediaInfo(
        format_name=fmt.get("format_name", "unknown"),
        duration_s=duration,
        audio_codec=audio.get("codec_name"),
        video_codec=video.get("codec_name") if video else None,
        raw=raw,
    )


def is_browser_playable(info: MediaInfo) -> bool:
    allowed = PLAYABLE.get(info.container)
    if allowed is None:
        return False
    video_ok, audio_ok = allowed
    if info.video_codec is not None and info.video_codec not in video_ok:
        return False
    return info.audio_codec in audio_ok


def mime_for(info: MediaInfo) -> str:
    """The type an original is served as when it plays as it is: from ffprobe's container."""
    if info.container == "webm" and is_browser_playable(info):
        return "video/webm" if info.has_video else "audio/webm"
    return media_types.mime_for(info.container, info.has_video)


def _run(stream: Any, what: str) -> None:
    try:
        stream.run(capture_stdout=True, capture_stderr=True, overwrite_output=True)
    except ffmpeg.Error as exc:
        raise PermanentError(f"{what} failed: {_stderr(exc)}") from exc


def make_playable(source: Path, info: MediaInfo, target_dir: Path) -> tuple[Path, str]:
    """Write a browser-playable rendition; stream copy when the codecs allow, else re-encode.

    Returns the file and its MIME type. Written under a temporary name and renamed when complete.
    """
    target_dir.mkdir(parents=True, exist_ok=True)
    if info.has_video:
        target, mime = target_dir / "playable.mp4", "video/mp4"
        copy_video = info.video_codec in PLAYABLE["mp4"][0]
        copy_audio = info.audio_codec in PLAYABLE["mp4"][1]
        out_args: dict[str, Any] = {
            "vcodec": "copy" if copy_video else "libx264",
            "acodec": "copy" if copy_audio else "aac",
            "movflags": "+faststart",
            "f": "mp4",
        }
        if not copy_video:
            out_args.update(preset="veryfast", crf=23, pix_fmt="yuv420p")
    else:
        target, mime = target_dir / "playable.m4a", "audio/mp4"
        copy_audio = info.audio_codec == "aac"
        out_args = {"acodec": "copy" if copy_audio else "aac", "vn": None, "f": "mp4"}
        if not copy_audio:
            out_args["b:a"] = "128k"
        out_args["movflags"] = "+faststart"
    partial = target.with_name(f".{target.name}.part")
    inp = ffmpeg.input(str(source))
    streams = [inp["v:0"], inp["a:0"]] if info.has_video else [inp["a:0"]]
    stream = ffmpeg.output(*streams, str(partial), **out_args)
    _run(stream, "making a playable rendition")
    os.replace(partial, target)
    return target, mime


def extract_audio(source: Path, target: Path) -> Path:
    """16 kHz mono 16-bit WAV, what Whisper consumes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part.wav")
    stream = ffmpeg.output(
        ffmpeg.input(str(source))["a:0"], str(partial), ac=1, ar=16000, acodec="pcm_s16le", f="wav"
    )
    _run(stream, "extracting audio")
    if partial.stat().st_size <= 44:
        partial.unlink(missing_ok=True)
        raise PermanentError("extracting audio produced no samples")
    os.replace(partial, target)
    return target


def poster(source: Path, info: MediaInfo, target: Path) -> Path:
    """A JPEG frame for the player and link previews: 1 s in, or the middle of a short clip."""
    at = min(1.0, info.duration_s / 2)
    partial = target.with_name(f".{target.name}.part.jpg")
    stream = ffmpeg.input(str(source), ss=at).output(str(partial), vframes=1, **{"q:v": 3})
    _run(stream, "extracting a poster frame")
    os.replace(partial, target)
    return target
