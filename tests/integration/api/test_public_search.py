"""Public search over HTTP, on a real Meilisearch and database: grouping by recording, every
filter and sort, phrases and exclusions, typos, bad parameters, browse pages and captions."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.support.corpus import CORPUS, RAILWAY, SECONDS_PER_WORD


def api(site, **params) -> dict:
    answer = site.get("/api/v1/search", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def titles(found: dict) -> list[str]:
    return [r["title"] for r in found["recordings"]]


def test_results_are_grouped_by_recording_with_their_best_moments(site):
    found = api(site, q="бюджет")
    # The English "budget" is another word (two letters from бюджет's folded "biudjet").
    assert set(titles(found)) == {"Бюджет отырысы", "Заседание Сената"}
    assert found["total_recordings"] == 2
    kk = next(r for r in found["recordings"] if r["title"] == "Бюджет отырысы")
    assert kk["hit_count"] == 2 and len(kk["moments"]) == 2
    assert all("<mark>" in m["highlight_html"] for m in kk["moments"])
    assert found["total"] == sum(r["hit_count"] for r in found["recordings"])
    assert [h["segment_id"] for h in found["hits"]] == [
        m["segment_id"] for r in found["recordings"] for m in r["moments"]
    ]


def test_withdrawn_and_deleted_recordings_are_never_shown(site):
    found = api(site, q="бюджет")
    assert "Withdrawn" not in titles(found) and "Deleted" not in titles(found)
    hidden = [r for r in CORPUS if not r.published or r.deleted]
    for rec in hidden:
        assert site.get(f"/r/{rec.id}").status_code == 404
        assert site.get(f"/api/v1/recordings/{rec.id}").status_code == 404
        assert site.get(f"/r/{rec.id}/captions.vtt").status_code == 404
    listing = site.get("/recordings", params={"lang": "en"}).text
    assert "Withdrawn" not in listing and "Deleted" not in listing


def test_moment_is_when_the_matching_word_is_spoken(site):
    found = api(site, q="кодексі")
    rec = CORPUS[0]
    moments = {m["segment_id"]: m["moment"] for m in found["hits"]}
    # "Салық кодексі …": the second word of segment 2, "… салық кодексі …" the fifth of segment 3.
    assert moments[f"{rec.id}-2"] == pytest.approx(rec.segment_starts[2] + SECONDS_PER_WORD)
    assert moments[f"{rec.id}-3"] == pytest.approx(rec.segment_starts[3] + 4 * SECONDS_PER_WORD)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"body": "senate"}, {"Заседание Сената"}),
        ({"body": "mazhilis"}, {"Бюджет отырысы"}),
        ({"q": "budget", "body": "mazhilis"}, {"Briefing on the budget"}),
        ({"year": 2025}, {"Бюджет отырысы"}),
        ({"language": "ru"}, {"Заседание Сената"}),
        ({"q": "budget", "language": "en", "body": "mazhilis"}, {"Briefing on the budget"}),
        ({"q": "budget", "event_type": "briefing"}, {"Briefing on the budget"}),
        ({"speaker": "tokayev"}, {"Бюджет отырысы"}),
        ({"from": "2026-01-01"}, {"Заседание Сената"}),
        ({"to": "2026-01-15"}, {"Бюджет отырысы"}),
        ({"q": "budget", "to": "2026-01-15"}, {"Briefing on the budget"}),
        ({"from": "2026-01-16", "to": "2026-05-01"}, {"Заседание Сената"}),
    ],
)
def test_every_filter_narrows_the_results(site, params, expected):
    params = {"q": "бюджет", **params}
    assert set(titles(api(site, **params))) == expected
    page = site.get("/search", params={"lang": "en", **params})
    assert page.status_code == 200
    assert sorted(set(re.findall(r'<h2><a href="/r/\d+">([^<]+)</a>', page.text))) == sorted(
        expected
    )


def test_facets_count_and_name_values_in_the_ui_language(site):
    found = api(site, q="бюджет")
    assert found["facets"]["body"] == {"mazhilis": 2, "senate": 1}
    assert found["facets"]["year"] == {"2025": 2, "2026": 1}
    assert found["facets"]["speaker"] == {"tokayev": 2}
    assert found["facets"]["event_type"] == {"plenary": 2, "hearing": 1}
    english = site.get("/search", params={"q": "бюджет", "lang": "en"}).text
    assert "Mazhilis" in english and "Kassym-Jomart Tokayev" in english
    russian = site.get("/search", params={"q": "бюджет", "lang": "ru"}).text
    assert "Мажилис" in russian and "Касым-Жомарт Токаев" in russian
    assert 'href="?q=%D0%B1%D1%8E%D0%B4%D0%B6%D0%B5%D1%82&amp;body=senate"' in english


def test_sort_by_date_both_ways_and_relevance(site):
    newest = api(site, q="бюджет", sort="newest")
    assert titles(newest) == ["Заседание Сената", "Бюджет отырысы"]
    oldest = api(site, q="бюджет", sort="oldest")
    assert titles(oldest) == list(reversed(titles(newest)))
    relevance = api(site, q="railway funding")
    assert len(titles(relevance)) == 10 and relevance["total_recordings"] == 12


def test_pagination_pages_through_recordings_keeping_filters(site):
    first = api(site, q="railway", body="senate", sort="newest")
    second = api(site, q="railway", body="senate", sort="newest", page=2)
    assert first["pages"] == 2 and len(first["recordings"]) == 10 and len(second["recordings"]) == 2
    assert not set(titles(first)) & set(titles(second))
    assert (
        titles(first)[0] == "Transport committee 11"
        and titles(second)[-1] == "Transport committee 0"
    )
    html = site.get("/search", params={"q": "railway", "body": "senate", "lang": "en"}).text
    assert 'rel="next" href="?q=railway&amp;body=senate&amp;page=2"' in html
    assert "Page 1 of 2" in html


def test_exact_phrase_and_excluded_words(site):
    rec = CORPUS[0]
    phrase = api(site, q='"бюджет жобасы"')
    assert [h["segment_id"] for h in phrase["hits"]] == [f"{rec.id}-3"]
    without = api(site, q="бюджет -салық")
    ids = {h["segment_id"] for h in without["hits"]}
    assert f"{rec.id}-1" in ids and f"{rec.id}-3" not in ids
    no_phrase = api(site, q='кодексі -"бюджет жобасы"')
    assert {h["segment_id"] for h in no_phrase["hits"]} == {f"{rec.id}-2"}
    # The folded and stemmed forms carry the exclusion too: a Latin query excludes as well.
    latin = api(site, q="salyq -qaraladi")
    assert {h["segment_id"] for h in latin["hits"]} == {f"{rec.id}-2"}


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("депутатармен", "Бюджет отырысы"),  # one letter missing in a Kazakh word
        ("талкыланды", "Бюджет отырысы"),  # қ typed as к
        ("обсудале", "Заседание Сената"),  # two wrong letters in a 8-letter Russian word
        ("праект бюджета", "Заседание Сената"),  # a typo in a word that is not the last
    ],
)
def test_typos_in_cyrillic_words_are_forgiven(site, query, title):
    assert title in titles(api(site, q=query))


def test_short_words_need_to_be_exact(site):
    # Below 4 letters no typo is allowed: "год" must not match "гад"/"бод".
    assert api(site, q="гад")["total"] == 0


def test_snippets_are_cropped_around_the_match(settings):
    from search.meili.query import crop_html

    text = " ".join(f"w{i}" for i in range(100))
    at = text.index("w70")
    cropped = crop_html(text, [(at, at + 3)], 20)
    assert "<mark>w70</mark>" in cropped and cropped.startswith("…") and cropped.endswith("…")
    assert len(cropped.split()) <= 21 and "w0 " not in cropped


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "x", "sort": "random"}, "sort"),
        ({"q": "x", "year": "abc"}, "year"),
        ({"q": "x", "page": "0"}, "page"),
        ({"q": "x", "from": "2026-02-30"}, "from"),
        ({"q": "x", "from": "2026-03-01", "to": "2026-02-01"}, "from"),
        ({"q": "x", "language": "Russian"}, "language"),
        ({"q": "x", "body": "../etc"}, "body"),
        ({"q": "x", "event_type": "party"}, "event_type"),
        ({"q": "-салық"}, "q"),
        ({"q": "x" * 501}, "q"),
    ],
)
def test_bad_parameters_get_a_400_with_the_reason(site, params, message):
    answer = site.get("/api/v1/search", params=params)
    assert answer.status_code == 400, answer.text
    assert message in answer.json()["detail"]
    page = site.get("/search", params={**params, "lang": "en"})
    assert page.status_code == 400 and message in page.text


def test_empty_and_no_result_states_say_what_to_try(site):
    empty = site.get("/search", params={"lang": "en"}).text
    assert "Type a word or a phrase" in empty and "/search/help" in empty
    none = site.get("/search", params={"q": "zzzzqqq", "body": "senate", "lang": "en"}).text
    assert "Nothing found for" in none and "Search without filters" in none
    assert site.get("/api/v1/search").status_code == 400
    only_filter = api(site, body="mazhilis", year=2026)
    assert titles(only_filter) == ["Briefing on the budget"]


def test_recording_page_context_captions_and_open_graph(site):
    import io

    import webvtt

    rec = CORPUS[0]
    page = site.get(f"/r/{rec.id}", params={"t": 5, "find": "салык", "lang": "en"}).text
    assert 'property="og:title" content="Бюджет отырысы"' in page
    assert '<link rel="canonical" href="http://127.0.0.1:' in page
    assert f'<track kind="captions" src="/r/{rec.id}/captions.vtt"' in page
    assert (
        "2 segments contain" in page
        and page.count('class="seg found"') + page.count("seg current found") == 2
    )
    assert "Kassym-Jomart Tokayev" in page and "Plenary session" in page
    vtt = site.get(f"/r/{rec.id}/captions.vtt")
    assert vtt.headers["content-type"].startswith("text/vtt")
    captions = webvtt.from_buffer(io.StringIO(vtt.text))
    assert [c.text for c in captions] == [text for _, text in rec.lines]
    assert captions[1].start_in_seconds == pytest.approx(rec.segment_starts[1], abs=0.001)
    search = site.get("/search", params={"q": "салық кодексі", "lang": "en"}).text
    assert "<summary>Context</summary>" in search and "Бюджеттің жобасы" in search


def test_browse_pages_list_recordings_with_pagination(site):
    def listed(html: str) -> list[str]:
        return re.findall(r'<div><a href="/r/\d+">([^<]+)</a>', html)

    latest = site.get("/recordings", params={"lang": "en"}).text
    assert len(listed(latest)) == 15 and listed(latest)[0] == "Заседание Сената"
    senate = site.get("/bodies/senate", params={"lang": "en"})
    assert senate.status_code == 200 and "<h1>Senate</h1>" in senate.text
    assert len(listed(senate.text)) == 13
    year = site.get("/years/2024", params={"lang": "en"}).text
    assert sorted(listed(year)) == sorted(r.title for r in RAILWAY)
    assert site.get("/bodies/nowhere").status_code == 404
    assert site.get("/years/2024", params={"page": 2}).status_code == 404
    bodies = site.get("/bodies", params={"lang": "ru"}).text
    assert "Мажилис" in bodies and "Сенат" in bodies


def test_browse_pages_paginate(settings, site):
    from api.reading.recordings import list_recordings
    from archive.db import session_scope

    with session_scope(settings.db_url) as session:
        first = list_recordings(session, per_page=10)
        second = list_recordings(session, per_page=10, page=2)
        assert (first.total, first.pages, len(first.items), len(second.items)) == (15, 2, 10, 5)
        dates = [r.recorded_on for r in first.items + second.items]
        assert dates == sorted(dates, reverse=True)


def test_ui_language_from_parameter_cookie_and_accept_language(site):
    english = site.get("/search", params={"lang": "en"})
    assert 'lang="en"' in english.text and "Type a word" in english.text
    assert "lang=en" in english.headers["set-cookie"]
    site.cookies.clear()
    russian = site.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert '<html lang="ru">' in russian.text and russian.headers["content-language"] == "ru"
    kazakh = site.get("/", headers={"Accept-Language": "de"})
    assert '<html lang="kk">' in kazakh.text


def test_search_answers_503_while_meilisearch_cannot_be_reached(settings, tmp_path):
    """
    GIVEN an archive whose Meilisearch address answers nothing (a port nobody listens on)
    WHEN the JSON API and the search page are asked
    THEN both answer 503: JSON with the "unavailable" code, and a page for people
    """
    from api.app import create_app

    down = settings.model_copy(update={"meili_url": "http://127.0.0.1:9", "meili_timeout_s": 2})
    client = TestClient(create_app(down), raise_server_exceptions=False)
    answer = client.get("/api/v1/search", params={"q": "budget"})
    assert answer.status_code == 503
    assert answer.json() == {"error": "unavailable", "detail": "search is unavailable"}
    page = client.get("/search", params={"q": "budget"}, headers={"accept": "text/html"})
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
