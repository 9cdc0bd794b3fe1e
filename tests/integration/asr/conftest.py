"""What the engine tests share: audio built once per session from the shared real speech clips,
and the engine as the archive runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import need_shared
from tests.support.media_factory import ffmpeg
from workers.asr.transcribe import FasterWhisperEngine


@pytest.fixture(scope="session")
def ru_en_ru(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real Russian speech, then real English (JFK) with no pause between, then Russian again,
    16 kHz mono: a file that a language told once per file would partly translate or drop."""
    speech = need_shared()
    mix = tmp_path_factory.mktemp("speech") / "ru_en_ru.wav"
    ffmpeg(
        *("-i", str(speech / "ru/deepspeech/ru.wav")),
        *("-i", str(speech / "en/whisper.cpp/jfk.wav")),
        *("-i", str(speech / "ru/pisets/test_sound_ru.wav")),
        *("-filter_complex", "[0:a][1:a][2:a]concat=n=3:v=0:a=1"),
        *("-ar", "16000", "-ac", "1", str(mix)),
    )
    return mix


@pytest.fixture(scope="module")
def engine(model_dir: str) -> FasterWhisperEngine:
    """faster-whisper allowed Kazakh, Russian and English, as the archive runs it (one per module:
    a test may tune it); test_transcribe.py overrides it with one told no languages."""
    return FasterWhisperEngine(model_path=model_dir, cpu_threads=2, languages=("kk", "ru", "en"))
