"""The openai-whisper engine (PyTorch) behind the same interface as faster-whisper.

openai-whisper detects the language once per file, from its first 30 seconds, and decodes the
whole file in it: on mixed Kazakh/Russian/English hearings that translates or drops whole parts.
So this engine cuts the recording into spans of speech of at most one
Whisper window (Silero VAD, the same detector faster-whisper uses), detects each span's language
restricted to the allowed ones, and transcribes each span in its own language. Every segment so
carries the language of the ≤ 28 s of speech it came from — the granularity faster-whisper's
per-window detection gives — and silence is never decoded (where Whisper hallucinates most).
Progress is reported after every span.

A span can still hold two languages (Russian, then English without a pause): decoded as Russian,
the English part came out as nothing. As in the faster-whisper engine, stretches that VAD calls
speech but no word covers are then transcribed again on their own, with their own language
detection, keeping only confident output ("gap repair"; on ru.wav + jfk.wav + Russian it brings
the English sentence back). The faster-whisper engine's per-segment language re-check is not done
here: openai-whisper's encoder only takes padded 30 s windows, so it would cost a full encoder
pass per segment.

Requires the ``openai-whisper`` extra (``pip install 'ashyq[openai-whisper]'``, torch 2.13 CPU).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workers.asr.engine import PIPELINE_VERSION, SAMPLE_RATE, TranscribedSegment
from workers.asr.speech import on_timeline, samples, uncovered_speech, whole_file

MAX_SPAN_S = 28.0  # one Whisper window, minus room for the speech pads
# Speech regions closer than this are decoded together: fewer, longer spans keep context.
JOIN_GAP_S = 3.0


def load_checkpoint(path: str, device: str) -> Any:
    """An openai-whisper model from a ``.pt`` file, or by name (downloaded where allowed).

    ``whisper.load_model(path)`` would ignore the alignment heads a converted checkpoint carries
    (``workers/asr/ct2_convert.py``); they decide which attention heads time the words.
    """
    import torch
    import whisper
    from whisper.model import ModelDimensions, Whisper

    if not Path(path).is_file():
        return whisper.load_model(path, device=device)
    checkpoint = torch.load(path, map_location=device, weights_only=True)
    model = Whisper(ModelDimensions(**checkpoint["dims"]))
    model.load_state_dict(checkpoint["model_state_dict"])
    heads = checkpoint.get("alignment_heads")
    if heads:
        dims = model.dims
        mask = torch.zeros(dims.n_text_layer, dims.n_text_head, dtype=torch.bool)
        for layer, head in heads:
            mask[layer, head] = True
        model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
    return model.to(device)


def speech_spans(audio: Any, use_vad: bool = True) -> list[tuple[float, float]]:
    """Spans of at most ``MAX_SPAN_S`` that hold the speech (the whole file without VAD)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    duration = len(audio) / SAMPLE_RATE
    if not use_vad:
        regions = [(0.0, duration)]
    else:
        options = VadOptions(max_speech_duration_s=MAX_SPAN_S, speech_pad_ms=200)
        regions = [
            (r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE)
            for r in get_speech_timestamps(audio, options)
        ]
    spans: list[list[float]] = []
    for lo, hi in regions:
        while hi - lo > MAX_SPAN_S:  # only without VAD: fixed windows
            spans.append([lo, lo + MAX_SPAN_S])
            lo += MAX_SPAN_S
        if spans and lo - spans[-1][1] <= JOIN_GAP_S and hi - spans[-1][0] <= MAX_SPAN_S:
            spans[-1][1] = hi
        else:
            spans.append([lo, hi])
    return [(round(lo, 3), round(min(hi, duration), 3)) for lo, hi in spans if hi > lo]


@dataclass
class OpenAIWhisperEngine:
    """openai-whisper on CPU (float32) or CUDA (float16); the model is loaded once per process."""

    model_path: str
    device: str = "cpu"
    beam_size: int = 5
    cpu_threads: int = 0
    language: str | None = None
    languages: tuple[str, ...] = ()
    vad: bool = True
    _model: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def model_id(self) -> str:
        name = Path(self.model_path).stem if self.model_path.endswith(".pt") else self.model_path
        precision = "fp16" if self.device.startswith("cuda") else "fp32"
        langs = "+".join(self.languages) or "any"
        return f"openai-whisper:{name}:{precision}:beam{self.beam_size}:{langs}:v{PIPELINE_VERSION}"

    def _load(self) -> Any:
        if self._model is None:
            if self.cpu_threads > 0:
                import torch

                torch.set_num_threads(self.cpu_threads)
            self._model = load_checkpoint(self.model_path, self.device)
        return self._model

    def transcribe(
        self, audio_path: Path, on_progress: Callable[[float], None] | None = None
    ) -> Iterator[TranscribedSegment]:
        yield from whole_file(
            self._lock, audio_path, on_progress, lambda audio: self._spans(audio, on_progress)
        )

    def _spans(
        self, audio: Any, on_progress: Callable[[float], None] | None
    ) -> list[TranscribedSegment]:
        """Each span of speech decoded in its own language, then gap repair."""
        model = self._load()
        duration = len(audio) / SAMPLE_RATE
        found: list[TranscribedSegment] = []
        for start, end in speech_spans(audio, self.vad):
            clip = samples(audio, start, end)
            language = self.language or self._detect(model, clip)
            found.extend(self._decode(model, clip, start, language))
            if on_progress is not None and duration > 0:
                on_progress(min(0.95, end / duration))
        for start, end in uncovered_speech(audio, found):
            clip = samples(audio, start, end)
            language = self.language or self._detect(model, clip)
            found.extend(self._decode(model, clip, start, language, strict=True))
        return found

    def transcribe_array(
        self, audio: Any, offset: float, language: str | None
    ) -> list[TranscribedSegment]:
        """One span of 16 kHz samples in a fixed language (used when routing by language)."""
        with self._lock:
            model = self._load()
            return self._decode(model, audio, offset, language or self._detect(model, audio))

    def _detect(self, model: Any, clip: Any) -> str:
        """The most likely allowed language of a clip (one encoder pass on its padded window)."""
        import whisper

        if not model.is_multilingual:
            return "en"
        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(clip), n_mels=model.dims.n_mels).to(
            model.device
        )
        if self.device.startswith("cuda"):
            mel = mel.half()
        _tokens, probs = model.detect_language(mel)
        allowed = {code: p for code, p in probs.items() if code in self.languages}
        return max(allowed or probs, key=(allowed or probs).get)

    def _decode(
        self, model: Any, clip: Any, offset: float, language: str, strict: bool = False
    ) -> list[TranscribedSegment]:
        import whisper

        result = whisper.transcribe(
            model,
            clip,
            language=language,
            task="transcribe",
            beam_size=self.beam_size,
            best_of=self.beam_size,
            word_timestamps=True,
            condition_on_previous_text=False,
            fp16=self.device.startswith("cuda"),
            verbose=None,
        )
        found = (
            on_timeline(
                offset,
                float(seg["start"]),
                float(seg["end"]),
                seg["text"],
                (
                    (float(w["start"]), float(w["end"]), w["word"], float(w["probability"]))
                    for w in seg.get("words", [])
                ),
                no_speech_prob=float(seg["no_speech_prob"]),
                avg_logprob=float(seg["avg_logprob"]),
                language=language,
                strict=strict,
            )
            for seg in result["segments"]
        )
        return [segment for segment in found if segment is not None]
