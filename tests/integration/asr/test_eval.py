"""`ashyq eval asr`: its figures equal jiwer's, computed here independently."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import jiwer
import pytest

from tests.conftest import REPO, need_shared
from workers.asr.evaluation import normalise
from workers.asr.transcribe import FasterWhisperEngine

pytestmark = pytest.mark.whisper


def test_eval_command_matches_jiwer_on_a_two_clip_manifest(model_dir, tmp_path):
    """
    GIVEN a manifest of two real clips (English, Russian) with references
    WHEN `ashyq eval asr` runs on it
    THEN its Markdown table shows, per language, the WER and CER that jiwer gives on the same
    transcripts normalised independently here, and its --details file holds one JSON line per
    clip with that reference, hypothesis and those rates
    """
    speech = need_shared()
    for name in ("jfk.wav", "ru.wav"):
        source = speech / ("en/whisper.cpp" if name == "jfk.wav" else "ru/deepspeech") / name
        shutil.copy(source, tmp_path / name)
    manifest = tmp_path / "MANIFEST.tsv"
    manifest.write_text(
        "file\tlanguage\tduration_seconds\ttranscript\n"
        "jfk.wav\ten\t11\tAnd so, my fellow Americans: ask not what your country can do for you,"
        " ask what you can do for your country.\n"
        "ru.wav\tru\t5.7\t[noise] Бедняга! Ребят, на его месте должен был быть я.\n",
        encoding="utf-8",
    )
    table, details = tmp_path / "eval.md", tmp_path / "details.jsonl"
    env = {"ASHYQ_WHISPER_MODEL": model_dir, "ASHYQ_WHISPER_CPU_THREADS": "2", "PATH": "/usr/bin"}
    argv = [sys.executable, "-m", "cli.main", "eval", "asr", str(manifest)]
    argv += ["--output", str(table), "--details", str(details)]
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    engine = FasterWhisperEngine(model_path=model_dir, cpu_threads=2, languages=("kk", "ru", "en"))

    def mine(text: str) -> str:  # an independent normalisation, as the issue describes it
        text = re.sub(r"\[[^\]]*\]", " ", text.lower().replace("ё", "е"))
        return " ".join(re.findall(r"\w+", text))

    lines = [json.loads(line) for line in details.read_text(encoding="utf-8").splitlines()]
    assert [(d["file"], d["language"]) for d in lines] == [("jfk.wav", "en"), ("ru.wav", "ru")]
    rows: dict[str, tuple[float, float]] = {}
    for line in table.read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and cells[0] in ("en", "ru"):
            rows[cells[0]] = (float(cells[2]), float(cells[3]))
    for name, language, reference in (
        ("jfk.wav", "en", manifest.read_text().splitlines()[1].split("\t")[3]),
        ("ru.wav", "ru", manifest.read_text().splitlines()[2].split("\t")[3]),
    ):
        hypothesis = " ".join(seg.text for seg in engine.transcribe(tmp_path / name))
        wer = jiwer.wer(mine(reference), mine(hypothesis))
        cer = jiwer.cer(mine(reference), mine(hypothesis))
        assert rows[language] == (round(wer, 3), round(cer, 3)), (language, hypothesis)
        line = next(d for d in lines if d["language"] == language)
        assert (line["reference"], line["hypothesis"]) == (mine(reference), mine(hypothesis))
        assert (line["wer"], line["cer"]) == (round(wer, 4), round(cer, 4))
        assert mine(reference) == normalise(reference)
