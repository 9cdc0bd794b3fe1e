"""Atom feeds on a real database and Meilisearch: valid per RFC 4287's RELAX NG grammar, cheap to
poll (ETag / Last-Modified, 304), and never showing withdrawn or deleted recordings."""

from __future__ import annotations

import pytest

from tests.support.atom import assert_valid_atom
from tests.support.corpus import CORPUS

NS = {"a": "http://www.w3.org/2005/Atom"}
HIDDEN = {"Withdrawn", "Deleted"}


def entries(site, path: str, **params) -> tuple[list[dict], object]:
    answer = site.get(path, params={"lang": "en", **params})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/atom+xml")
    root = assert_valid_atom(answer.content)
    found = [
        {
            "id": e.findtext("a:id", namespaces=NS),
            "title": e.findtext("a:title", namespaces=NS),
            "link": e.find("a:link[@rel='alternate']", NS).get("href"),
        }
        for e in root.findall("a:entry", NS)
    ]
    return found, answer


def test_latest_recordings_feed_is_valid_atom_without_hidden_recordings(site):
    found, _ = entries(site, "/feeds/recordings.atom", limit=100)
    titles = {e["title"] for e in found}
    assert len(found) == len(CORPUS) - 2
    assert not titles & HIDDEN
    assert len({e["id"] for e in found}) == len(found)


def test_body_feed_lists_only_that_body(site):
    found, _ = entries(site, "/feeds/bodies/mazhilis.atom")
    expected = {r.title for r in CORPUS if r.body == "mazhilis"} - HIDDEN
    assert {e["title"] for e in found} == expected
    assert site.get("/feeds/bodies/nowhere.atom").status_code == 404


def test_search_feed_has_one_entry_per_matching_moment_with_a_deep_link(site):
    """
    GIVEN the sample archive
    WHEN /search.atom is asked for "бюджет" in the Mazhilis
    THEN each entry is a moment of a public Mazhilis recording, linked to its second
    """
    found, _ = entries(site, "/search.atom", q="бюджет", body="mazhilis")
    kk = CORPUS[0]  # its two moments; the English briefing says "budget", another word
    links = {e["link"].split("://", 1)[1].split("/", 1)[1] for e in found}
    assert len(found) == 2
    assert all(link.startswith(f"r/{kk.id}?t=") for link in links)
    assert not {e["title"].split(" — ")[0] for e in found} & HIDDEN
    assert site.get("/search.atom").status_code == 400
    assert site.get("/search.atom", params={"q": "-бюджет"}).json()["error"] == "invalid_parameter"


@pytest.mark.parametrize(
    "path", ["/feeds/recordings.atom", "/feeds/bodies/senate.atom", "/search.atom?q=railway"]
)
def test_conditional_get_answers_304_when_nothing_changed(site, path):
    """
    GIVEN a feed fetched once
    WHEN it is fetched again with If-None-Match, or with If-Modified-Since
    THEN 304 with no body; a stale ETag or an older date gets the whole feed again
    """
    first = site.get(path)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = site.get(path)
    assert again.headers["etag"] == etag and again.content == first.content
    by_tag = site.get(path, headers={"If-None-Match": etag})
    assert by_tag.status_code == 304 and by_tag.content == b""
    by_date = site.get(path, headers={"If-Modified-Since": modified})
    assert by_date.status_code == 304
    stale = site.get(path, headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200 and stale.content == first.content
    old = site.get(path, headers={"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})
    assert old.status_code == 200


def test_search_page_links_its_feed_and_alert(site):
    page = site.get("/search", params={"q": "railway", "lang": "en"})
    assert 'type="application/atom+xml"' in page.text
    assert 'href="/search.atom?q=railway"' in page.text
    assert 'href="/alerts/new?q=railway"' in page.text


def test_withdrawing_a_recording_takes_it_out_of_every_feed(site, settings):
    """
    GIVEN feeds fetched while a recording is public
    WHEN staff withdraw it (published = false) and readers poll with their validators
    THEN they get the new feed (200, not 304), without that recording
    """
    from archive.db import session_scope
    from archive.models import Recording

    briefing = CORPUS[2]
    paths = ["/feeds/recordings.atom", "/feeds/bodies/mazhilis.atom", "/search.atom?q=budget"]
    before = {p: site.get(p) for p in paths}
    assert all(briefing.title in b.text for b in before.values())
    with session_scope(settings.db_url) as session:
        session.get(Recording, briefing.id).published = False
    try:
        for path, old in before.items():
            for headers in (
                {"If-None-Match": old.headers["etag"]},
                {"If-Modified-Since": old.headers["last-modified"]},
            ):
                now = site.get(path, headers=headers)
                assert now.status_code == 200, (path, headers)
                assert briefing.title not in now.text
                assert_valid_atom(now.content)
    finally:
        with session_scope(settings.db_url) as session:
            session.get(Recording, briefing.id).published = True
