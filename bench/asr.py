"""Speed, memory and accuracy of transcription configurations, side by side in one run.

    .venv/bin/python -m bench.asr [--runs 3] [--minutes 5] [--threads 2] [--output FILE]

Builds one recording of at least ``--minutes`` from the shared real speech clips with pauses
between them (../shared/testdata/speech), then transcribes it with each configuration in its own
process (so peak RSS is that configuration's), alternating configurations run by run, and reports
medians: real-time factor (audio s / wall s), peak RSS, WER against the clips' references
(normalised as ``ashyq eval asr`` does). The last row is Ashyq's own engine (gap repair and
per-segment language checks included), to show what the pipeline costs over the raw library.
openai-whisper rows are not here yet (issue #9).
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEECH = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "speech"
FW = "faster-whisper"
CONFIGS: dict[str, dict] = {
    f"{FW} int8 beam5 words vad": {"compute": "int8", "beam": 5, "words": True, "vad": True},
    f"{FW} int8 beam5 vad": {"compute": "int8", "beam": 5, "words": False, "vad": True},
    f"{FW} int8 beam1 words vad": {"compute": "int8", "beam": 1, "words": True, "vad": True},
    f"{FW} int8 beam5 words": {"compute": "int8", "beam": 5, "words": True, "vad": False},
    f"{FW} fp32 beam5 words vad": {"compute": "float32", "beam": 5, "words": True, "vad": True},
    "ashyq engine int8 beam5 (pipeline)": {"compute": "int8", "beam": 5, "ashyq": True},
}


def build_audio(folder: Path, minutes: float) -> tuple[Path, str]:
    """Shared clips (16 kHz mono) with 1.5 s pauses, repeated until long enough; + reference."""
    with (SPEECH / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    clips, refs, total = [], [], 0.0
    while total < minutes * 60:
        for row in rows:
            clips.append(SPEECH / row["file"])
            refs.append(row["transcript"])
            total += float(row["duration_seconds"]) + 1.5
    inputs = [arg for clip in clips for arg in ("-i", str(clip))]
    chain = "".join(
        f"[{i}:a]aresample=16000,pan=mono|c0=c0,apad=pad_dur=1.5[a{i}];" for i in range(len(clips))
    )
    chain += "".join(f"[a{i}]" for i in range(len(clips))) + f"concat=n={len(clips)}:v=0:a=1"
    out = folder / "bench.wav"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *inputs, "-filter_complex", chain,
         "-ar", "16000", "-ac", "1", str(out)],
        check=True,
    )  # fmt: skip
    return out, " ".join(refs)


def run_one(audio: str, model: str, threads: int, config: dict) -> dict:
    """One transcription in this process (called in a child process)."""
    start = time.perf_counter()
    if config.get("ashyq"):
        from workers.transcribe import FasterWhisperEngine

        engine = FasterWhisperEngine(
            model_path=model, compute_type=config["compute"], beam_size=config["beam"],
            cpu_threads=threads, languages=("kk", "ru", "en"),
        )  # fmt: skip
        text = " ".join(seg.text for seg in engine.transcribe(Path(audio)))
    else:
        from faster_whisper import WhisperModel

        whisper = WhisperModel(model, compute_type=config["compute"], cpu_threads=threads)
        segments, _ = whisper.transcribe(
            audio, beam_size=config["beam"], word_timestamps=config["words"],
            vad_filter=config["vad"], multilingual=True,
        )  # fmt: skip
        text = " ".join(seg.text for seg in segments)
    wall = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"wall": wall, "rss_mb": rss, "text": text}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", default=None, help="model folder (default: bundled base)")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        audio, name = args.child
        print(json.dumps(run_one(audio, args.model, args.threads, CONFIGS[name])))
        return

    import jiwer

    from workers.evaluation import normalise
    from workers.model_files import assemble_bundled

    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(assemble_bundled(Path(tmp) / "whisper-base"))
        audio, reference = build_audio(Path(tmp), args.minutes)
        seconds = float(
            subprocess.run(
                [
                    "ffprobe",
                    "-v",
                    "error",
                    "-show_entries",
                    "format=duration",
                    "-of",
                    "csv=p=0",
                    str(audio),
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        results: dict[str, list[dict]] = {name: [] for name in CONFIGS}
        for run in range(args.runs):
            for name in CONFIGS:  # alternate configurations within each round
                child = subprocess.run(
                    [sys.executable, "-m", "bench.asr", "--threads", str(args.threads),
                     "--model", model, "--child", str(audio), name],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                result = json.loads(child.stdout.strip().splitlines()[-1])
                results[name].append(result)
                print(f"run {run + 1} {name}: {seconds / result['wall']:.1f}x", file=sys.stderr)
    lines = [
        f"Transcription of {seconds / 60:.1f} min of shared real speech (en, ru, kk clips with "
        f"pauses), Whisper base, {args.threads} threads, {args.runs} runs each, medians.",
        "",
        "| configuration | real-time factor | peak RSS MB | WER |",
        "|---|---:|---:|---:|",
    ]
    for name, runs in results.items():
        rtf = statistics.median(seconds / r["wall"] for r in runs)
        rss = statistics.median(r["rss_mb"] for r in runs)
        wer = jiwer.wer(normalise(reference), normalise(runs[0]["text"]))
        lines.append(f"| {name} | {rtf:.1f}× | {rss:.0f} | {wer:.3f} |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.output:
        args.output.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
