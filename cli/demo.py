"""The demo recording ``ashyq up`` ingests: synthetic speech made on the spot with espeak-ng."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

DEMO_TEXT = (
    "Good morning. This is the weekly government briefing. "
    "Today the minister presented the national budget for schools and hospitals. "
    "The parliament will discuss the new water supply program next Tuesday. "
    "Questions from journalists are welcome after the briefing."
)
DEMO_TITLE = "Demo: weekly government briefing (synthetic speech)"
DEMO_BODY = "demo"


def make_demo(folder: Path) -> Path | None:
    """Write the demo clip as AAC in MP4 (what most broadcasts use); None without espeak-ng."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    wav, target = folder / "demo.wav", folder / "demo-briefing.m4a"
    if target.exists():
        return target
    subprocess.run([espeak, "-v", "en-us", "-s", "150", "-w", str(wav), DEMO_TEXT], check=True)
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(wav),
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            str(target),
        ],
        check=True,
    )
    wav.unlink(missing_ok=True)
    return target
