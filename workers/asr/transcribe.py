"""Speech to timestamped text: the front door that the pipeline, the live capture and tests use.

What an engine is and gives lives in ``workers.asr.engine``; the faster-whisper engine and its
parts (language per stretch of speech, batched windows, loop recovery) in ``workers.asr.faster``;
the openai-whisper engine in ``workers.asr.openai_engine``; the router over per-language models in
``workers.asr.routing``; and the one way to make an engine from settings in
``workers.asr.factory``. Callers import from here, so those rooms can be rearranged freely.
"""

from __future__ import annotations

from workers.asr.engine import (
    PIPELINE_VERSION,
    SAMPLE_RATE,
    Engine,
    SpanEngine,
    TranscribedSegment,
    Word,
)
from workers.asr.factory import make_engine
from workers.asr.faster.engine import FasterWhisperEngine
from workers.asr.faster.loops import is_loop
from workers.asr.routing import RoutedEngine
from workers.asr.speech import speech_regions, uncovered_speech

__all__ = [
    "PIPELINE_VERSION",
    "SAMPLE_RATE",
    "Engine",
    "FasterWhisperEngine",
    "RoutedEngine",
    "SpanEngine",
    "TranscribedSegment",
    "Word",
    "is_loop",
    "make_engine",
    "speech_regions",
    "uncovered_speech",
]
