"""Speed, memory and accuracy of both Whisper engines and their settings, side by side in one run.

    .venv/bin/python -m bench.asr [--runs 3] [--minutes 5] [--threads 2] [--output FILE]
    .venv/bin/python -m bench.asr --quick          # a few rows, 1 run, ~1.5 min of audio
    .venv/bin/python -m bench.asr --layout         # worker layout: 1 process × 2 threads vs 2 × 1
    python3 -m bench.asr --device cuda             # the same on a GPU (batched faster-whisper)

Builds one recording of at least ``--minutes`` from the shared real speech clips with 1.5 s pauses
between them (English and Russian by default), then transcribes it
with each configuration in its own process (so peak RSS is that configuration's), configurations
alternating run by run (the order rotates each round), and reports medians of the real-time
factor (audio seconds / transcription wall seconds; model loading excluded and shown apart) and
peak RSS. WER compares
each clip's reference with the text of the segments that fall in that clip's time, normalised as
``ashyq eval asr`` does. The Kazakh clips are left out unless ``--languages en,ru,kk``: Whisper
base cannot transcribe them (WER ≈ 1 whatever the settings), and on them raw openai-whisper, which
picks one language for the whole file, fell into minutes-long temperature-fallback loops that
measured nothing but the loop.

Rows: the raw libraries (openai-whisper's ``transcribe``, faster-whisper's ``WhisperModel`` and
``BatchedInferencePipeline``) with beam 1/5, word timestamps on/off, VAD on/off, int8/float32; and
Ashyq's own engines (``workers/asr/faster/``, ``workers/asr/openai_engine.py``: per-segment
language
restricted to kk/ru/en, gap repair), which is what a worker runs. Raw faster-whisper runs with
``multilingual=True`` (a language per 30 s window, as Ashyq needs); raw openai-whisper has no such
mode and detects one language for the file from its first 30 s.

Kazakh (``--languages kk --minutes 0.5``: each shared Kazakh clip once): Whisper base decoding
several windows in one batch at temperature 0 fell into repetition loops there. The report counts,
per configuration, the segments whose text loops (``workers.asr.transcribe.is_loop``) and the ones
Ashyq's engine marked unintelligible, and gives the CER beside the WER; the rows with "kk" decode
with the language fixed to Kazakh (the raw library's best case), and "loops kept" is Ashyq's engine
without its loop recovery (as before it), to show that recovery's cost side by side.

Timings on a shared machine are noisy: compare rows within one run, not across runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

from bench import publish

SPEECH = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "speech"
PAUSE_S = 1.5
FW, OW = "faster-whisper", "openai-whisper"


def _row(engine: str, **options: object) -> dict:
    return {"engine": engine, "compute": "int8", "beam": 5, "words": True, "vad": True, **options}


CPU_CONFIGS: dict[str, dict] = {
    f"{OW} fp32 beam5 words": _row("ow", compute="float32", vad=False),
    f"{OW} fp32 beam5": _row("ow", compute="float32", words=False, vad=False),
    f"{OW} fp32 beam1 words": _row("ow", compute="float32", beam=1, vad=False),
    f"{FW} int8 beam5 words vad": _row("fw"),
    f"{FW} int8 beam5 vad": _row("fw", words=False),
    f"{FW} int8 beam5 words": _row("fw", vad=False),
    f"{FW} int8 beam1 words vad": _row("fw", beam=1),
    f"{FW} fp32 beam5 words vad": _row("fw", compute="float32"),
    f"{FW} batched(8) int8 beam5 words vad": _row("fw-batched", batch=8),
    f"{FW} batched(8) int8 beam1 words vad": _row("fw-batched", batch=8, beam=1),
    f"{FW} int8 beam5 words vad kk": _row("fw", language="kk"),
    "Ashyq engine: faster-whisper int8 beam5": _row("ashyq-fw", batch=8),
    "Ashyq engine: faster-whisper int8 beam5 loops kept": _row(
        "ashyq-fw", batch=8, loops_kept=True
    ),
    "Ashyq engine: faster-whisper int8 beam5 batch1": _row("ashyq-fw", batch=1),
    "Ashyq engine: faster-whisper int8 beam1": _row("ashyq-fw", batch=8, beam=1),
    "Ashyq engine: openai-whisper fp32 beam5": _row("ashyq-ow", compute="float32"),
}
QUICK = [
    f"{OW} fp32 beam5 words",
    f"{FW} int8 beam5 words vad",
    f"{FW} batched(8) int8 beam5 words vad",
    "Ashyq engine: faster-whisper int8 beam5",
]
CUDA_CONFIGS: dict[str, dict] = {
    f"{OW} fp16 beam5 words": _row("ow", compute="float16", vad=False),
    f"{OW} fp16 beam5": _row("ow", compute="float16", words=False, vad=False),
    f"{OW} fp16 beam1 words": _row("ow", compute="float16", beam=1, vad=False),
    f"{FW} fp16 beam5 words vad": _row("fw", compute="float16"),
    f"{FW} batched(16) fp16 beam5 words vad": _row("fw-batched", compute="float16", batch=16),
    f"{FW} batched(16) fp16 beam5 vad": _row(
        "fw-batched", compute="float16", batch=16, words=False
    ),
}


def build_audio(
    folder: Path, minutes: float, languages: tuple[str, ...] = ("en", "ru")
) -> tuple[Path, list[dict]]:
    """Shared clips (16 kHz mono) with pauses, repeated until long enough; and where each lies."""
    with (SPEECH / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle, delimiter="\t") if r["language"] in languages]
    clips: list[dict] = []
    total = 0.0
    while total < minutes * 60:
        for row in rows:
            length = float(row["duration_seconds"])
            clips.append(
                {
                    "file": row["file"],
                    "language": row["language"],
                    "start": total,
                    "end": total + length,
                    "reference": row["transcript"],
                }
            )
            total += length + PAUSE_S
    inputs = [arg for clip in clips for arg in ("-i", str(SPEECH / clip["file"]))]
    chain = "".join(
        f"[{i}:a]aresample=16000,pan=mono|c0=c0,apad=pad_dur={PAUSE_S}[a{i}];"
        for i in range(len(clips))
    )
    chain += "".join(f"[a{i}]" for i in range(len(clips))) + f"concat=n={len(clips)}:v=0:a=1"
    out = folder / "bench.wav"
    wav = ["-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le", str(out)]
    ffmpeg = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y"]
    subprocess.run([*ffmpeg, *inputs, "-filter_complex", chain, *wav], check=True)
    return out, clips


def read_wav(path: Path):
    """16-bit mono WAV to float32 samples without ffmpeg or PyAV (the GPU machine has neither)."""
    import numpy as np

    with wave.open(str(path)) as handle:
        frames = handle.readframes(handle.getnframes())
    return np.frombuffer(frames, dtype=np.int16).astype(np.float32) / 32768.0


def _segments_fw(segments) -> list[tuple[float, float, str]]:
    return [(s.start, s.end, s.text) for s in segments]


def run_one(audio: str, model: str, threads: int, device: str, config: dict) -> dict:
    """One transcription in this process (called in a child process)."""
    engine = config["engine"]
    load_start = time.perf_counter()
    runner = _runner(model, threads, device, config)
    load_s = time.perf_counter() - load_start

    samples = read_wav(Path(audio))
    start = time.perf_counter()
    found = _transcribed(runner, Path(audio), samples, config)
    wall = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gpu_mb = 0.0
    if device == "cuda" and engine in ("ow", "ashyq-ow"):
        import torch

        gpu_mb = torch.cuda.max_memory_allocated() / 2**20
    return {"wall": wall, "load": load_s, "rss_mb": rss, "gpu_mb": gpu_mb, "segments": found}


def _runner(model: str, threads: int, device: str, config: dict):
    """The configuration's engine or raw library model, loaded (the load is timed apart)."""
    engine = config["engine"]
    if engine in ("ow", "ashyq-ow") and threads:
        import torch

        torch.set_num_threads(threads)
    ashyq = dict(model_path=model, device=device, cpu_threads=threads, beam_size=config["beam"])
    ashyq["languages"] = ("kk", "ru", "en")
    if engine == "ashyq-fw":
        import workers.asr.faster.decoding
        from workers.asr.transcribe import FasterWhisperEngine

        if config.get("loops_kept"):  # the engine as it was before loop recovery
            workers.asr.faster.decoding.is_degenerate = lambda _segments: False
        batch = config.get("batch", 8)
        runner = FasterWhisperEngine(**ashyq, compute_type=config["compute"], batch_size=batch)
        runner._load()
        return runner
    if engine == "ashyq-ow":
        from workers.asr.openai_engine import OpenAIWhisperEngine

        runner = OpenAIWhisperEngine(**ashyq)
        runner._load()
        return runner
    if engine == "ow":
        from workers.asr.openai_engine import load_checkpoint

        return load_checkpoint(model, device)
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    runner = WhisperModel(model, device=device, compute_type=config["compute"], cpu_threads=threads)
    return BatchedInferencePipeline(runner) if engine == "fw-batched" else runner


def _transcribed(runner, audio: Path, samples, config: dict) -> list[tuple[float, float, str]]:
    """(start, end, text) of every segment the configuration's runner makes of ``audio`` (Ashyq's
    engines read the file, the raw libraries its ``samples``)."""
    engine = config["engine"]
    if engine in ("ashyq-fw", "ashyq-ow"):
        return [(s.start, s.end, s.text) for s in runner.transcribe(audio)]
    if engine == "ow":
        import whisper

        beam, fp16 = config["beam"], config["compute"] == "float16"
        decoding = {"beam_size": beam, "best_of": beam, "word_timestamps": config["words"]}
        result = whisper.transcribe(runner, samples, **decoding, fp16=fp16, verbose=None)
        return [(s["start"], s["end"], s["text"]) for s in result["segments"]]
    options = {"beam_size": config["beam"], "word_timestamps": config["words"]}
    if engine == "fw-batched":
        options["batch_size"] = config["batch"]
    else:
        options["vad_filter"] = config["vad"]
    if config.get("language"):
        options["language"] = config["language"]
    else:
        options["multilingual"] = True
    segments, _info = runner.transcribe(samples, **options)
    return _segments_fw(segments)


def error_rates(clips: list[dict], segments: list) -> tuple[float, float] | None:
    """WER and CER over the clips, each segment's text given to the clip its middle falls in."""
    try:
        import jiwer

        from workers.asr.evaluation import normalise
    except ImportError:  # the GPU machine has no jiwer: rebuild the report with --report-from
        return None

    hyps = ["" for _ in clips]
    for start, end, text in segments:
        middle = (start + end) / 2
        nearest = min(
            range(len(clips)),
            key=lambda i: (
                0
                if clips[i]["start"] <= middle <= clips[i]["end"] + PAUSE_S
                else min(abs(middle - clips[i]["start"]), abs(middle - clips[i]["end"]))
            ),
        )
        hyps[nearest] += " " + text

    ref = " ".join(normalise(clip["reference"]) for clip in clips)
    hyp = " ".join(normalise(text) for text in hyps)
    return jiwer.wer(ref, hyp or "-"), jiwer.cer(ref, hyp or "-")


def loops(segments: list) -> tuple[int, int]:
    """Segments whose text is a repetition loop, and segments with no text (unintelligible)."""
    from workers.asr.transcribe import is_loop

    texts = [text for _start, _end, text in segments]
    return sum(is_loop(text) for text in texts), sum(not text for text in texts)


def child(args: argparse.Namespace, audio: Path, model: str, name: str, threads: int) -> dict:
    argv = [sys.executable, "-m", "bench.asr", "--threads", str(threads), "--device", args.device]
    argv += ["--model", model, "--child", str(audio), name]
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run(argv, check=False, capture_output=True, text=True, cwd=repo)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(args: argparse.Namespace, configs: dict, models: dict, audio: Path, clips: list):
    """Every configuration ``args.runs`` times, alternating, the order rotated each round."""
    seconds = clips[-1]["end"] + PAUSE_S
    names = list(configs)
    results: dict[str, list[dict]] = {name: [] for name in names}
    failed: dict[str, str] = {}
    for run in range(args.runs):
        order = names[run % len(names) :] + names[: run % len(names)]
        for name in order:
            if name in failed:
                continue
            model = models["ow" if configs[name]["engine"] in ("ow", "ashyq-ow") else "fw"]
            try:
                result = child(args, audio, model, name, args.threads)
            except RuntimeError as exc:
                failed[name] = str(exc).splitlines()[-1]
                print(f"{name}: FAILED {failed[name]}", file=sys.stderr)
                continue
            result["load_avg"] = os.getloadavg()[0]
            results[name].append(result)
            if args.raw:  # after every run, so a cut-short run still leaves its figures
                raw = {
                    "seconds": seconds,
                    "clips": clips,
                    "threads": args.threads,
                    "results": results,
                    "failed": failed,
                }
                args.raw.write_text(json.dumps(raw))
            print(
                f"run {run + 1} {name}: {seconds / result['wall']:.1f}x",
                file=sys.stderr,
                flush=True,
            )
    return seconds, results, failed


def report(args, configs, seconds, results, failed) -> str:
    where = f"{args.device}, {args.threads} threads" if args.device == "cpu" else args.device
    languages = "+".join(sorted({clip["language"] for clip in args.clips}))
    lines = [
        f"Transcription of {seconds / 60:.1f} min built from the shared real speech clips "
        f"({languages}, {PAUSE_S} s pauses), Whisper base, {where}, medians of "
        f"{max(len(r) for r in results.values()) if results else 0} run(s) each, "
        "configurations alternated.",
        "",
        "| configuration | real-time factor | runs | load s | peak RSS MB | WER | CER "
        "| loops / unintelligible | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    if args.device == "cuda":
        lines[2:4] = [
            "| configuration | real-time factor | runs | load s | peak RSS MB | GPU MB (torch) "
            "| WER | CER | loops / unintelligible | load avg |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
    clips = args.clips
    for name in configs:
        runs = results.get(name) or []
        if not runs:
            lines.append(f"| {name} | failed: {failed.get(name, 'no run')} |")
            continue
        rtf = statistics.median(seconds / r["wall"] for r in runs)
        load = statistics.median(r["load"] for r in runs)
        rss = statistics.median(r["rss_mb"] for r in runs)
        rates = error_rates(clips, runs[0]["segments"])
        looping, unintelligible = loops(runs[0]["segments"])
        gpu = ""
        if args.device == "cuda":
            gpu = f" {statistics.median(r['gpu_mb'] for r in runs):.0f} |"
        cpu_load = statistics.median(r.get("load_avg", 0.0) for r in runs)
        rates_text = " | ".join(f"{x:.3f}" for x in rates) if rates is not None else "n/a | n/a"
        cells = f"{rtf:.2f}× | {len(runs)} | {load:.1f} | {rss:.0f} |{gpu} {rates_text}"
        cells += f" | {looping} / {unintelligible}"
        cells += f" | {cpu_load:.1f}"
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines) + "\n"


def _layout_child(audio: str, model: str, threads: int, copies: int) -> None:
    """A worker stand-in: Ashyq's faster-whisper engine transcribing ``copies`` files in a row."""
    from workers.asr.transcribe import FasterWhisperEngine

    engine = FasterWhisperEngine(
        model_path=model, cpu_threads=threads, languages=("kk", "ru", "en")
    )
    engine._load()
    for _ in range(copies):
        list(engine.transcribe(Path(audio)))


def layout(args: argparse.Namespace, audio: Path, model: str, seconds: float) -> str:
    """Audio-hours per hour on the whole machine: 1 process × 2 threads vs 2 processes × 1."""
    layouts = {"1 process × 2 threads": (1, 2), "2 processes × 1 thread (concurrent)": (2, 1)}
    jobs = 2  # files per layout, so both layouts do the same work
    found: dict[str, list[float]] = {name: [] for name in layouts}
    for run in range(args.runs):
        for name, (procs, threads) in (
            list(layouts.items()) if run % 2 == 0 else list(layouts.items())[::-1]
        ):
            argv = [sys.executable, "-m", "bench.asr", "--layout-child", str(audio), model]
            argv += [str(threads), str(jobs // procs)]
            start = time.perf_counter()
            children = [subprocess.Popen(argv) for _ in range(procs)]
            if any(c.wait() != 0 for c in children):
                raise RuntimeError(f"{name}: a worker failed")
            wall = time.perf_counter() - start
            found[name].append(jobs * seconds / wall)
            print(
                f"run {run + 1} {name}: {jobs * seconds / wall:.1f} audio-h/h, "
                f"load avg {os.getloadavg()[0]:.1f}",
                file=sys.stderr,
                flush=True,
            )
    lines = [
        f"Worker layout on {os.cpu_count()} cores: {jobs} copies of the {seconds / 60:.1f}-min "
        f"bench file through Ashyq's faster-whisper engine (int8, beam 5), model load included, "
        f"{args.runs} run(s), medians.",
        "",
        "| layout | audio-hours per hour: median (each run) |",
        "|---|---:|",
    ]
    lines += [
        f"| {name} | {statistics.median(v):.2f} ({', '.join(f'{x:.2f}' for x in v)}) |"
        for name, v in found.items()
    ]
    return "\n".join(lines) + "\n"


def prepare_models(args: argparse.Namespace, tmp: Path) -> dict[str, str]:
    """The CTranslate2 base (faster-whisper) and its openai-whisper conversion."""
    if args.model:
        fw = args.model
    else:
        from workers.asr.model_files import assemble_bundled

        fw = str(assemble_bundled(tmp / "whisper-base"))
    ow = args.openai_model
    if not ow:
        from workers.asr.ct2_convert import convert

        ow = str(tmp / "whisper-base.pt")
        convert(Path(fw), Path(ow))
    return {"fw": fw, "ow": ow}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--quick", action="store_true", help="4 rows, 1 run, 1.5 min of audio")
    parser.add_argument("--layout", action="store_true", help="measure the worker layout")
    parser.add_argument("--only", help="comma-separated configuration names")
    parser.add_argument("--model", default=None, help="CTranslate2 folder (default: bundled base)")
    parser.add_argument("--openai-model", default=None, help=".pt (default: converted --model)")
    parser.add_argument("--languages", default="en,ru", help="clips of these languages")
    parser.add_argument("--audio", type=Path, help="a bench.wav built before (with its .json)")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--raw", type=Path, help="also write every run's result here (JSON)")
    parser.add_argument("--report-from", type=Path, help="only print the report of a --raw file")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--layout-child", nargs=4, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    configs = CUDA_CONFIGS if args.device == "cuda" else CPU_CONFIGS
    if args.child:
        audio, name = args.child
        result = run_one(audio, args.model, args.threads, args.device, configs[name])
        print(json.dumps(result))
        return
    if args.layout_child:
        audio, model, threads, copies = args.layout_child
        _layout_child(audio, model, int(threads), int(copies))
        return
    if args.quick:
        args.runs, args.minutes = 1, min(args.minutes, 1.5)
        configs = {name: configs[name] for name in QUICK if name in configs} or configs
    if args.only:
        every = CUDA_CONFIGS if args.device == "cuda" else CPU_CONFIGS
        configs = {name: every[name] for name in args.only.split(",")}
    if args.report_from:
        raw = json.loads(args.report_from.read_text())
        args.clips, args.threads = raw["clips"], raw["threads"]
        configs = {name: {} for name in raw["results"]}
        print(report(args, configs, raw["seconds"], raw["results"], raw["failed"]))
        return

    with tempfile.TemporaryDirectory() as tmp:
        if args.audio:
            audio = args.audio
            clips = json.loads(args.audio.with_suffix(".json").read_text())
        else:
            languages = tuple(args.languages.split(","))
            audio, clips = build_audio(Path(tmp), args.minutes, languages)
            audio.with_suffix(".json").write_text(json.dumps(clips))
        args.clips = clips
        seconds = clips[-1]["end"] + PAUSE_S
        if args.layout:
            text = layout(args, audio, prepare_models(args, Path(tmp))["fw"], seconds)
        else:
            models = prepare_models(args, Path(tmp))
            seconds, results, failed = measure(args, configs, models, audio, clips)
            text = report(args, configs, seconds, results, failed)
    publish(text, args.output)


if __name__ == "__main__":
    main()
