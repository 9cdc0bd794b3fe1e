"""Live capture: how soon a spoken word is searchable, whether the worker keeps up, and how each
way of cutting chunk borders affects the transcript.

    .venv/bin/python -m bench.live [--minutes 10] [--chunks 15,5] [--border words]
                                   [--borders-only] [--output FILE]

1. Borders (offline, same audio for every row): espeak-ng speech with short pauses is cut into
   fixed chunks and transcribed chunk by chunk as the capture does, once per border strategy
   (``none``, ``silence``, ``words``) and chunk length; WER against the script, words lost
   (deletions) and doubled (insertions), and the compute it took (real-time factor).
2. Live (for real): ``ffmpeg -re`` publishes ``--minutes`` of that speech as a growing HLS playlist
   on 127.0.0.2; the capture (``workers.live.capture``, in this process) records and transcribes
   it into a fresh archive with its own Meilisearch. Meilisearch is polled every 0.5 s for the
   recording's documents; for every word Whisper timed, latency = the moment its segment first
   became searchable − the moment the source said it (source start + its position). Reported:
   p50/p95/max, and per chunk the transcription real-time factor and the backlog (how long after
   the chunk's audio ended it was searchable) — bounded when the worker keeps up.
Prints Markdown; the machine's load average is printed with it (the shared 2-core machine is busy).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC
from pathlib import Path

import jiwer
import numpy as np

from bench import publish

REPO = Path(__file__).resolve().parents[1]


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def norm(text: str) -> str:
    text = text.lower().replace("%", " percent")
    text = re.sub(r"\b12\b", "twelve", text)
    return " ".join(re.findall(r"[a-z']+", text))


def speech(folder: Path, minutes: float, pause: float) -> tuple[Path, str]:
    """The test sentences, repeated to ``minutes``, each followed by ``pause`` s; + the script."""
    from tests.support.live_source import SENTENCES
    from tests.support.media_factory import ffmpeg, speak

    folder.mkdir(parents=True, exist_ok=True)
    parts = [speak(text, folder / f"s{i}.wav") for i, (_w, text) in enumerate(SENTENCES)]
    one = folder / "round.wav"
    inputs = [arg for part in parts for arg in ("-i", str(part))]
    n = len(parts)
    chain = "".join(f"[{i}:a]aresample=16000,apad=pad_dur={pause}[p{i}];" for i in range(n))
    chain += "".join(f"[p{i}]" for i in range(n)) + f"concat=n={n}:v=0:a=1"
    ffmpeg(*inputs, "-filter_complex", chain, "-ac", "1", "-ar", "16000", str(one))
    from tests.support.media_factory import duration

    rounds = max(1, int(np.ceil(minutes * 60 / duration(one))))
    out = folder / "speech.wav"
    ffmpeg("-stream_loop", str(rounds - 1), "-i", str(one), "-c", "copy", str(out))
    script = " ".join(text for _w, text in SENTENCES)
    return out, " ".join([script] * rounds)


def engine(model: str, beam: int):  # type: ignore[no-untyped-def]
    from workers.asr.transcribe import FasterWhisperEngine

    return FasterWhisperEngine(model, cpu_threads=2, beam_size=beam, languages=("kk", "ru", "en"))


def borders(model: str, audio: Path, script: str, chunks: list[int], beam: int) -> list[str]:
    """Transcribe the same audio chunk by chunk with each border strategy."""
    import wave

    from workers.live.text import Border, ChunkAudio, transcribe_chunk, write_wav

    with wave.open(str(audio), "rb") as handle:
        samples = np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16)
    length = len(samples) / 16000
    eng = engine(model, beam)
    rows = [
        "| chunk | border | WER | words lost | words doubled | transcribe RTF (wall/audio) |",
        "|---|---|---|---|---|---|",
    ]
    reference = norm(script)
    for chunk_s in chunks:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            pieces = []
            for i, start in enumerate(np.arange(0, length, chunk_s)):
                end = min(length, start + chunk_s)
                path = write_wav(
                    samples[int(start * 16000) : int(end * 16000)], folder / f"{i}.wav"
                )
                pieces.append(ChunkAudio(path, float(start), float(end)))
            for strategy in ("none", "silence", "words"):
                border, texts, began = Border(0.0, 0.0), [], time.monotonic()
                for i, piece in enumerate(pieces):
                    segs, border = transcribe_chunk(
                        eng,
                        pieces[: i + 1],
                        piece,
                        border,
                        final=i == len(pieces) - 1,
                        strategy=strategy,
                        work=folder / "work",
                    )
                    texts += [s.text for s in segs]
                took = time.monotonic() - began
                out = jiwer.process_words(reference, norm(" ".join(texts)))
                rows.append(
                    f"| {chunk_s} s | {strategy} | {out.wer:.3f} | {out.deletions} | "
                    f"{out.insertions} | {took / length:.2f} |"
                )
                print(rows[-1], file=sys.stderr, flush=True)
    return rows


def live(model: str, audio: Path, chunk_s: int, border: str, beam: int, work: Path) -> list[str]:
    """Capture a real-time HLS broadcast of ``audio``; word latency and worker backlog."""
    from archive import migrate
    from archive.db import session_scope
    from archive.models import LiveChunk, LiveSession, Segment
    from archive.settings import Settings
    from cli.services import NPM_BINARY, free_port, meilisearch_argv, wait_http
    from search.meili.client import master_client
    from tests.support.live_source import LiveSource, Speech
    from tests.support.media_factory import duration
    from workers.live import capture as live_capture
    from workers.services.live_control import start_live

    root = work / f"live-{chunk_s}-{uuid.uuid4().hex[:4]}"
    root.mkdir(parents=True)
    port, key = free_port(), uuid.uuid4().hex
    meili = subprocess.Popen(
        meilisearch_argv(str(NPM_BINARY), port, key, root / "meili"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_http(f"http://127.0.0.1:{port}/health", 30, meili)
    settings = Settings(
        data_dir=root / "data",
        meili_url=f"http://127.0.0.1:{port}",
        meili_master_key=key,
        meili_index="bench",
        whisper_model=model,
        whisper_cpu_threads=2,
        fetch_allowed_hosts=["127.0.0.2"],
        live_border=border,
        live_beam_size=beam,
        live_give_up_s=20,
        live_backoff_max_s=4,
    )
    migrate.upgrade(settings.db_url)
    source = LiveSource(Speech(audio, duration(audio), {}), root / "source")
    try:
        source.start()
        started = time.time()
        source.wait_segments(1)
        session_id = start_live(settings, source.url, body="bench", title="Bench", chunk_s=chunk_s)
        seen: dict[str, float] = {}
        done = threading.Event()
        thread = threading.Thread(
            target=lambda: (live_capture.capture(settings, session_id), done.set()), daemon=True
        )
        thread.start()
        index = master_client(settings).index("bench")
        while not done.is_set():
            try:
                docs = index.get_documents({"fields": ["id"], "limit": 100000}).results
            except Exception:
                docs = []
            now = time.time()
            for doc in docs:
                seen.setdefault(doc.id if hasattr(doc, "id") else doc["id"], now)
            time.sleep(0.5)
        with session_scope(settings.db_url) as session:
            live = session.get(LiveSession, session_id)
            segments = session.query(Segment).filter_by(recording_id=live.recording_id).all()
            chunks = session.query(LiveChunk).filter_by(session_id=session_id).all()
            latencies = [
                seen[seg.id] - (started + w[0])
                for seg in segments
                if seg.id in seen
                for w in seg.words
            ]
            backlog = [
                c.transcribed_at.replace(tzinfo=UTC).timestamp() - (started + c.end_s)
                for c in sorted(chunks, key=lambda c: c.start_s)
                if c.transcribed_at
            ]
            rtf = [c.transcribe_s / (c.end_s - c.start_s) for c in chunks if c.transcribe_s]
            length = duration(audio)
    finally:
        source.close()
        meili.terminate()
    q = statistics.quantiles(latencies, n=20)
    third = max(1, len(backlog) // 3)
    return [
        f"| {length / 60:.1f} min | {chunk_s} s | {border} | {len(latencies)} | "
        f"{statistics.median(latencies):.1f} | {q[18]:.1f} | {max(latencies):.1f} | "
        f"{statistics.median(rtf):.2f} | {statistics.mean(backlog[:third]):.1f} → "
        f"{statistics.mean(backlog[-third:]):.1f} |"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--chunks", default="15,5")
    parser.add_argument("--border", default="words")
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--border-minutes", type=float, default=2.0)
    parser.add_argument("--borders-only", action="store_true")
    parser.add_argument("--live-only", action="store_true")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    from workers.asr.model_files import assemble_bundled

    chunks = [int(c) for c in args.chunks.split(",")]
    lines = [f"Machine: {os.cpu_count()} CPUs, {load()} at start; beam {args.beam}.", ""]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = str(assemble_bundled(work / "model"))
        if not args.live_only:
            audio, script = speech(work / "borders", args.border_minutes, pause=0.3)
            lines += ["### Chunk borders", ""]
            lines += borders(model, audio, script, chunks, args.beam)
            lines += ["", f"({load()} after)", ""]
        if not args.borders_only:
            audio, _script = speech(work / "live", args.minutes, pause=1.0)
            lines += [
                "### Word spoken → searchable",
                "",
                "| stream | chunk | border | words | p50 s | p95 s | max s | chunk RTF | "
                "backlog first third → last third s |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
            for chunk_s in chunks:
                lines += live(model, audio, chunk_s, args.border, args.beam, work)
                print(lines[-1], file=sys.stderr, flush=True)
            lines += ["", f"({load()} at the end)"]
    text = "\n".join(lines) + "\n"
    publish(text, args.output)


if __name__ == "__main__":
    main()
