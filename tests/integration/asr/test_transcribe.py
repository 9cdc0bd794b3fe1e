"""The real Whisper base model on real speech ("because ML is non-deterministic", thresholds)."""

from __future__ import annotations

import re
from pathlib import Path

import jiwer
import pytest

from tests.conftest import need_shared
from workers.asr.transcribe import FasterWhisperEngine

pytestmark = pytest.mark.whisper


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", text.lower())).strip()


@pytest.fixture(scope="module")
def engine(model_dir: str) -> FasterWhisperEngine:
    return FasterWhisperEngine(model_path=model_dir, cpu_threads=2)


def test_jfk_transcribes_with_low_word_error_rate(engine):
    """
    GIVEN JFK's inaugural excerpt (real speech) and its reference transcript
    WHEN the engine transcribes it
    THEN WER ≤ 0.15 after normalising case and punctuation, with word timings inside the clip
    """
    speech = need_shared()
    reference = (speech / "en/whisper.cpp/jfk.reference.txt").read_text()
    segments = list(engine.transcribe(speech / "en/whisper.cpp/jfk.wav"))
    hypothesis = " ".join(seg.text for seg in segments)
    wer = jiwer.wer(normalise(reference), normalise(hypothesis))
    assert wer <= 0.15, (wer, hypothesis)
    words = [w for seg in segments for w in seg.words]
    assert words and all(0 <= w.start <= w.end <= 11.5 for w in words)
    assert {seg.language for seg in segments} == {"en"}


def test_language_is_detected_per_segment_not_per_file(engine, ru_en_ru: Path):
    """
    GIVEN real Russian speech, then real English speech, then Russian again, in one file
    WHEN the engine transcribes it
    THEN every part is transcribed in its own language (nothing dropped, nothing translated)
    """
    segments = list(engine.transcribe(ru_en_ru))
    by_language: dict[str, str] = {}
    for seg in segments:
        by_language[seg.language] = by_language.get(seg.language, "") + " " + seg.text
    assert set(by_language) == {"ru", "en"}, segments
    assert "country" in by_language["en"].lower()
    assert re.search(r"[а-я]", by_language["ru"].lower())
    assert "месте" in by_language["ru"].lower()
    starts = [seg.start for seg in segments]
    assert starts == sorted(starts)
    english = [seg for seg in segments if seg.language == "en"]
    assert 4.5 <= english[0].start <= 8.0  # JFK begins 5.67 s in
