"""The open JSON API on a real database and Meilisearch: recordings with filters and cursor
pagination, transcripts, bodies, speakers, OpenAPI examples, CORS, JSON error codes, and the
per-client rate limit (429 + Retry-After after the documented count; an API key goes higher)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from archive.access import apikeys
from archive.db import session_scope
from tests.support.corpus import CORPUS, RAILWAY

HIDDEN = [r for r in CORPUS if not r.published or r.deleted]


def get(site, path: str, **params) -> dict:
    answer = site.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_recordings_page_through_with_a_cursor_newest_first(site):
    """
    GIVEN 15 public recordings (and 2 hidden ones)
    WHEN /api/v1/recordings is read 4 at a time following next_cursor
    THEN every public recording comes exactly once, newest first, and the last page has no cursor
    """
    seen, cursor, pages = [], None, 0
    while True:
        page = get(site, "/api/v1/recordings", limit=4, **({"cursor": cursor} if cursor else {}))
        seen += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    public = [r for r in CORPUS if r not in HIDDEN]
    assert pages == 4 and len(seen) == len(public)
    assert {r["id"] for r in seen} == {r.id for r in public}
    keys = [(r["date"], r["id"]) for r in seen]
    assert keys == sorted(keys, reverse=True)
    first = seen[0]
    assert first["transcript_url"].endswith(f"/api/v1/recordings/{first['id']}/transcript")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"body": "mazhilis"}, {"Бюджет отырысы", "Briefing on the budget"}),
        ({"year": 2025}, {"Бюджет отырысы"}),
        ({"language": "ru"}, {"Заседание Сената"}),
        ({"event_type": "hearing"}, {"Заседание Сената"}),
        ({"from": "2026-01-01"}, {"Заседание Сената", "Briefing on the budget"}),
        ({"to": "2024-01-02", "body": "senate"}, {RAILWAY[0].title, RAILWAY[1].title}),
    ],
)
def test_recording_filters(site, params, expected):
    assert {r["title"] for r in get(site, "/api/v1/recordings", **params)["items"]} == expected


def test_transcript_has_segments_and_timed_words(site):
    rec = CORPUS[0]
    transcript = get(site, f"/api/v1/recordings/{rec.id}/transcript")
    assert transcript["recording_id"] == rec.id
    assert [s["id"] for s in transcript["segments"]] == [f"{rec.id}-{i}" for i in range(5)]
    first = transcript["segments"][0]
    assert first["speaker"] == "tokayev" and first["language"] == "kk"
    assert [w["word"].strip() for w in first["words"]] == first["text"].split()
    assert first["words"][0]["start"] == rec.segment_starts[0]


def test_bodies_and_speakers(site):
    bodies = {b["slug"]: b for b in get(site, "/api/v1/bodies")}
    assert bodies["mazhilis"]["recordings"] == 2  # the withdrawn and the deleted do not count
    assert bodies["mazhilis"]["names"] == {"kk": "Мәжіліс", "ru": "Мажилис", "en": "Mazhilis"}
    assert bodies["senate"]["feed_url"].endswith("/feeds/bodies/senate.atom")
    [speaker] = get(site, "/api/v1/speakers")
    assert speaker["slug"] == "tokayev" and speaker["names"]["en"] == "Kassym-Jomart Tokayev"


def test_hidden_recordings_are_nowhere_in_the_api(site):
    listed = {r["id"] for r in get(site, "/api/v1/recordings", limit=100)["items"]}
    for rec in HIDDEN:
        assert rec.id not in listed
        for path in (f"/api/v1/recordings/{rec.id}", f"/api/v1/recordings/{rec.id}/transcript"):
            answer = site.get(path)
            assert answer.status_code == 404
            assert answer.json()["error"] == "not_found"


def test_errors_are_json_with_codes(site):
    bad = site.get("/api/v1/recordings", params={"limit": 0})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_parameter"
    cursor = site.get("/api/v1/recordings", params={"cursor": "%%%"})
    assert cursor.status_code == 400 and "cursor" in cursor.json()["detail"]
    kind = site.get("/api/v1/recordings", params={"event_type": "party"})
    assert kind.status_code == 400 and kind.json()["error"] == "invalid_parameter"
    missing = site.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_cors_lets_any_site_read_but_not_write(site):
    answer = site.get("/api/v1/bodies", headers={"Origin": "https://newsroom.example"})
    assert answer.headers["access-control-allow-origin"] == "*"
    preflight = site.options(
        "/api/v1/recordings",
        headers={"Origin": "https://x.example", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    refused = site.options(
        "/api/v1/recordings",
        headers={"Origin": "https://x.example", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status_code == 400


def test_openapi_documents_the_endpoints_with_examples(site):
    spec = get(site, "/openapi.json")
    for path in (
        "/api/v1/recordings",
        "/api/v1/recordings/{recording_id}/transcript",
        "/api/v1/bodies",
        "/api/v1/speakers",
        "/api/v1/dumps/latest",
        "/api/v1/search",
    ):
        assert "get" in spec["paths"][path], path
    schemas = spec["components"]["schemas"]
    for name in ("RecordingSummary", "Transcript", "BodyOut", "SpeakerOut", "DumpOut"):
        assert schemas[name].get("examples"), name
    listing = spec["paths"]["/api/v1/recordings"]["get"]
    assert {"400", "404", "429"} <= set(listing["responses"])


def test_rate_limit_answers_429_with_retry_after_and_a_key_goes_higher(settings):
    """
    GIVEN an app limited to 5 requests a minute per client, and an API key allowed 8
    WHEN a client makes 6 requests, and the key holder 9
    THEN the 6th answer is 429 with Retry-After and a JSON code; the key's 6th to 8th pass and
      its 9th is 429; an unknown key gets no way round the spent limit; listing pages are not
      limited
    """
    from api.app import create_app

    limited = settings.model_copy(update={"rate_limit_per_minute": 5})
    with session_scope(settings.db_url) as session:
        _row, key = apikeys.create(session, "newsroom", per_minute=8)
    with TestClient(create_app(limited)) as client:
        answers = [client.get("/api/v1/bodies") for _ in range(6)]
        assert [a.status_code for a in answers] == [200] * 5 + [429]
        assert [a.headers["x-ratelimit-remaining"] for a in answers[:5]] == [
            "4",
            "3",
            "2",
            "1",
            "0",
        ]
        over = answers[-1]
        assert over.json()["error"] == "rate_limited"
        assert 1 <= int(over.headers["retry-after"]) <= 60
        assert client.get("/feeds/recordings.atom").status_code == 429
        assert client.get("/recordings").status_code == 200  # pages are for people
        keyed = [client.get("/api/v1/bodies", headers={"X-API-Key": key}) for _ in range(9)]
        assert [a.status_code for a in keyed] == [200] * 8 + [429]
        assert keyed[0].headers["x-ratelimit-limit"] == "8"
        # An unknown key counts against the address, whose minute is spent (401 when it is not,
        # see test_hardening_limits).
        wrong = client.get("/api/v1/bodies", headers={"X-API-Key": "ashyq_wrong"})
        assert wrong.status_code == 429 and wrong.json()["error"] == "rate_limited"
