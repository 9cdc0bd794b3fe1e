"""A degenerate decode — a repetition loop, or a window Whisper would sample again — and the
attempts that decode such a stretch once more.

Batched windows decode at temperature 0 without Whisper's fallbacks, and on real Kazakh speech
one came out as "оңдай, оңдай, оңдай, …" for a whole window. Whisper's own test is the zlib
compression ratio of a window's text (``compression_ratio_threshold``, 2.4); a short loop ("дай,
дай, дай, дай, дай, дай, дай" on a 0.8 s burst of noise) compresses too little to cross it, so a
word n-gram said ``LOOP_REPEATS`` times in a row counts too. Real speech does repeat a word:
"some more words, words, words, words" in the shared en/mfa/acoustic_corpus clip came out with
five.
"""

from __future__ import annotations

import re
from typing import Any

MAX_COMPRESSION_RATIO = 2.4
LOOP_REPEATS = 6
LOOP_MAX_NGRAM = 4
# Recovery decodes a degenerate stretch on its own, sequentially, with CTranslate2's repetition
# controls (never used on clean speech: they forbid real repeats too): first one beam search at
# temperature 0, then, where that still loops, Whisper's temperature fallbacks (sampling while
# the text compresses too well or its average log-probability is below -1). Measured on the
# shared Kazakh clips joined into one file (bench.asr --languages kk, CER): no 4-gram repeated
# and penalty 1.1, 0.401; no 3-gram and penalty 1.2, 0.453 (the penalty pushed Kazakh words into
# capitals and rare letters); no 6-gram alone, 0.632 (loops of short words); the fallbacks before
# the controls, as the raw library decodes, 0.471 and slower.
FALLBACK_TEMPERATURES = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
_REPETITION_CONTROLS = {"no_repeat_ngram_size": 4, "repetition_penalty": 1.1}
RECOVERY_ATTEMPTS: tuple[dict[str, Any], ...] = (
    {"temperature": 0.0, **_REPETITION_CONTROLS},
    {"temperature": FALLBACK_TEMPERATURES, **_REPETITION_CONTROLS},
)
# A window Whisper itself would sample again: its average log-probability below -1
# (``log_prob_threshold``) unless it is likely silence (``no_speech_threshold``). It is decoded
# again as the raw library decodes (the temperature fallbacks alone), then as a loop is, if the
# result loops. None of the bench file's English and Russian windows fell below it; most of
# the Kazakh ones did.
MIN_AVG_LOGPROB = -1.0
MAX_NO_SPEECH = 0.6
UNSURE_ATTEMPTS: tuple[dict[str, Any], ...] = (
    {"temperature": FALLBACK_TEMPERATURES},
    *RECOVERY_ATTEMPTS,
)
_WORDS = re.compile(r"\w+")


def is_loop(text: str) -> bool:
    """Whether ``text`` is a repetition loop: it compresses better than Whisper accepts
    (faster-whisper's ``get_compression_ratio``, zlib), or a word or a phrase of up to
    ``LOOP_MAX_NGRAM`` words comes ``LOOP_REPEATS`` times in a row."""
    from faster_whisper.transcribe import get_compression_ratio

    text = text.strip()
    if not text:
        return False
    if get_compression_ratio(text) > MAX_COMPRESSION_RATIO:
        return True
    words = _WORDS.findall(text.lower())
    for n in range(1, LOOP_MAX_NGRAM + 1):
        for first in range(len(words) - n * LOOP_REPEATS + 1):
            gram = words[first : first + n]
            if all(
                words[first + k * n : first + (k + 1) * n] == gram for k in range(1, LOOP_REPEATS)
            ):
                return True
    return False


def is_unsure(segments: list[Any]) -> bool:
    """Whether Whisper would sample a window again (its segments share the window's scores)."""
    return bool(segments) and (
        segments[0].avg_logprob < MIN_AVG_LOGPROB and segments[0].no_speech_prob <= MAX_NO_SPEECH
    )


def is_degenerate(segments: list[Any]) -> bool:
    """Whether a window's decode loops, in one of its segments or across them (the window's
    whole text: Whisper's own test is per window)."""
    return any(is_loop(seg.text) for seg in segments) or is_loop(
        " ".join(seg.text.strip() for seg in segments)
    )
