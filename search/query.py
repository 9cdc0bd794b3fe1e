"""Public segment search: only published recordings, across scripts and inflections.

One federated multi-search runs the query three ways and merges the hits (each segment once, best
score kept): the words as typed against the original text and title; the script-folded words
against ``text_folded`` (so "ashyqtyq" finds "Ашықтық"); and the stemmed words, as Kazakh and as
Russian, against ``text_stem`` (so "бюджет жоба" finds "бюджеттің жобасы"). Highlights are always
drawn on the original text, whichever form matched.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import meilisearch
from meilisearch.errors import MeilisearchApiError

from search.folding import fold, folded_word_index, original_spans
from search.stemming import STEMMED_LANGUAGES, query_stems

# Weights of the three ways in the merged ranking: the words as typed rank first.
WEIGHT_ORIGINAL, WEIGHT_FOLDED, WEIGHT_STEM = 1.0, 0.9, 0.8
FACETS = ["language", "body"]


@dataclass(frozen=True)
class Hit:
    id: str
    recording_id: int
    start: float
    end: float
    moment: float  # when the first matching word is spoken (the segment start if unknown)
    text: str
    html: str
    title: str
    body: str
    body_name: str
    date: str
    language: str | None


@dataclass(frozen=True)
class SearchPage:
    query: str
    hits: list[Hit]
    total: int
    page: int
    per_page: int
    processing_ms: int
    filters: dict[str, Any] = field(default_factory=dict)
    facets: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


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


def moment_of(doc: dict[str, Any], spans: list[tuple[int, int]]) -> float:
    """The start second of the word holding the first match."""
    offsets = doc.get("word_offsets") or []
    if not spans or not offsets:
        return doc["start"]
    first = spans[0][0]
    moment = doc["start"]
    for offset, start in offsets:
        if offset <= first:
            moment = start
        else:
            break
    return moment


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def build_filter(body: str | None = None, language: str | None = None) -> list[str]:
    clauses = ["published = true"]
    if body:
        clauses.append(f"body = {_quote(body)}")
    if language:
        clauses.append(f"language = {_quote(language)}")
    return clauses


FORMS = ("original", "folded", "stem")


def build_queries(
    index_uid: str,
    query: str,
    filters: list[str],
    forms: tuple[str, ...] = FORMS,
    stemmed: tuple[str, ...] = STEMMED_LANGUAGES,
) -> list[dict[str, Any]]:
    """The federated queries for ``query``; ``forms`` picks which ways (bench/stemming.py)."""
    base = {"indexUid": index_uid, "filter": filters, "showMatchesPosition": True}
    queries = []
    if "original" in forms:
        queries.append(
            {
                **base,
                "q": query,
                "attributesToSearchOn": ["text", "title"],
                "matchingStrategy": "all",
                "federationOptions": {"weight": WEIGHT_ORIGINAL},
            }
        )
    folded = fold(query)
    if "folded" in forms and folded.strip("_ "):
        queries.append(
            {
                **base,
                "q": folded,
                "attributesToSearchOn": ["text_folded"],
                "matchingStrategy": "all",
                "federationOptions": {"weight": WEIGHT_FOLDED},
            }
        )
    for stems in query_stems(query, stemmed) if "stem" in forms else []:
        queries.append(
            {
                **base,
                "q": stems,
                "attributesToSearchOn": ["text_stem"],
                "matchingStrategy": "all",
                "federationOptions": {"weight": WEIGHT_STEM},
            }
        )
    return queries


def search_segments(
    client: meilisearch.Client,
    index_uid: str,
    query: str,
    *,
    page: int = 1,
    per_page: int = 20,
    body: str | None = None,
    language: str | None = None,
) -> SearchPage:
    try:
        result = client.multi_search(
            build_queries(index_uid, query, build_filter(body, language)),
            federation={
                "offset": (page - 1) * per_page,
                "limit": per_page,
                "facetsByIndex": {index_uid: FACETS},
            },
        )
    except MeilisearchApiError as exc:
        # An index with no documents yet has no searchable fields to name.
        if exc.code != "invalid_search_attributes_to_search_on":
            raise
        result = {"hits": [], "estimatedTotalHits": 0}
    hits = []
    for doc in result["hits"]:
        spans = match_spans(doc)
        hits.append(
            Hit(
                id=doc["id"],
                recording_id=doc["recording_id"],
                start=doc["start"],
                end=doc["end"],
                moment=moment_of(doc, spans),
                text=doc["text"],
                html=highlight_html(doc["text"], spans),
                title=doc["title"],
                body=doc["body"],
                body_name=doc["body_name"],
                date=doc["date"],
                language=doc.get("language"),
            )
        )
    facets = result.get("facetsByIndex", {}).get(index_uid, {}).get("distribution", {})
    return SearchPage(
        query=query,
        hits=hits,
        total=result.get("estimatedTotalHits", len(hits)),
        page=page,
        per_page=per_page,
        processing_ms=result.get("processingTimeMs", 0),
        filters={"body": body, "language": language},
        facets=facets,
    )
