"""The search parameters the page and the JSON API share: every filter is a plain query parameter,
so every result page is a URL that can be shared."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Query

from archive.models import EVENT_TYPES
from search import NOTHING_TO_FIND, SORTS, Filters, finds_nothing

SLUG = r"^[a-z0-9][a-z0-9-]*$"


@dataclass(frozen=True)
class SearchParams:
    q: str
    page: int
    sort: str
    filters: Filters

    def require_something(self) -> None:
        """A 400 unless there are words to find or a filter: the JSON API and the search feed
        list nothing for an empty search (the page shows its empty form instead)."""
        if not self.q and not self.filters.active():
            raise HTTPException(400, "q: give words to find, or at least one filter")

    def link(self, **changes: object) -> str:
        """This search's URL query with ``changes`` applied (None removes a parameter); a change
        of anything but the page goes back to page 1."""
        values: dict[str, object] = {
            "q": self.q or None,
            "sort": self.sort if self.sort != "relevance" else None,
            "body": self.filters.body,
            "year": self.filters.year,
            "language": self.filters.language,
            "event_type": self.filters.event_type,
            "speaker": self.filters.speaker,
            "from": self.filters.date_from.isoformat() if self.filters.date_from else None,
            "to": self.filters.date_to.isoformat() if self.filters.date_to else None,
            "page": self.page if self.page > 1 else None,
        }
        if "page" not in changes:
            values["page"] = None
        values.update(changes)
        if values.get("page") == 1:
            values["page"] = None
        return "?" + urlencode({k: v for k, v in values.items() if v is not None and v != ""})


async def search_params(
    q: Annotated[
        str,
        Query(
            max_length=500,
            description='words to find; "an exact phrase"; -word or -"a phrase" to leave out',
        ),
    ] = "",
    page: Annotated[int, Query(ge=1, le=500, description="page of recordings")] = 1,
    sort: Annotated[str, Query(description="relevance, newest or oldest")] = "relevance",
    body: Annotated[str | None, Query(max_length=64, pattern=SLUG, description="body slug")] = None,
    year: Annotated[
        int | None, Query(ge=1900, le=2200, description="year of the recording")
    ] = None,
    language: Annotated[
        str | None, Query(pattern=r"^[a-z]{2,3}$", description="spoken language, ISO 639-1")
    ] = None,
    event_type: Annotated[
        str | None, Query(max_length=40, description=f"one of: {', '.join(EVENT_TYPES)}")
    ] = None,
    speaker: Annotated[
        str | None, Query(max_length=64, pattern=SLUG, description="speaker slug")
    ] = None,
    date_from: Annotated[
        date | None, Query(alias="from", description="recorded on or after (YYYY-MM-DD)")
    ] = None,
    date_to: Annotated[
        date | None, Query(alias="to", description="recorded on or before (YYYY-MM-DD)")
    ] = None,
) -> SearchParams:
    # async, though it awaits nothing: it only checks values, and a sync dependency would cost a
    # trip through the thread pool on every search (bench/search.py).
    if sort not in SORTS:
        raise HTTPException(400, f"sort: must be one of {', '.join(SORTS)} (got {sort!r})")
    if event_type is not None and event_type not in EVENT_TYPES:
        raise HTTPException(400, f"event_type: must be one of {', '.join(EVENT_TYPES)}")
    if date_from and date_to and date_from > date_to:
        raise HTTPException(400, "from: the start date is after the end date")
    query = " ".join(q.split())
    if finds_nothing(query):
        raise HTTPException(400, f"q: {NOTHING_TO_FIND}")
    filters = Filters(
        body=body or None,
        language=language or None,
        year=year,
        event_type=event_type or None,
        speaker=speaker or None,
        date_from=date_from,
        date_to=date_to,
    )
    return SearchParams(q=query, page=page, sort=sort, filters=filters)


SearchParamsDep = Annotated[SearchParams, Depends(search_params)]
