"""Public segment search: only published recordings, highlights made safe for HTML."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import meilisearch

# Private-use characters mark highlights, so transcript text can be HTML-escaped first and the
# marks turned into <mark> afterwards: nothing from a transcript is ever rendered as markup.
PRE, POST = "\ue000", "\ue001"


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

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def highlight_html(formatted: str) -> str:
    return html.escape(formatted).replace(PRE, "<mark>").replace(POST, "</mark>")


def matched_moment(doc: dict[str, Any]) -> float:
    """The start second of the word holding the first match in the segment text."""
    matches = doc.get("_matchesPosition", {}).get("text") or []
    offsets = doc.get("word_offsets") or []
    if not matches or not offsets:
        return doc["start"]
    # Meilisearch reports UTF-8 byte offsets; word offsets are in characters.
    byte_at = min(m["start"] for m in matches)
    char_at = len(doc["text"].encode("utf-8")[:byte_at].decode("utf-8", "ignore"))
    moment = doc["start"]
    for offset, start in offsets:
        if offset <= char_at:
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
    result = client.index(index_uid).search(
        query,
        {
            "page": page,
            "hitsPerPage": per_page,
            "filter": build_filter(body, language),
            "attributesToHighlight": ["text"],
            "highlightPreTag": PRE,
            "highlightPostTag": POST,
            "showMatchesPosition": True,
            "attributesToRetrieve": ["*"],
        },
    )
    hits = [
        Hit(
            id=doc["id"],
            recording_id=doc["recording_id"],
            start=doc["start"],
            end=doc["end"],
            moment=matched_moment(doc),
            text=doc["text"],
            html=highlight_html(doc.get("_formatted", {}).get("text", doc["text"])),
            title=doc["title"],
            body=doc["body"],
            body_name=doc["body_name"],
            date=doc["date"],
            language=doc.get("language"),
        )
        for doc in result["hits"]
    ]
    return SearchPage(
        query=query,
        hits=hits,
        total=result.get("totalHits", len(hits)),
        page=page,
        per_page=per_page,
        processing_ms=result.get("processingTimeMs", 0),
        filters={"body": body, "language": language},
    )
