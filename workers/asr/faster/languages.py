"""The language of each stretch of speech, told before decoding and checked after it.

The encoder runs on each region's first seconds unpadded (CTranslate2 accepts short inputs;
batched, see ``language_rankings``) and names its language among the allowed ones; regions too
short or unsure take their neighbour's. After decoding, segments that no region's detection heard
(a language switch without a pause) have their own language told, and one decoded in the wrong
language shows it in its script (English speech decoded as Russian comes out in Latin letters):
those are decoded again in their language, together (``rechecked``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workers.asr.engine import TranscribedSegment
from workers.asr.faster.decoding import Decoder
from workers.asr.faster.layout import (
    RUN_MAX_PAUSE_S,
    RUN_PAD_S,
    Run,
    Span,
    covered,
    language_at,
    merged,
    streams,
)
from workers.asr.faster.packing import packed
from workers.asr.speech import samples

DETECT_MIN_S = 1.5  # regions shorter than this take their neighbour's language (1 s: p ≈ 0.1)
DETECT_MAX_S = 3.0  # a region's language is told from its first seconds (encoder cost ~ length)
DETECT_BATCH = 16  # regions encoded together for language detection
VERIFY_MIN_PROB = 0.5  # a region's detection must be this sure, else it takes its neighbour's
# Detection is judged among the allowed languages: Whisper base gives real Kazakh speech most of
# its probability for languages it knows better (lt, lv, tr), so "kk" scored 0.09 and 0.24 on
# the shared kk clips while every other allowed language had under 0.01 — and never reached
# VERIFY_MIN_PROB, so Kazakh regions took their Russian neighbours' language. Each allowed
# language's probability is taken as its share of the allowed languages' total, as long as that
# total is at least ALLOWED_MIN_MASS (below it, the clip sounds like none of them: unsure) —
# for regions of speech only (``region_languages``). Measured on the shared kk clips: Kazakh
# regions' allowed totals were 0.08–0.47 (kk first); kzaudio_1's first seconds gave en 0.051,
# ru 0.006, kk 0.005 — 0.062 in all, which a 0.05 floor took for English and transcribed as such.
ALLOWED_MIN_MASS = 0.07
# The script each language is written in, to catch a segment decoded in the wrong language.
SCRIPTS = {
    **dict.fromkeys(("en", "de", "fr", "es", "it", "pt", "nl", "pl", "tr", "uz"), "latin"),
    **dict.fromkeys(("ru", "kk", "uk", "be", "ky", "tg", "mn", "bg"), "cyrillic"),
}


class AllowedLanguages:
    """Wraps CTranslate2's Whisper so language detection only ever answers an allowed language.

    faster-whisper picks the first entry of ``detect_language``'s ranking; filtering the ranking
    restricts every detection (per window, per gap-repair span) to the allowed set.
    """

    def __init__(self, model: Any, allowed: tuple[str, ...]) -> None:
        self._model = model
        self._tokens = {f"<|{code}|>" for code in allowed}

    def detect_language(self, *args: Any, **kwargs: Any) -> list[list[tuple[str, float]]]:
        ranked = self._model.detect_language(*args, **kwargs)
        kept = []
        for ranking in ranked:
            allowed = [(token, p) for token, p in ranking if token in self._tokens]
            kept.append(allowed or ranking)
        return kept

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def region_languages(decoder: Decoder, audio: Any, regions: list[Span]) -> list[str | None]:
    """Each region's language told from its first ``DETECT_MAX_S`` (encoder on the unpadded
    audio, batched), or None where the region is too short or the answer too unsure."""
    if decoder.language is not None:
        return [decoder.language] * len(regions)
    told = [(start, end) for start, end in regions if end - start >= DETECT_MIN_S]
    clips = [samples(audio, start, min(end, start + DETECT_MAX_S)) for start, end in told]
    # Shares among the allowed languages here only: a region is VAD speech of 1.5 s or more.
    # Gap repair and the recheck judge short or mostly silent clips, where a share is high
    # on next to nothing ("It was a good one." heard in a Russian clip's trailing second).
    shares = [_shares(ranking)[0] for ranking in language_rankings(decoder.model, clips)]
    detected = dict(zip(told, shares, strict=True))
    languages: list[str | None] = []
    for region in regions:
        language, probability = detected.get(region, (None, 0.0))
        languages.append(language if probability >= VERIFY_MIN_PROB else None)
    return languages


def gap_languages(decoder: Decoder, audio: Any, runs: list[Run], gaps: list[Span]) -> list[Run]:
    """Each stretch of speech no word covers, with the language to try it in: its own where
    detection is sure (words a wrong-language pass dropped), else its run's."""
    if decoder.language is not None:
        return [(start, end, decoder.language) for start, end in gaps]
    clips = [_opening(audio, start, end) for start, end in gaps]
    result = []
    for (start, end), (language, probability) in zip(
        gaps, detect_languages(decoder.model, clips), strict=True
    ):
        if probability < VERIFY_MIN_PROB:
            language = language_at(runs, start, end)
        result.append((start, end, language))
    return result


def _opening(audio: Any, start: float, end: float) -> Any:
    """The samples a stretch's language is told from: its first ``DETECT_MAX_S``, and at least
    ``DETECT_MIN_S`` (a shorter stretch is heard with what follows it)."""
    return samples(audio, start, start + min(max(end - start, DETECT_MIN_S), DETECT_MAX_S))


def rechecked(
    decoder: Decoder,
    audio: Any,
    heard: list[Span],
    found: list[TranscribedSegment],
) -> list[TranscribedSegment]:
    """Check again the segments that no region's detection heard (most of them).

    A region's language is told from its first ``DETECT_MAX_S``, and a short region takes
    its neighbour's; when two languages follow each other without a pause (clips joined, a
    speaker switching mid-breath), the later part was decoded in the wrong language. Only
    those segments are checked (batched), and the ones another language claims are
    transcribed again in it, together. Returns the segments in time order.
    """
    suspects = [
        seg for seg in found if covered(heard, seg.start, seg.end) < 0.5 * (seg.end - seg.start)
    ]
    if not suspects:
        return found
    found = sorted(found, key=lambda seg: seg.start)
    language_of = _judged(decoder.model, audio, suspects, found)
    wrong = {
        id(seg): language_of[id(seg)] for seg in suspects if language_of[id(seg)] != seg.language
    }
    if not wrong:
        return found
    kept = [seg for seg in found if id(seg) not in wrong]
    redo = [
        (max(0.0, seg.start - RUN_PAD_S), seg.end + RUN_PAD_S, wrong[id(seg)])
        for seg in found
        if id(seg) in wrong
    ]
    for language, spans in streams(merged(redo)):
        kept.extend(packed(decoder, audio, spans, language))
    return sorted(kept, key=lambda seg: seg.start)


def _judged(
    model: Any,
    audio: Any,
    suspects: list[TranscribedSegment],
    found: list[TranscribedSegment],
) -> dict[int, str | None]:
    """The language each of ``found`` (in time order) is in, by ``id``: its own, unless it is
    a suspect whose script or sure detection says otherwise, or an unsure suspect between two
    segments of one other language."""
    clips = [_opening(audio, seg.start, seg.end) for seg in suspects]
    language_of = {id(seg): seg.language for seg in found}
    unsure = []
    for seg, ranking in zip(suspects, language_rankings(model, clips), strict=True):
        language, probability = ranking[0]
        script, expected = script_of(seg.text), SCRIPTS.get(seg.language or "")
        if script and expected and script != expected:
            # Decoded in a language its text is not written in (English speech decoded as
            # Russian comes out in Latin letters): the best language of that script.
            fitting = [code for code, _p in ranking if SCRIPTS.get(code) == script]
            if fitting:
                language_of[id(seg)] = fitting[0]
                continue
        if probability >= VERIFY_MIN_PROB:
            language_of[id(seg)] = language
        else:
            unsure.append(seg)
    _take_neighbours(found, unsure, language_of)
    return language_of


def _take_neighbours(
    found: list[TranscribedSegment],
    unsure: list[TranscribedSegment],
    language_of: dict[int, str | None],
) -> None:
    """An unsure segment between two segments of one other language (once those are
    corrected) is taken to be in theirs, as an unsure region takes its neighbour's."""
    position = {id(seg): i for i, seg in enumerate(found)}
    for seg in unsure:
        i = position[id(seg)]
        if 0 < i < len(found) - 1:
            before, after = found[i - 1], found[i + 1]
            side = {language_of[id(before)], language_of[id(after)]}
            gap = max(seg.start - before.end, after.start - seg.end)
            if len(side) == 1 and gap <= RUN_MAX_PAUSE_S:
                language_of[id(seg)] = side.pop()


def detect_languages(model: Any, clips: list[Any]) -> list[tuple[str, float]]:
    """The most likely allowed language of each clip, and its probability."""
    return [ranking[0] for ranking in language_rankings(model, clips)]


def language_rankings(model: Any, clips: list[Any]) -> list[list[tuple[str, float]]]:
    """The allowed languages of each clip, most likely first, with their probabilities.

    The clips are encoded in batches of similar length, padded with silence to the longest of
    the batch: one encoder call costs ~40 ms before it reads a frame (base, 2 cores), so one
    call per short region would cost more than the regions themselves, while much padding
    blurs a short clip's answer.
    """
    import ctranslate2

    found: list[list[tuple[str, float]]] = [[] for _clip in clips]
    order = sorted(range(len(clips)), key=lambda i: len(clips[i]))  # little padding per batch
    for first in range(0, len(order), DETECT_BATCH):
        batch = order[first : first + DETECT_BATCH]
        length = max(len(clips[i]) for i in batch)
        features = np.stack(
            [model.feature_extractor(np.pad(clips[i], (0, length - len(clips[i])))) for i in batch]
        )
        storage = ctranslate2.StorageView.from_array(
            np.ascontiguousarray(features.astype(np.float32))
        )
        encoded = model.model.encode(storage, to_cpu=False)
        for i, ranking in zip(batch, model.model.detect_language(encoded), strict=True):
            found[i] = [(token[2:-2], probability) for token, probability in ranking]
    return found


def _shares(ranking: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The ranking's probabilities as shares of its total (see ``ALLOWED_MIN_MASS``). Where the
    engine allows every language the ranking is all of Whisper's languages and sums to ~1."""
    total = sum(probability for _language, probability in ranking)
    if total < ALLOWED_MIN_MASS:
        return ranking
    return [(language, probability / total) for language, probability in ranking]


def script_of(text: str) -> str | None:
    """ "latin" or "cyrillic" when most of ``text``'s letters are in that script."""
    latin = sum(1 for ch in text if ch.isalpha() and ch.isascii())
    cyrillic = sum(1 for ch in text if "\u0400" <= ch <= "\u04ff")
    letters = sum(1 for ch in text if ch.isalpha())
    if letters and latin >= 0.7 * letters:
        return "latin"
    if letters and cyrillic >= 0.7 * letters:
        return "cyrillic"
    return None
