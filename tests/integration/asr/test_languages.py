"""The spoken language of every segment: detected per segment, restricted, routed, filterable."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from archive.db import session_scope
from archive.models import Segment
from search.meili.client import master_client
from search.meili.query import search_segments
from tests.conftest import need_shared
from tests.support.helpers import wait_job
from tests.support.media_factory import duration, ffmpeg
from workers.asr.transcribe import FasterWhisperEngine, RoutedEngine
from workers.services.submit import submit_file

pytestmark = pytest.mark.whisper


def concat(clips: list[Path], target: Path) -> list[tuple[float, float]]:
    """Join clips (any rate, any channels) into 16 kHz mono; returns each clip's time range."""
    inputs, chains = [], []
    for i, clip in enumerate(clips):
        inputs += ["-i", str(clip)]
        chains.append(f"[{i}:a]aresample=16000,pan=mono|c0=c0[a{i}]")
    graph = ";".join(chains) + ";" + "".join(f"[a{i}]" for i in range(len(clips)))
    graph += f"concat=n={len(clips)}:v=0:a=1"
    ffmpeg(*inputs, "-filter_complex", graph, "-ar", "16000", "-ac", "1", str(target))
    ranges, at = [], 0.0
    for clip in clips:
        length = duration(clip)
        ranges.append((at, at + length))
        at += length
    return ranges


def test_alternating_russian_and_english_drops_nothing(engine, tmp_path):
    """
    GIVEN real Russian and English clips alternating, several of each, in one file
    WHEN it is transcribed
    THEN every clip has segments, and each clip's segments carry its language
    """
    speech = need_shared()
    ru1, ru2 = speech / "ru/deepspeech/ru.wav", speech / "ru/pisets/test_sound_ru.wav"
    en1, en2 = speech / "en/whisper.cpp/jfk.wav", speech / "en/mfa/61-70968-0000.flac"
    clips = [ru1, en1, ru2, en2, ru1, en1]
    languages = ["ru", "en", "ru", "en", "ru", "en"]
    ranges = concat(clips, tmp_path / "alternating.wav")
    segments = list(engine.transcribe(tmp_path / "alternating.wav"))
    for (start, end), language, clip in zip(ranges, languages, clips, strict=True):
        inside = [s for s in segments if start - 0.3 <= (s.start + s.end) / 2 <= end + 0.3]
        assert inside, f"{clip.name} at {start:.1f}-{end:.1f}s was dropped: {segments}"
        assert {s.language for s in inside} == {language}, (clip.name, inside)


def test_language_routing_sends_each_language_to_its_model(model_dir, tmp_path):
    """
    GIVEN a router whose Russian route is a separate engine
    WHEN a Russian + English file is transcribed
    THEN the Russian span is transcribed by the Russian engine, English by the default
    """
    speech = need_shared()
    concat([speech / "ru/deepspeech/ru.wav", speech / "en/whisper.cpp/jfk.wav"], tmp_path / "m.wav")

    class Counting(FasterWhisperEngine):
        spans: list[str]

        def transcribe_array(self, audio, offset, language):
            self.spans.append(language)
            return super().transcribe_array(audio, offset, language)

    russian = Counting(model_path=model_dir, cpu_threads=2, compute_type="float32")
    russian.spans = []
    default = FasterWhisperEngine(model_path=model_dir, cpu_threads=2, languages=("ru", "en"))
    routed = RoutedEngine(default, {"ru": russian})
    segments = list(routed.transcribe(tmp_path / "m.wav"))
    assert russian.spans == ["ru"]
    assert segments[0].language == "ru" and segments[-1].language == "en"
    assert "месте" in " ".join(s.text for s in segments if s.language == "ru").lower()
    assert "float32" in routed.model_id


def test_kazakh_and_russian_recording_is_tagged_and_filterable(archive, worker, web, tmp_path):
    """
    GIVEN a recording concatenated from real Kazakh and Russian clips
    WHEN it is ingested
    THEN its segments carry both kk and ru, and a language filter returns only that language
    """
    speech = need_shared()
    clips = [
        speech / "kk/kaz-asr-codeswitch/audio/kzaudio_12.wav",
        speech / "ru/deepspeech/ru.wav",
        speech / "kk/is2ai_kscd/example_1.wav",
        speech / "ru/pisets/test_sound_ru.wav",
    ]
    path = tmp_path / "kk-ru.wav"
    concat(clips, path)
    job = wait_job(
        archive, submit_file(archive, path, title="Сессия", body="senat", when="2026-02-02")
    )
    assert job.state == "succeeded", job.error
    with session_scope(archive.db_url) as session:
        stored = session.scalars(select(Segment).where(Segment.recording_id == job.recording_id))
        by_language: dict[str, int] = {}
        russian_words: list[str] = []
        for seg in stored:
            by_language[seg.language] = by_language.get(seg.language, 0) + 1
            if seg.language == "ru":
                russian_words += re.findall(r"\w{4,}", seg.text)
    assert {"kk", "ru"} <= set(by_language), by_language
    client = master_client(archive)
    for language, count in by_language.items():
        page = search_segments(client, archive.meili_index, "", language=language, per_page=100)
        assert page.total == count
        assert {hit.language for hit in page.hits} == {language}

    word = russian_words[0]
    api = httpx.get(f"{web}/api/v1/search", params={"q": word, "language": "ru"}).json()
    assert api["total"] >= 1 and {hit["language"] for hit in api["hits"]} == {"ru"}
    assert api["facets"]["language"]["ru"] >= 1
    html = httpx.get(f"{web}/search", params={"q": word}).text
    assert "language=ru" in html  # the facet link
