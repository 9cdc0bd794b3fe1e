"""Public segment search: only published recordings, across scripts and inflections.

One federated multi-search runs the query three ways and merges the hits (each segment once, best
score kept): the words as typed against the original text; the script-folded words
against ``text_folded`` (so "ashyqtyq" finds "Ашықтық"); and the stemmed words, as Kazakh, against
``text_stem`` or, where a segment has none, ``text_folded`` (so "бюджет жоба" finds "бюджеттің
жобасы"). Phrases and exclusions (search.text.syntax) travel into every form. Highlights are always
drawn on the original text, whichever form matched.

Results are grouped by recording (``search_recordings``) in two or three requests:

1. a *window*: the best ``WINDOW`` segment hits, ids only, plus facet counts — among them a count
   per ``recording_id``, which names every matching recording however many hits there are;
2. the recordings of the requested page, ordered by the best hit in the window (relevance) or by
   date; the best moments of each come from the window, or, for a recording outside it, from a
   search restricted to those recordings;
3. the chosen moments' documents with match positions, for the highlighted snippets.
"""

from __future__ import annotations

import heapq
import html
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any, Literal

import meilisearch
from meilisearch.errors import MeilisearchApiError

from search.text.folding import fold, folded_word_index, original_spans
from search.text.stemming import STEMMED_LANGUAGES, stem_text
from search.text.syntax import ParsedQuery, parse

# Weights of the three ways in the merged ranking: the words as typed rank first.
WEIGHT_ORIGINAL, WEIGHT_FOLDED, WEIGHT_STEM = 1.0, 0.9, 0.8
FACETS = ["body", "year", "language", "event_type", "speaker"]
WINDOW = 1000  # segment hits ranked to order recordings by relevance
WINDOW_FIELDS = ["id", "recording_id", "date_ts"]
SNIPPET_WORDS = 36  # words around the first match in a cropped snippet
Sort = Literal["relevance", "newest", "oldest"]
SORTS: tuple[str, ...] = ("relevance", "newest", "oldest")


class QueryError(ValueError):
    """The query cannot be run as given; the message says why, for a 400 answer."""


@dataclass(frozen=True)
class Filters:
    body: str | None = None
    language: str | None = None
    year: int | None = None
    event_type: str | None = None
    speaker: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    recording_id: int | None = None
    # Only these segments (alerts evaluate a newly indexed batch this way).
    segment_ids: tuple[str, ...] | None = None

    def clauses(self) -> list[str]:
        clauses = ["published = true"]
        for name in ("body", "language", "event_type", "speaker"):
            value = getattr(self, name)
            if value:
                clauses.append(f"{name} = {_quote(value)}")
        if self.year is not None:
            clauses.append(f"year = {int(self.year)}")
        if self.recording_id is not None:
            clauses.append(f"recording_id = {int(self.recording_id)}")
        if self.segment_ids is not None:
            clauses.append(f"id IN [{', '.join(_quote(i) for i in self.segment_ids)}]")
        if self.date_from:
            clauses.append(f"date_ts >= {day_ts(self.date_from)}")
        if self.date_to:
            clauses.append(f"date_ts <= {day_ts(self.date_to)}")
        return clauses

    def active(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


def day_ts(day: date) -> int:
    """A date as the Unix timestamp of its UTC midnight (how documents store ``date_ts``)."""
    return int(datetime.combine(day, time()).timestamp())


@dataclass(frozen=True)
class Hit:
    id: str
    recording_id: int
    idx: int
    start: float
    end: float
    text: str
    spans: tuple[tuple[int, int], ...]
    language: str | None
    speaker: str | None
    body: str
    date_ts: int
    moment: float  # when the first matching word is spoken (the segment start until timed)

    @property
    def html(self) -> str:
        return highlight_html(self.text, list(self.spans))

    @property
    def snippet_html(self) -> str:
        return crop_html(self.text, list(self.spans), SNIPPET_WORDS)

    @property
    def date(self) -> str:
        return datetime.fromtimestamp(self.date_ts).date().isoformat()


@dataclass(frozen=True)
class RecordingHits:
    recording_id: int
    hit_count: int
    hits: list[Hit]


@dataclass(frozen=True)
class Results:
    query: str
    sort: str
    filters: Filters
    groups: list[RecordingHits]
    total_hits: int
    total_recordings: int
    page: int
    per_page: int
    facets: dict[str, dict[str, int]]
    processing_ms: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total_recordings / self.per_page))

    @property
    def hits(self) -> list[Hit]:
        return [hit for group in self.groups for hit in group.hits]


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


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


FORMS = ("original", "folded", "stem")


def build_queries(
    index_uid: str,
    query: str | ParsedQuery,
    filters: list[str],
    forms: tuple[str, ...] = FORMS,
    stemmed: tuple[str, ...] = STEMMED_LANGUAGES,
    extra: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The federated queries for ``query``; ``forms`` picks which ways (bench/stemming.py)."""
    parsed = parse(query) if isinstance(query, str) else query
    base = {"indexUid": index_uid, "filter": filters, "matchingStrategy": "all", **(extra or {})}
    if not parsed.positive:
        # Placeholder search: every segment the filters admit.
        return [{**base, "q": "", "attributesToSearchOn": ["text"]}]
    return [
        {**base, "q": q, "attributesToSearchOn": list(fields), "federationOptions": {"weight": w}}
        for q, fields, w in _forms(parsed, tuple(forms), tuple(stemmed))
    ]


@lru_cache(maxsize=1024)
def _forms(
    parsed: ParsedQuery, forms: tuple[str, ...], stemmed: tuple[str, ...]
) -> tuple[tuple[str, tuple[str, ...], float], ...]:
    """The query text, attributes and weight of each way to search ``parsed``.

    Cached: a search page builds the same forms for two or three requests, and folding and
    stemming the words was a tenth of the API's own time (bench/search.py).
    """
    wanted: list[tuple[str, tuple[str, ...], float]] = []
    if "original" in forms:
        wanted.append((parsed.render(), ("text",), WEIGHT_ORIGINAL))
    if "folded" in forms:
        wanted.append((parsed.render(fold), ("text_folded",), WEIGHT_FOLDED))
    # A phrase is exact wording (in any script): stems would let inflected forms match it.
    if "stem" in forms and not parsed.phrases:
        stems = {
            parsed.render(lambda s, lang=lang: stem_text(s, lang, stemmed)) for lang in stemmed
        }
        # Documents hold a stemmed form only where it differs from the folded one
        # (search.meili.documents.text_forms): elsewhere the folded form is the stemmed form.
        wanted += [(q, ("text_stem", "text_folded"), WEIGHT_STEM) for q in sorted(stems)]
    return tuple(
        (q, attributes, weight)
        for q, attributes, weight in wanted
        if ParsedQuery(parse(q).positive).terms
    )


def _multi_search(
    client: meilisearch.Client, queries: list[dict[str, Any]], federation: dict[str, Any]
) -> dict[str, Any]:
    try:
        return client.multi_search(queries, federation=federation)
    except MeilisearchApiError as exc:
        # An index with no documents yet has no searchable fields to name.
        if exc.code != "invalid_search_attributes_to_search_on":
            raise
        return {"hits": [], "estimatedTotalHits": 0, "processingTimeMs": 0}


def _hit(doc: dict[str, Any]) -> Hit:
    spans = tuple(match_spans(doc))
    return Hit(
        id=doc["id"],
        recording_id=doc["recording_id"],
        idx=int(str(doc["id"]).rsplit("-", 1)[1]),
        start=doc["start"],
        end=doc["end"],
        text=doc["text"],
        spans=spans,
        language=doc.get("language"),
        speaker=doc.get("speaker"),
        body=doc.get("body", ""),
        date_ts=doc.get("date_ts", 0),
        moment=doc["start"],
    )


def _distribution(result: dict[str, Any], index_uid: str) -> dict[str, dict[str, int]]:
    return result.get("facetsByIndex", {}).get(index_uid, {}).get("distribution", {})


NOTHING_TO_FIND = "add at least one word to find: excluded words (-word) only narrow a search."


def _validate(parsed: ParsedQuery, query: str) -> None:
    if query.strip() and not parsed.positive:
        raise QueryError(NOTHING_TO_FIND)


def search_recordings(
    client: meilisearch.Client,
    index_uid: str,
    query: str,
    *,
    filters: Filters | None = None,
    sort: str = "relevance",
    page: int = 1,
    per_page: int = 10,
    moments: int = 3,
    recording_dates: Callable[[Iterable[int]], dict[int, date]] | None = None,
) -> Results:
    """Matching recordings, ``per_page`` to a page, each with its best ``moments`` hits.

    ``recording_dates`` gives the date of recordings the window did not reach (from the database),
    so that newest/oldest order covers every matching recording, not only the best hits.
    """
    if sort not in SORTS:
        raise QueryError(f"sort must be one of: {', '.join(SORTS)}")
    filters = filters or Filters()
    parsed = parse(query)
    _validate(parsed, query)
    clauses = filters.clauses()
    window = _multi_search(
        client,
        build_queries(index_uid, parsed, clauses, extra={"attributesToRetrieve": WINDOW_FIELDS}),
        {"limit": WINDOW, "facetsByIndex": {index_uid: [*FACETS, "recording_id"]}},
    )
    spent = window.get("processingTimeMs", 0)
    distribution = _distribution(window, index_uid)
    counts: dict[str, int] = distribution.pop("recording_id", {})
    ranked: dict[int, list[str]] = {}
    dates: dict[int, int] = {}
    for doc in window["hits"]:
        rid = doc["recording_id"]
        ranked.setdefault(rid, []).append(doc["id"])
        dates[rid] = doc.get("date_ts", 0)
    # The facet may stop at maxValuesPerFacet recordings; the window's are counted regardless.
    per_recording = {rid: counts.get(str(rid), len(sids)) for rid, sids in ranked.items()}
    total_recordings = len(counts) + sum(str(rid) not in counts for rid in ranked)
    offset = (page - 1) * per_page
    end = offset + per_page
    order = list(ranked)
    if sort == "relevance" and end > len(order):
        # Recordings the window did not reach follow, most hits first. Only as many as the page
        # needs are picked: sorting every matching recording cost ~1 ms a search at 2,000.
        rest = (int(key) for key in counts if int(key) not in ranked)
        most_hits = heapq.nsmallest(
            end - len(order), rest, key=lambda rid: (-counts[str(rid)], rid)
        )
        order += most_hits
        per_recording.update({rid: counts[str(rid)] for rid in most_hits})
    elif sort != "relevance":
        # Date order covers every matching recording, so all of them are placed.
        for key, n in counts.items():
            if int(key) not in per_recording:
                per_recording[int(key)] = n
        order = list(per_recording)
        missing = [rid for rid in order if rid not in dates]
        if missing and recording_dates is not None:
            dates.update({rid: day_ts(d) for rid, d in recording_dates(missing).items()})
        newest = sort == "newest"
        order.sort(key=lambda r: (dates.get(r, 0), r), reverse=newest)
    page_ids = order[offset:end]
    chosen = {rid: ranked.get(rid, [])[:moments] for rid in page_ids}
    docs: dict[str, dict[str, Any]] = {}
    ids = [sid for sids in chosen.values() for sid in sids]
    if ids:
        found = _multi_search(
            client,
            build_queries(
                index_uid, parsed, [*clauses, f"id IN [{', '.join(_quote(i) for i in ids)}]"],
                extra={"showMatchesPosition": True},
            ),
            {"limit": len(ids)},
        )  # fmt: skip
        spent += found.get("processingTimeMs", 0)
        docs.update({doc["id"]: doc for doc in found["hits"]})
    outside = [rid for rid in page_ids if not chosen[rid]]
    if outside:
        # Recordings beyond the window (date order): their best moments, each guaranteed one by
        # a distinct query, more from a plain one.
        restricted = [*clauses, f"recording_id IN [{', '.join(map(str, outside))}]"]
        extra = {"showMatchesPosition": True}
        queries = build_queries(
            index_uid, parsed, restricted, extra={**extra, "distinct": "recording_id"}
        )
        queries += build_queries(index_uid, parsed, restricted, extra=extra)
        found = _multi_search(client, queries, {"limit": len(outside) * (moments + 3)})
        spent += found.get("processingTimeMs", 0)
        for doc in found["hits"]:
            rid = doc["recording_id"]
            if len(chosen[rid]) < moments and doc["id"] not in chosen[rid]:
                chosen[rid].append(doc["id"])
                docs[doc["id"]] = doc
    groups = []
    for rid in page_ids:
        hits = [_hit(docs[sid]) for sid in chosen[rid] if sid in docs]
        groups.append(RecordingHits(rid, per_recording.get(rid, len(hits)), hits))
    return Results(
        query=query,
        sort=sort,
        filters=filters,
        groups=groups,
        total_hits=window.get("estimatedTotalHits", len(window["hits"])),
        total_recordings=total_recordings,
        page=page,
        per_page=per_page,
        facets=distribution,
        processing_ms=spent,
    )


@dataclass(frozen=True)
class SearchPage:
    """Segment hits, one list, best first (no grouping): for tools and tests of matching."""

    query: str
    hits: list[Hit]
    total: int
    page: int
    per_page: int
    processing_ms: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def search_segments(
    client: meilisearch.Client,
    index_uid: str,
    query: str,
    *,
    page: int = 1,
    per_page: int = 20,
    body: str | None = None,
    language: str | None = None,
    filters: Filters | None = None,
) -> SearchPage:
    filters = filters or Filters()
    if body or language:
        filters = replace(filters, body=body or filters.body, language=language or filters.language)
    parsed = parse(query)
    _validate(parsed, query)
    result = _multi_search(
        client,
        build_queries(index_uid, parsed, filters.clauses(), extra={"showMatchesPosition": True}),
        {"offset": (page - 1) * per_page, "limit": per_page, "facetsByIndex": {index_uid: FACETS}},
    )
    return SearchPage(
        query=query,
        hits=[_hit(doc) for doc in result["hits"]],
        total=result.get("estimatedTotalHits", len(result["hits"])),
        page=page,
        per_page=per_page,
        processing_ms=result.get("processingTimeMs", 0),
        facets=_distribution(result, index_uid),
    )
