"""Test media made on the spot: espeak-ng speech, ffmpeg containers, broken files."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


def speak(text: str, target: Path, voice: str = "en-us", speed: int = 150) -> Path:
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(target), text], check=True
    )
    return target


def duration(path: Path) -> float:
    return float(ffprobe_entry(path, "format=duration"))


def ffprobe_entry(path: Path, entry: str, *options: str) -> str:
    """The value ffprobe shows for ``entry`` (``format=format_name``, ``stream=duration``…) as
    text; ``options`` pick a stream (``-select_streams a:0``) or make it count frames."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", *options, "-show_entries", entry, "-of", "csv=p=0", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


def decoded(path: Path, *output: str) -> bytes:
    """``path`` decoded by ffmpeg to raw bytes as ``output`` says (``-f s16le -ac 1 …``)."""
    argv = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), *output, "-"]
    return subprocess.run(argv, check=True, capture_output=True).stdout


@dataclass(frozen=True)
class SpokenClip:
    path: Path
    word: str
    word_at: float  # seconds where the utterance that starts with ``word`` begins


def clip_with_word_at_known_time(folder: Path, fmt: str = "mp4") -> SpokenClip:
    """Intro sentence, 3 s of silence, then a sentence whose first word is the target.

    The target utterance starts at (intro duration + 3 s); espeak-ng adds only a few ms of lead-in.
    """
    folder.mkdir(parents=True, exist_ok=True)
    intro = speak("Good morning. The session of the committee is now open.", folder / "a.wav")
    target = speak(
        "Railway construction in Karaganda will begin next spring, the minister said.",
        folder / "b.wav",
    )
    word_at = duration(intro) + 3.0
    out = folder / f"clip.{fmt}"
    video = (
        ["-f", "lavfi", "-i", "color=c=navy:s=320x240:r=15"]
        if fmt in ("mp4", "mkv", "webm")
        else []
    )
    codec = {
        "mp4": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"],
        "mkv": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"],
        "webm": ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-c:a", "libopus"],
        "mp3": ["-c:a", "libmp3lame"],
        "wav": [],
        "flac": [],
        "ogg": ["-c:a", "libopus"],
        "m4a": ["-c:a", "aac"],
    }[fmt]
    graph = (
        "[0:a]aresample=22050[a0];[1:a]aresample=22050[a1];"
        "aevalsrc=0:d=3:s=22050[gap];[a0][gap][a1]concat=n=3:v=0:a=1[a]"
    )
    picture = ["-map", "2:v", "-shortest"] if video else []
    inputs = ["-i", str(intro), "-i", str(target), *video]
    ffmpeg(*inputs, "-filter_complex", graph, "-map", "[a]", *picture, *codec, str(out))
    return SpokenClip(out, "railway", word_at)
