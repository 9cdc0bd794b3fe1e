"""The second engine: openai-whisper on weights converted from the bundled CTranslate2 base."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jiwer
import pytest

from archive.settings import Settings
from tests.conftest import REPO, need_shared
from tests.integration.asr.test_transcribe import normalise

pytest.importorskip("whisper", reason="the openai-whisper extra is not installed")
pytestmark = pytest.mark.whisper


@pytest.fixture(scope="module")
def checkpoint(model_dir: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled base converted by the real CLI: ``ashyq models convert CT2_DIR OUT.pt``."""
    out = tmp_path_factory.mktemp("openai") / "whisper-base.pt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASHYQ_")}
    argv = [sys.executable, "-m", "cli.main", "models", "convert", model_dir, str(out)]
    done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "6+6 layers" in done.stdout
    return out


def test_converted_checkpoint_transcribes_jfk_like_faster_whisper_fp32(checkpoint, model_dir):
    """
    GIVEN the bundled CTranslate2 base converted to an openai-whisper checkpoint
    WHEN plain ``whisper.load_model(path)`` and faster-whisper (float32) transcribe JFK, beam 5
    THEN the transcripts agree (WER between them ≤ 0.05) and match the reference
    """
    import torch
    import whisper
    from faster_whisper import WhisperModel

    speech = need_shared()
    clip = speech / "en/whisper.cpp/jfk.wav"
    torch.set_num_threads(2)
    model = whisper.load_model(str(checkpoint), device="cpu")
    assert model.dims.n_audio_layer == 6 and model.dims.n_vocab == 51865
    ours = model.transcribe(str(clip), language="en", beam_size=5, best_of=5, fp16=False)["text"]
    reference_engine = WhisperModel(model_dir, compute_type="float32", cpu_threads=2)
    segments, _ = reference_engine.transcribe(str(clip), language="en", beam_size=5)
    theirs = " ".join(seg.text for seg in segments)
    assert jiwer.wer(normalise(theirs), normalise(ours)) <= 0.05, (theirs, ours)
    reference = (speech / "en/whisper.cpp/jfk.reference.txt").read_text()
    assert jiwer.wer(normalise(reference), normalise(ours)) <= 0.1, ours


def test_openai_engine_through_the_pipeline_interface(model_dir, ru_en_ru: Path, tmp_path: Path):
    """
    GIVEN settings choosing the openai-whisper engine with the CTranslate2 base folder as model
    WHEN the one engine factory (``make_engine``, which the pipeline uses) builds the engine and
         it transcribes Russian, English (JFK, no pause between) and Russian speech
    THEN the folder was converted once into the archive's models folder, every part comes out in
         its own language with word timings inside its segment, and progress rises to 1.0
    """
    from workers.asr.factory import make_engine

    settings = Settings(
        data_dir=tmp_path / "data",
        whisper_engine="openai-whisper",
        whisper_model=model_dir,
        whisper_cpu_threads=2,
    )
    engine = make_engine(settings)
    assert engine.model_id.startswith("openai-whisper:whisper-base:fp32:beam5:kk+ru+en")
    assert (settings.models_dir / "whisper-base.pt").is_file()

    fractions: list[float] = []
    segments = list(engine.transcribe(ru_en_ru, fractions.append))
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0

    by_language: dict[str, str] = {}
    for seg in segments:
        by_language[seg.language] = by_language.get(seg.language, "") + " " + seg.text
        assert seg.words, seg
        assert all(seg.start - 0.5 <= w.start <= w.end <= seg.end + 0.5 for w in seg.words)
    assert set(by_language) == {"ru", "en"}, segments
    assert "country" in by_language["en"].lower()
    assert "месте" in by_language["ru"].lower()
    english = [seg for seg in segments if seg.language == "en"]
    assert 4.5 <= english[0].start <= 8.0  # JFK begins 5.67 s in
    assert [seg.start for seg in segments] == sorted(seg.start for seg in segments)
