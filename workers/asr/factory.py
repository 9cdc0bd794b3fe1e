"""The one place an engine is made from settings: ingest, live capture, evaluation and the CLI.

A loaded Whisper model holds hundreds of MB and takes seconds to load, so each configuration's
engine is made once per process and kept (``functools.lru_cache``); with per-language models
(``whisper_language_models``) a router over the cached engines is returned.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from archive.settings import Settings
from workers.asr.engine import Engine, SpanEngine
from workers.asr.faster.engine import FasterWhisperEngine
from workers.asr.model_files import resolve_model, resolve_openai_model
from workers.asr.openai_engine import OpenAIWhisperEngine
from workers.asr.routing import RoutedEngine


def make_engine(settings: Settings, *, beam_size: int | None = None) -> Engine:
    """The configured engine; with per-language models, a router over them.

    ``beam_size`` overrides ``whisper_beam_size`` (the live capture decodes with
    ``live_beam_size``, trading accuracy for keeping up).
    """
    beam = settings.whisper_beam_size if beam_size is None else beam_size
    default = _one(settings, settings.whisper_model, beam)
    if not settings.whisper_language_models:
        return default
    routes = {
        language: _one(settings, name, beam)
        for language, name in settings.whisper_language_models.items()
    }
    return RoutedEngine(default, routes)


def _one(settings: Settings, name: str, beam_size: int) -> SpanEngine:
    """The engine for one model name or path, from the cache."""
    common: dict[str, Any] = {
        "device": settings.whisper_device,
        "beam_size": beam_size,
        "cpu_threads": settings.whisper_threads,
        "languages": tuple(settings.whisper_languages),
    }
    if settings.whisper_engine == "openai-whisper":
        return _cached(
            settings.whisper_engine, resolve_openai_model(name, settings.models_dir), **common
        )
    return _cached(
        settings.whisper_engine,
        resolve_model(name, settings.models_dir),
        compute_type=settings.whisper_compute_type,
        batch_size=settings.whisper_batch_size,
        **common,
    )


@lru_cache(maxsize=8)
def _cached(kind: str, model_path: str, **config: Any) -> SpanEngine:
    """One engine (and so one loaded model) per process and configuration."""
    if kind == "openai-whisper":
        return OpenAIWhisperEngine(model_path=model_path, **config)
    return FasterWhisperEngine(model_path=model_path, **config)
