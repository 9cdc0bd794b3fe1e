"""Atom feeds (RFC 4287): the latest recordings (all, or one body's) and any search as a feed
of its newest matching moments (``/search.atom`` takes the same parameters as ``/search``).

Entry ids are the permanent page URLs, so a reader shows each recording or moment once; the feed's
``updated`` is its newest entry's, so the bytes (and the ETag) change only when an entry does.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.conditional import conditional
from api.deps import SearchDep, SessionDep, SettingsDep
from api.reading.recordings import list_recordings
from api.reading.results import run_search
from api.reading.search_params import SearchParamsDep
from archive.models import Body, Recording
from web.formatting import timestamp
from web.i18n import current
from web.i18n import gettext as _
from web.links import recording_url

router = APIRouter(tags=["feeds"])

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # the "updated" of a feed with no entries yet
FeedSize = Annotated[int, Query(ge=1, le=100, description="entries in the feed")]


def _when(moment: datetime) -> str:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    node.text = text
    return node


def _link(parent: ET.Element, href: str, rel: str = "alternate", **attrs: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}link", {"rel": rel, "href": href, **attrs})


class Feed:
    """An Atom document being built; ``bytes()`` serializes it."""

    def __init__(self, settings_url: str, self_url: str, title: str, page_url: str) -> None:
        ET.register_namespace("", ATOM)
        self.root = ET.Element(
            f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": current()}
        )
        _text(self.root, "id", self_url)
        _text(self.root, "title", title)
        self.updated_node = _text(self.root, "updated", _when(EPOCH))
        author = ET.SubElement(self.root, f"{{{ATOM}}}author")
        _text(author, "name", "Ashyq")
        _text(author, "uri", settings_url)
        _text(self.root, "generator", "Ashyq", uri=settings_url)
        _link(self.root, self_url, "self", type="application/atom+xml")
        _link(self.root, page_url, "alternate", type="text/html")
        self.updated = EPOCH

    def entry(
        self,
        *,
        id: str,
        title: str,
        url: str,
        updated: datetime,
        published: datetime | None = None,
        summary: str | None = None,
        html: str | None = None,
        enclosure: tuple[str, str] | None = None,
        category: tuple[str, str] | None = None,
    ) -> None:
        node = ET.SubElement(self.root, f"{{{ATOM}}}entry")
        _text(node, "id", id)
        _text(node, "title", title)
        _text(node, "updated", _when(updated))
        if published is not None:
            _text(node, "published", _when(published))
        _link(node, url, "alternate", type="text/html")
        if enclosure is not None:
            _link(node, enclosure[0], "enclosure", type=enclosure[1] or "application/octet-stream")
        if category is not None:
            ET.SubElement(node, f"{{{ATOM}}}category", {"term": category[0], "label": category[1]})
        if summary:
            _text(node, "summary", summary)
        if html is not None:
            _text(node, "content", html, type="html")
        aware = updated.replace(tzinfo=UTC) if updated.tzinfo is None else updated
        self.updated = max(self.updated, aware)

    def bytes(self) -> bytes:
        self.updated_node.text = _when(self.updated)
        return ET.tostring(self.root, encoding="utf-8", xml_declaration=True)


def _last_change(session: Session, feed: Feed) -> datetime:
    """Last-Modified: the newest change to any recording, not only to the feed's entries — a
    withdrawn recording leaves the feed, and If-Modified-Since must not answer 304 for that."""
    changed = session.scalar(select(func.max(Recording.updated_at)))
    if changed is None:
        return feed.updated
    changed = changed.replace(tzinfo=UTC) if changed.tzinfo is None else changed
    return max(feed.updated, changed)


def _recording_entry(feed: Feed, site: str, rec: Recording) -> None:
    lang = current()
    summary = f"{rec.body.localized_name(lang)} · {rec.recorded_on.isoformat()}"
    if rec.description:
        summary += f"\n\n{rec.description}"
    feed.entry(
        id=recording_url(rec.id, site=site),
        title=rec.title,
        url=recording_url(rec.id, site=site),
        updated=rec.updated_at,
        published=rec.created_at,
        summary=summary,
        enclosure=(f"{site}/media/{rec.id}/playable", rec.playable_mime),
        category=(rec.body.slug, rec.body.localized_name(lang)),
    )


def _recordings_feed(
    request: Request,
    session: Session,
    site: str,
    title: str,
    page: str,
    recordings: list[Recording],
) -> Response:
    feed = Feed(site, f"{site}{request.url.path}", title, page)
    for rec in recordings:
        _recording_entry(feed, site, rec)
    return conditional(request, feed.bytes(), MEDIA_TYPE, _last_change(session, feed))


@router.get("/feeds/recordings.atom", response_class=Response)
def latest_feed(
    request: Request, session: SessionDep, settings: SettingsDep, limit: FeedSize = 30
) -> Response:
    """The latest published recordings, newest first."""
    site = settings.site_url
    items = list_recordings(session, per_page=limit).items
    title = _("Ashyq: latest recordings")
    return _recordings_feed(request, session, site, title, f"{site}/recordings", items)


@router.get("/feeds/bodies/{slug}.atom", response_class=Response)
def body_feed(
    request: Request, session: SessionDep, settings: SettingsDep, slug: str, limit: FeedSize = 30
) -> Response:
    """The latest published recordings of one body."""
    body = session.scalar(select(Body).where(Body.slug == slug))
    if body is None:
        raise HTTPException(404, f"no body {slug!r}")
    site = settings.site_url
    items = list_recordings(session, per_page=limit, body=body).items
    title = _("Ashyq: %(body)s") % {"body": body.localized_name(current())}
    page = f"{site}/bodies/{quote(slug)}"
    return _recordings_feed(request, session, site, title, page, items)


@router.get("/search.atom", response_class=Response)
def search_feed(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: SearchDep,
    params: SearchParamsDep,
    limit: Annotated[int, Query(ge=1, le=50, description="recordings in the feed")] = 20,
) -> Response:
    """A search as a feed: the matching moments of the newest matching recordings (up to three
    per recording), one entry per moment."""
    params.require_something()
    _results, found = run_search(
        settings, session, client, params, per_page=limit, sort="newest", page=1, context=False
    )
    site = settings.site_url
    page = f"{site}/search{params.link()}"
    self_url = f"{site}/search.atom{params.link()}"
    title = _("Ashyq: “%(query)s”") % {"query": params.q} if params.q else _("Ashyq: search")
    feed = Feed(site, self_url, title, page)
    for card in found:
        rec = card.recording
        for m in card.moments:
            feed.entry(
                id=recording_url(rec.id, site=site, fragment=f"seg-{m.hit.id}"),
                title=f"{rec.title} — {timestamp(m.moment)}",
                url=recording_url(rec.id, site=site, t=m.moment),
                updated=rec.updated_at,
                published=rec.created_at,
                html=m.hit.html,
                category=(rec.body.slug, rec.body.localized_name(current())),
            )
    return conditional(request, feed.bytes(), MEDIA_TYPE, _last_change(session, feed))
