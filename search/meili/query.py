"""Public segment search: only published recordings, across scripts and inflections.

One federated multi-search runs the query several ways and merges the hits (each segment once,
best score kept): the words as typed against the original text; the script-folded words
against ``text_folded`` (so "ashyqtyq" finds "Ашықтық"); and the reduced words, as Kazakh and as
Russian or English (search.text.stemming.query_forms), against ``text_stem`` or, where a segment
has none, ``text_folded`` (so "бюджет жоба" finds "бюджеттің жобасы" and "жилищная программа"
finds "жилищной программы"). A reduced word matches whole words only (a one-word phrase: no
prefix, no typo), since it already stands for the word's endings, and a short stem with prefix
and typo matching met unrelated words ("қаржы" found "қарады"). Each way has a weight: the words
as typed rank above a folded-only match, and that above a stem-only one. Phrases and exclusions
(search.text.syntax) travel into every form. Highlights are always drawn on the original text,
whichever form matched.

Results are grouped by recording (``search_recordings``) in two or three requests:

1. a *window*: the best ``WINDOW`` segment hits, ids only, plus facet counts — among them a count
   per ``recording_id``, which names every matching recording however many hits there are;
2. the recordings of the requested page, ordered by the best hit in the window (relevance) or by
   date; the best moments of each come from the window, or, for a recording outside it, from a
   search restricted to those recordings;
3. the chosen moments' documents with match positions, for the highlighted snippets.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any, Literal, ParamSpec, TypeVar

import meilisearch
from meilisearch.errors import MeilisearchApiError, MeilisearchError

from search.meili.client import SearchUnavailable
from search.meili.highlight import crop_html, highlight_html, match_spans
from search.meili.highlight import moment_of as moment_of  # re-exported for workers.alerts
from search.text.folding import fold
from search.text.stemming import SHIPPED, Stemming, stem_queries
from search.text.syntax import ParsedQuery, parse

# Weights of the ways in the merged ranking: the words as typed rank first, then the folded words,
# then the stems (tests/integration/search: an exact match ranks above a stem-only one).
WEIGHT_ORIGINAL, WEIGHT_FOLDED, WEIGHT_STEM = 1.0, 0.9, 0.8
FACETS = ["body", "year", "language", "event_type", "speaker"]
WINDOW = 1000  # segment hits ranked to order recordings by relevance
WINDOW_FIELDS = ["id", "recording_id", "date_ts"]
SNIPPET_WORDS = 36  # words around the first match in a cropped snippet
P = ParamSpec("P")
R = TypeVar("R")
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
            clauses.append(_ids_clause("id", self.segment_ids))
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


FORMS = ("original", "folded", "stem")


def build_queries(
    index_uid: str,
    query: str | ParsedQuery,
    filters: list[str],
    forms: tuple[str, ...] = FORMS,
    stemming: Stemming = SHIPPED,
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
        for q, fields, w in _forms(parsed, tuple(forms), stemming)
    ]


@lru_cache(maxsize=1024)
def _forms(
    parsed: ParsedQuery, forms: tuple[str, ...], stemming: Stemming
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
        # Documents hold a stemmed form only where it differs from the folded one
        # (search.meili.documents.text_forms): elsewhere the folded form is the stemmed form.
        wanted += [
            (q, ("text_stem", "text_folded"), WEIGHT_STEM) for q in stem_queries(parsed, stemming)
        ]
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


@dataclass
class _Window:
    """The first request's answer: the best ``WINDOW`` hits (ids only) grouped by recording, the
    count of hits per matching recording (the facet), and the other facets."""

    ranked: dict[int, list[str]]  # recording → its hits' ids in the window, best first
    dates: dict[int, int]  # recording → date_ts, for those in the window
    counts: dict[str, int]  # recording id (as text) → matching segments
    facets: dict[str, dict[str, int]]
    total_hits: int
    spent_ms: int

    @property
    def total_recordings(self) -> int:
        return len(self.counts) + sum(str(rid) not in self.counts for rid in self.ranked)


def _window(
    client: meilisearch.Client, index_uid: str, parsed: ParsedQuery, clauses: list[str]
) -> _Window:
    result = _multi_search(
        client,
        build_queries(index_uid, parsed, clauses, extra={"attributesToRetrieve": WINDOW_FIELDS}),
        {"limit": WINDOW, "facetsByIndex": {index_uid: [*FACETS, "recording_id"]}},
    )
    distribution = _distribution(result, index_uid)
    counts: dict[str, int] = distribution.pop("recording_id", {})
    ranked: dict[int, list[str]] = {}
    dates: dict[int, int] = {}
    for doc in result["hits"]:
        rid = doc["recording_id"]
        ranked.setdefault(rid, []).append(doc["id"])
        dates[rid] = doc.get("date_ts", 0)
    total = result.get("estimatedTotalHits", len(result["hits"]))
    return _Window(ranked, dates, counts, distribution, total, result.get("processingTimeMs", 0))


def _order(
    window: _Window,
    sort: str,
    end: int,
    recording_dates: Callable[[Iterable[int]], dict[int, date]] | None,
) -> tuple[list[int], dict[int, int]]:
    """The matching recordings in page order (at least the first ``end`` of them), and the
    number of hits of each placed one."""
    ranked, counts = window.ranked, window.counts
    # The facet may stop at maxValuesPerFacet recordings; the window's are counted regardless.
    per_recording = {rid: counts.get(str(rid), len(sids)) for rid, sids in ranked.items()}
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
            per_recording.setdefault(int(key), n)
        order = list(per_recording)
        dates = dict(window.dates)
        missing = [rid for rid in order if rid not in dates]
        if missing and recording_dates is not None:
            dates.update({rid: day_ts(d) for rid, d in recording_dates(missing).items()})
        order.sort(key=lambda r: (dates.get(r, 0), r), reverse=sort == "newest")
    return order, per_recording


def _ids_clause(field: str, values: Iterable[str | int]) -> str:
    return f"{field} IN [{', '.join(_quote(v) if isinstance(v, str) else str(v) for v in values)}]"


def _moments(
    client: meilisearch.Client,
    index_uid: str,
    parsed: ParsedQuery,
    clauses: list[str],
    chosen: dict[int, list[str]],
    moments: int,
) -> tuple[dict[str, dict[str, Any]], int]:
    """The documents of the page's moments, with match positions; ``chosen`` (recording → ids,
    from the window) is filled in for the recordings outside the window. Returns the documents
    by id and the milliseconds Meilisearch spent."""
    docs: dict[str, dict[str, Any]] = {}
    spent = 0
    extra: dict[str, Any] = {"showMatchesPosition": True}
    ids = [sid for sids in chosen.values() for sid in sids]
    if ids:
        queries = build_queries(index_uid, parsed, [*clauses, _ids_clause("id", ids)], extra=extra)
        found = _multi_search(client, queries, {"limit": len(ids)})
        spent += found.get("processingTimeMs", 0)
        docs.update({doc["id"]: doc for doc in found["hits"]})
    outside = [rid for rid, sids in chosen.items() if not sids]
    if outside:
        # Recordings beyond the window (date order): their best moments, each guaranteed one by
        # a distinct query, more from a plain one.
        restricted = [*clauses, _ids_clause("recording_id", outside)]
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
    return docs, spent


def _unavailable_on_failure(search: Callable[P, R]) -> Callable[P, R]:
    """A Meilisearch failure (down, timed out, refusing) becomes ``SearchUnavailable``: callers
    answer it (a 503) without knowing which engine failed."""

    @functools.wraps(search)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return search(*args, **kwargs)
        except MeilisearchError as exc:
            raise SearchUnavailable(f"search is unavailable: {exc}") from exc

    return run


@_unavailable_on_failure
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
    so that newest/oldest order covers every matching recording, not only the best hits. Raises
    ``QueryError`` for a query that cannot run, ``SearchUnavailable`` when Meilisearch fails.
    """
    if sort not in SORTS:
        raise QueryError(f"sort must be one of: {', '.join(SORTS)}")
    filters = filters or Filters()
    parsed = parse(query)
    _validate(parsed, query)
    clauses = filters.clauses()
    window = _window(client, index_uid, parsed, clauses)
    offset = (page - 1) * per_page
    order, per_recording = _order(window, sort, offset + per_page, recording_dates)
    page_ids = order[offset : offset + per_page]
    chosen = {rid: window.ranked.get(rid, [])[:moments] for rid in page_ids}
    docs, spent = _moments(client, index_uid, parsed, clauses, chosen, moments)
    groups = []
    for rid in page_ids:
        hits = [_hit(docs[sid]) for sid in chosen[rid] if sid in docs]
        groups.append(RecordingHits(rid, per_recording.get(rid, len(hits)), hits))
    return Results(
        query=query,
        sort=sort,
        filters=filters,
        groups=groups,
        total_hits=window.total_hits,
        total_recordings=window.total_recordings,
        page=page,
        per_page=per_page,
        facets=window.facets,
        processing_ms=window.spent_ms + spent,
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
