"""Search results joined with the database: recordings, the second each hit's word is spoken,
the segments around it, and facet values with names in the UI language.

The index holds only what search needs (search.documents); everything shown beside a hit is read
here, for the few hits of one page, in a handful of queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from archive.models import Body, Recording, RecordingStatus, Segment, Speaker
from search.query import Hit, Results, moment_of
from web import i18n
from web.i18n import N_


@dataclass(frozen=True)
class Moment:
    hit: Hit
    moment: float
    before: Segment | None
    after: Segment | None
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


def visible(query: Any) -> Any:
    """Restrict a Recording query to what the public may see."""
    return query.where(
        Recording.status.in_((RecordingStatus.ready, RecordingStatus.live)),
        Recording.published.is_(True),
        Recording.deleted_at.is_(None),
    )


def recording_dates(session: Session):  # type: ignore[no-untyped-def]
    def lookup(ids: Iterable[int]) -> dict[int, date]:
        rows = session.execute(
            select(Recording.id, Recording.recorded_on).where(Recording.id.in_(list(ids)))
        )
        return {rid: day for rid, day in rows}

    return lookup


def cards(session: Session, results: Results) -> list[Card]:
    ids = [group.recording_id for group in results.groups]
    recordings = {
        r.id: r for r in session.scalars(visible(select(Recording).where(Recording.id.in_(ids))))
    }
    wanted: set[tuple[int, int]] = set()
    for group in results.groups:
        for hit in group.hits:
            wanted |= {
                (hit.recording_id, hit.idx - 1),
                (hit.recording_id, hit.idx),
                (hit.recording_id, hit.idx + 1),
            }
    segments: dict[tuple[int, int], Segment] = {}
    if wanted:
        rows = session.scalars(
            select(Segment).where(tuple_(Segment.recording_id, Segment.idx).in_(sorted(wanted)))
        )
        segments = {(s.recording_id, s.idx): s for s in rows}
    out = []
    for group in results.groups:
        recording = recordings.get(group.recording_id)
        if recording is None:  # withdrawn since it was indexed
            continue
        moments = []
        for hit in group.hits:
            own = segments.get((hit.recording_id, hit.idx))
            words = own.words if own is not None and own.text == hit.text else []
            moments.append(
                Moment(
                    hit=hit,
                    moment=moment_of(hit.text, words, hit.start, hit.spans),
                    before=segments.get((hit.recording_id, hit.idx - 1)),
                    after=segments.get((hit.recording_id, hit.idx + 1)),
                    speaker=own.speaker if own is not None else None,
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
