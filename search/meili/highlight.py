"""Hits as people read them: which characters of the original text matched (whichever form,
original, folded or stemmed, did), that text as HTML with ``<mark>``, cropped around the match,
and the second the first matched word is spoken."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from search.text.folding import folded_word_index, original_spans


def _char_offset(text: str, byte_offset: int) -> int:
    """Meilisearch reports UTF-8 byte offsets; Python strings index characters."""
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", "ignore"))


def match_spans(doc: dict[str, Any]) -> list[tuple[int, int]]:
    """Character spans of the original text to highlight, from any of the matched forms."""
    text = doc["text"]
    positions = doc.get("_matchesPosition", {})
    words = original_spans(text)
    spans: set[tuple[int, int]] = set()
    for match in positions.get("text", []):
        start = _char_offset(text, match["start"])
        end = _char_offset(text, match["start"] + match["length"])
        # A prefix match ("Ашықтық" in "Ашықтықты") marks the whole word.
        word = next((w for w in words if w[0] <= start < w[1]), None)
        spans.add((min(start, word[0]), max(end, word[1])) if word else (start, end))
    for attribute in ("text_folded", "text_stem"):
        folded = doc.get(attribute, "")
        for match in positions.get(attribute, []):
            index = folded_word_index(folded, match["start"])
            if index < len(words):
                spans.add(words[index])
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight_html(text: str, spans: list[tuple[int, int]]) -> str:
    """The text HTML-escaped, with <mark> around the spans: no transcript text becomes markup."""
    out, cursor = [], 0
    for start, end in spans:
        out.append(html.escape(text[cursor:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        cursor = end
    out.append(html.escape(text[cursor:]))
    return "".join(out)


def crop_html(text: str, spans: list[tuple[int, int]], max_words: int) -> str:
    """Like ``highlight_html`` but at most ``max_words`` words, around the first match, with "…"
    where text was cut: a long segment shows the part that matched."""
    words = original_spans(text)
    if len(words) <= max_words:
        return highlight_html(text, spans)
    first = spans[0][0] if spans else 0
    at = next((i for i, (s, e) in enumerate(words) if e > first), 0)
    lo = max(0, min(at - max_words // 3, len(words) - max_words))
    hi = lo + max_words
    start = words[lo][0] if lo else 0
    end = words[hi - 1][1] if hi < len(words) else len(text)
    inside = [
        (max(s, start) - start, min(e, end) - start) for s, e in spans if e > start and s < end
    ]
    body = highlight_html(text[start:end], inside)
    return ("…" if start else "") + body + ("…" if end < len(text) else "")


def moment_of(text: str, words: Sequence[Sequence[Any]], start: float, spans: Sequence) -> float:
    """The start second of the timed word holding the first match (``start`` if unknown).

    Word timings live in the database, not the index: the caller passes the segment's words.
    """
    if not spans or not words:
        return start
    first, cursor, moment = spans[0][0], 0, start
    for word_start, _end, word, *_ in words:
        token = str(word).strip()
        if not token:
            continue
        at = text.find(token, cursor)
        if at < 0:
            continue
        if at > first:
            break
        moment, cursor = word_start, at + len(token)
    return moment
