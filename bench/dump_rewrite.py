"""How long taking one recording out of a kept bulk dump takes, the two layouts side by side.

Withdrawing, deleting or purging a recording rewrites every kept dump that holds it before the
staff request returns, so this time (times ``dumps_kept``) is what the request waits. Builds a
synthetic dump of N hour-long recordings (600 segments with word timings each) in the shipped
layout (one gzip member a line) and a copy as one gzip stream (the layout of dumps made before),
then drops the same recording from each through ``workers.services.dumps._rewrite``.

    .venv/bin/python -m bench.dump_rewrite [--recordings 200]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import tempfile
import time
from pathlib import Path

from workers.services import dumps


def line(rid: int) -> bytes:
    segments = [
        {
            "id": f"{rid}-{i}",
            "start": i * 5.0,
            "end": i * 5.0 + 5,
            "text": "Бюджеттің жобасы депутаттармен бүгін отырыста талқыланды",
            "language": "kk",
            "speaker": None,
            "reviewed": False,
            "words": [[i * 5 + k / 2, i * 5 + k / 2 + 0.5, f" сөз{k}", 0.9] for k in range(7)],
        }
        for i in range(600)
    ]
    record = {"id": rid, "title": f"Recording {rid}", "segments": segments}
    return json.dumps(record, ensure_ascii=False).encode() + b"\n"


def timed_rewrite(folder: Path, drop: int) -> float:
    manifest = json.loads((folder / dumps.MANIFEST).read_text())
    began = time.perf_counter()
    dumps._rewrite(folder, manifest, {drop})
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=200)
    n = parser.parse_args().recordings
    root = Path(tempfile.mkdtemp(prefix="ashyq-dump-bench-"))
    try:
        members, stream = root / "members", root / "stream"
        members.mkdir()
        data, lines = members / "data.part", [line(rid) for rid in range(1, n + 1)]
        data.write_bytes(b"".join(dumps._member(one) for one in lines))
        head = {"name": "bench", "created_at": "-"}
        dumps._write_index(members, data, head, list(range(1, n + 1)), 600 * n)
        shutil.copytree(members, stream)
        (stream / dumps.DATA_FILE).write_bytes(gzip.compress(b"".join(lines), mtime=0))
        size = sum(map(len, lines)) / 1e6
        packed = {f: (f / dumps.DATA_FILE).stat().st_size / 1e6 for f in (members, stream)}
        took = {f: timed_rewrite(f, n // 2) for f in (stream, members)}
        print(f"{n} recordings, {size:.0f} MB of JSON Lines")
        print("| layout | gzip MB | rewrite without one recording, s |\n|---|---:|---:|")
        for name, folder in (("one gzip stream (before)", stream), ("one member a line", members)):
            print(f"| {name} | {packed[folder]:.1f} | {took[folder]:.2f} |")
        print(f"ratio: {took[stream] / took[members]:.0f}x")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
