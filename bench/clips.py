"""How long a clip takes to cut, and to serve again from the cache, per format and length.

Makes a synthetic source (640x360 25 fps H.264 test pattern with a 44.1 kHz AAC tone, as long as
the longest clip plus a margin), then cuts each (length, format) twice through
``workers.media.clips``:
the first is a fresh encode, the second the cache hit a repeat request gets. Also checks that the
two encodes of a deleted-and-recut clip are byte-identical.

    .venv/bin/python -m bench.clips [--lengths 10,60,600] [--formats mp4,webm,m4a,mp3]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from archive.media import storage
from archive.models import Recording
from archive.text.ranges import TimeRange
from workers.media import clips


def source(folder: Path, seconds: float) -> Path:
    path = folder / "media" / "source.mp4"
    path.parent.mkdir(parents=True)
    video = ["-f", "lavfi", "-i", f"testsrc2=s=640x360:r=25:d={seconds}"]
    audio = ["-f", "lavfi", "-i", f"sine=frequency=300:sample_rate=44100:d={seconds}"]
    h264 = ["-c:v", "libx264", "-preset", "ultrafast", "-g", "250", "-pix_fmt", "yuv420p"]
    argv = ["ffmpeg", "-nostdin", "-loglevel", "error", *video, *audio, *h264]
    subprocess.run([*argv, "-c:a", "aac", str(path)], check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="10,60,600")
    parser.add_argument("--formats", default="mp4,webm,m4a,mp3")
    args = parser.parse_args()
    lengths = [float(x) for x in args.lengths.split(",")]
    formats = args.formats.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        media = source(folder, max(lengths) + 20)
        rec = Recording(
            id=1, sha256=storage.sha256_file(media), original_path="source.mp4", has_video=True
        )
        print("| clip length | format | cut (s) | cache hit (s) | size (KB) | re-cut identical |")
        print("|---:|---|---:|---:|---:|---|")
        for length in lengths:
            span = TimeRange(7_123, 7_123 + round(length * 1000))
            for fmt in formats:
                began = time.perf_counter()
                path = clips.cut(folder / "data", media.parent, rec, span, fmt)
                cut_s = time.perf_counter() - began
                began = time.perf_counter()
                clips.cut(folder / "data", media.parent, rec, span, fmt)
                hit_s = time.perf_counter() - began
                first = storage.sha256_file(path)
                shutil.rmtree(folder / "data" / "clips" / "cache")
                again = storage.sha256_file(
                    clips.cut(folder / "data", media.parent, rec, span, fmt)
                )
                print(
                    f"| {length:g} s | {fmt} | {cut_s:.2f} | {hit_s:.4f} | "
                    f"{path.stat().st_size / 1024:.0f} | {'yes' if first == again else 'NO'} |"
                )


if __name__ == "__main__":
    main()
