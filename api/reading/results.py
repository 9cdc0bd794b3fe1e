"""Search results joined with the database: recordings, the second each hit's word is spoken,
the segments around it, and facet values with names in the UI language.

The index holds only what search needs (search.meili.documents); everything shown beside a hit is
read here, for the few hits of one page, in a handful of queries. ``run_search`` is the one search
call of the pages, the JSON API and the feeds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

import meilisearch
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, load_only

from api.reading.search_params import SearchParams
from archive.models import Body, Recording, Segment, Speaker, segment_id
from archive.public import visible
from archive.settings import Settings
from search import Hit, Results, moment_of, search_recordings
from web import i18n
from web.i18n import N_


@dataclass(frozen=True)
class Context:
    """A segment shown beside a hit (before or after it): only what the page prints."""

    start: float
    text: str
    language: str | None


@dataclass(frozen=True)
class Moment:
    hit: Hit
    moment: float
    before: Context | None
    after: Context | None
    speaker: Speaker | None


@dataclass(frozen=True)
class Card:
    recording: Recording
    hit_count: int
    moments: list[Moment]


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int


def recording_dates(session: Session) -> Callable[[Iterable[int]], dict[int, date]]:
    """The dates of recordings by id, for the date order of hits the search window missed."""

    def lookup(ids: Iterable[int]) -> dict[int, date]:
        rows = session.execute(
            select(Recording.id, Recording.recorded_on).where(Recording.id.in_(list(ids)))
        )
        return {rid: day for rid, day in rows}

    return lookup


# The card queries, built once: constructing a statement (options, IN lists) and its cache key
# cost more than running it on SQLite (bench/search.py); each request only binds the ids.
_IDS = bindparam("ids", expanding=True)
# The card's fields only: a recording's ffprobe JSON and description can be kilobytes, and
# decoding them for every card was wasted (a field not loaded here still loads on access).
CARD_FIELDS = (
    Recording.title,
    Recording.body_id,
    Recording.recorded_on,
    Recording.duration_s,
    Recording.event_type,
    Recording.languages,
    Recording.status,
    Recording.created_at,
    Recording.updated_at,
)
CARD_RECORDINGS = visible(
    select(Recording).options(load_only(*CARD_FIELDS)).where(Recording.id.in_(_IDS))
)
HIT_ROWS = select(Segment.id, Segment.text, Segment.words, Segment.speaker_id).where(
    Segment.id.in_(_IDS)
)
CONTEXT_ROWS = select(Segment.id, Segment.start, Segment.text, Segment.language).where(
    Segment.id.in_(_IDS)
)
SPEAKERS = select(Speaker).where(Speaker.id.in_(_IDS))


def run_search(
    settings: Settings,
    session: Session,
    client: meilisearch.Client,
    params: SearchParams,
    *,
    per_page: int = 10,
    sort: str | None = None,
    page: int | None = None,
    context: bool = True,
) -> tuple[Results, list[Card]]:
    """Run ``params`` and join the page's hits with the database: what the search page, the JSON
    API and the search feed each did in their own copy. ``sort`` and ``page`` override the
    parameters' (the feed is always the newest first page); ``context`` as for ``cards``.

    Raises ``QueryError`` or ``SearchUnavailable`` (api.errors answers them, 400 and 503).
    """
    results = search_recordings(
        client,
        settings.meili_index,
        params.q,
        filters=params.filters,
        sort=sort or params.sort,
        page=page or params.page,
        per_page=per_page,
        recording_dates=recording_dates(session),
    )
    return results, cards(session, results, context=context)


def cards(session: Session, results: Results, context: bool = True) -> list[Card]:
    """The page's recordings with their moments, read by primary key in two or three queries.

    Only the columns used are loaded (bench/search.py: whole segment rows, word timings decoded
    for every neighbour, were most of the API's own time): the hits' words and speakers, to find
    the second of the first matched word, and with ``context`` (the HTML page; the JSON API has no
    use for them) the start, text and language of the segments before and after each hit.
    """
    ids = [group.recording_id for group in results.groups]
    recordings = {r.id: r for r in session.scalars(CARD_RECORDINGS, {"ids": ids})} if ids else {}
    hits = [hit for group in results.groups for hit in group.hits]
    own: dict[str, tuple[str, list, int | None]] = {}
    if hits:
        rows = session.execute(HIT_ROWS, {"ids": sorted({hit.id for hit in hits})})
        own = {sid: (text, words, speaker) for sid, text, words, speaker in rows}
    speakers: dict[int, Speaker] = {}
    wanted_speakers = {row[2] for row in own.values() if row[2] is not None}
    if context and wanted_speakers:
        speakers = {s.id: s for s in session.scalars(SPEAKERS, {"ids": sorted(wanted_speakers)})}
    around: dict[str, Context] = {}
    if context and hits:
        # Ids are "{recording}-{idx}": the neighbours are known without asking.
        wanted = {
            segment_id(hit.recording_id, hit.idx + delta)
            for hit in hits
            for delta in (-1, 1)
            if hit.idx + delta >= 0
        }
        rows = session.execute(CONTEXT_ROWS, {"ids": sorted(wanted)})
        around = {sid: Context(start, text, language) for sid, start, text, language in rows}
    out = []
    for group in results.groups:
        recording = recordings.get(group.recording_id)
        if recording is None:  # withdrawn since it was indexed
            continue
        moments = []
        for hit in group.hits:
            text, words, speaker_id = own.get(hit.id, ("", [], None))
            moments.append(
                Moment(
                    hit=hit,
                    # Timings belong to the text as stored; an edit not yet indexed voids them.
                    moment=moment_of(
                        hit.text, words if text == hit.text else [], hit.start, hit.spans
                    ),
                    before=around.get(segment_id(hit.recording_id, hit.idx - 1)),
                    after=around.get(segment_id(hit.recording_id, hit.idx + 1)),
                    speaker=speakers.get(speaker_id) if speaker_id is not None else None,
                )
            )
        out.append(Card(recording, group.hit_count, moments))
    return out


LANGUAGE_NAMES = {"kk": N_("Kazakh"), "ru": N_("Russian"), "en": N_("English")}
EVENT_TYPE_NAMES = {
    "plenary": N_("Plenary session"),
    "committee": N_("Committee meeting"),
    "hearing": N_("Public hearing"),
    "briefing": N_("Briefing"),
    "press_conference": N_("Press conference"),
    "other": N_("Other"),
}


def language_name(code: str | None) -> str:
    if not code:
        return ""
    name = LANGUAGE_NAMES.get(code)
    return i18n.gettext(name) if name else code


def event_type_name(value: str | None) -> str:
    if not value:
        return ""
    name = EVENT_TYPE_NAMES.get(value)
    return i18n.gettext(name) if name else value


def facet_values(
    session: Session, facets: dict[str, dict[str, int]]
) -> dict[str, list[FacetValue]]:
    """Each facet's values with labels in the UI language, most frequent first."""
    lang = i18n.current()
    bodies = {
        b.slug: b.localized_name(lang)
        for b in session.scalars(select(Body).where(Body.slug.in_(list(facets.get("body", {})))))
    }
    speakers = {
        s.slug: s.localized_name(lang)
        for s in session.scalars(
            select(Speaker).where(Speaker.slug.in_(list(facets.get("speaker", {}))))
        )
    }
    label = {
        "body": lambda v: bodies.get(v, v),
        "speaker": lambda v: speakers.get(v, v),
        "language": language_name,
        "event_type": event_type_name,
        "year": str,
    }
    out: dict[str, list[FacetValue]] = {}
    for name, counts in facets.items():
        if name not in label:
            continue
        values = [FacetValue(str(v), label[name](str(v)), n) for v, n in counts.items() if n]
        if name == "year":
            values.sort(key=lambda fv: fv.value, reverse=True)
        else:
            values.sort(key=lambda fv: (-fv.count, fv.label))
        out[name] = values
    return out
