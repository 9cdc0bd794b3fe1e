"""Transcript exports, range permalinks without JavaScript, embeds, oEmbed and framing headers."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from html import unescape

import docx
import httpx
import pytest
import srt
import webvtt

from tests.conftest import clean_archive
from tests.support.spoken import make_media, store


@pytest.fixture(scope="module")
def spoken(settings, tmp_path_factory):
    clean_archive(settings)
    folder = tmp_path_factory.mktemp("spoken")
    media, bounds = make_media(folder / "video")
    yield store(settings, media, bounds)
    clean_archive(settings)


def seconds(value: timedelta) -> float:
    return value.total_seconds()


def vtt_seconds(stamp: str) -> float:
    hours, minutes, secs = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(secs)


@pytest.mark.parametrize("span", [None, (2.0, 6.5)], ids=["whole", "range"])
def test_exports_parse_and_keep_the_stored_times(spoken, web, span):
    """
    GIVEN a recording of three segments WHEN its transcript (whole, or a range overlapping the
    first two segments) is exported THEN SRT, WebVTT, JSON, TXT and DOCX parse with real parsers
    and carry exactly the stored segments' times and texts
    """
    params = {"start": span[0], "end": span[1], "lang": "en"} if span else {"lang": "en"}
    expected = spoken.segments[:2] if span else spoken.segments

    def get(fmt: str) -> httpx.Response:
        response = httpx.get(f"{web}/r/{spoken.id}/transcript.{fmt}", params=params, timeout=30)
        assert response.status_code == 200, response.text
        assert "attachment" in response.headers["content-disposition"]
        return response

    subs = list(srt.parse(get("srt").text))
    assert [(seconds(s.start), seconds(s.end), s.content) for s in subs] == expected

    cues = webvtt.from_buffer(io.StringIO(get("vtt").text))
    got = [(vtt_seconds(c.start), vtt_seconds(c.end), c.text) for c in cues]
    assert got == expected

    data = json.loads(get("json").text)
    assert [(s["start"], s["end"], s["text"]) for s in data["segments"]] == expected
    assert all(
        s["words"] and {"start", "end", "word"} <= s["words"][0].keys() for s in data["segments"]
    )
    assert data["range"] == ({"start": span[0], "end": span[1]} if span else None)

    lines = get("txt").text.splitlines()
    parsed = [re.match(r"\[(\S+) - (\S+)\] (.*)", line).groups() for line in lines]
    assert [(vtt_seconds(a), vtt_seconds(b), t) for a, b, t in parsed] == expected

    document = docx.Document(io.BytesIO(get("docx").content))
    paragraphs = [p.text for p in document.paragraphs]
    assert document.paragraphs[0].style.name == "Heading 1"
    assert paragraphs[0] == "Committee on transport"
    citation = next(p for p in paragraphs if p.startswith("Cite as:"))
    assert "Committee on transport" in citation and "March 15, 2026" in citation
    assert f"/r/{spoken.id}" in citation
    for start, end, text in expected:
        line = next(p for p in paragraphs if p.endswith(text))
        stamps = re.match(r"\[(\S+) – (\S+)\]", line).groups()
        assert (vtt_seconds(stamps[0]), vtt_seconds(stamps[1])) == (start, end)


def test_permalink_works_without_javascript(spoken, web):
    """
    GIVEN a permalink ?t=START&end=END WHEN the page is read as HTML (no script runs)
    THEN the quoted lines are marked, the media URL carries #t=START,END, and the citation
    (title, body, date, time range, permalink; speaker when known) is on the page
    """
    start, end = 0.25, 5.75  # the first two segments
    html = httpx.get(f"{web}/r/{spoken.id}", params={"t": start, "end": end, "lang": "en"}).text
    quoted = re.findall(r'<li id="seg-([\d-]+)" class="seg[^"]*\bquoted\b', html)
    assert quoted == [f"{spoken.id}-0", f"{spoken.id}-1"]
    assert f'src="/media/{spoken.id}/playable#t={start},{end}"' in html
    assert f'data-end="{end}"' in html
    cite = unescape(re.search(r'<textarea id="quote-cite"[^>]*>([^<]*)', html).group(1))
    assert cite == (
        "Marat Karabayev, “Committee on transport”, Transport committee, March 15, 2026, "
        f"0:00–0:05. http://127.0.0.1:{web.rsplit(':', 1)[1]}/r/{spoken.id}?t=0.25&end=5.75"
    )
    markdown = unescape(re.search(r'<textarea id="quote-md"[^>]*>([^<]*)', html).group(1))
    assert markdown.startswith("> Good morning. The session")
    assert "[0:00–0:05](http://" in markdown and "*Committee on transport*" in markdown
    russian = httpx.get(f"{web}/r/{spoken.id}", params={"t": start, "end": end, "lang": "ru"}).text
    cite_ru = unescape(re.search(r'<textarea id="quote-cite"[^>]*>([^<]*)', russian).group(1))
    assert "2026" in cite_ru and "марта" in cite_ru  # the date in the UI language
    form = httpx.get(f"{web}/r/{spoken.id}", params={"t": "0:00.25", "end": "0:05.75"}).text
    assert f'src="/media/{spoken.id}/playable#t={start},{end}"' in form  # typed clock times


def test_only_the_embed_may_be_framed(spoken, web):
    """The embed page allows any frame ancestor; every other response forbids framing."""
    embed = httpx.get(f"{web}/embed/{spoken.id}", params={"t": 1.5, "end": 4})
    assert embed.status_code == 200
    embed_policy = [p.strip() for p in embed.headers["content-security-policy"].split(";")]
    assert "frame-ancestors *" in embed_policy and "script-src 'self'" in embed_policy
    assert "x-frame-options" not in embed.headers
    assert f'src="/media/{spoken.id}/playable#t=1.5,4"' in embed.text
    assert 'data-end="4"' in embed.text
    paths = [
        "/",
        f"/r/{spoken.id}",
        f"/r/{spoken.id}/transcript.srt",
        "/static/quote.js",
        f"/api/v1/recordings/{spoken.id}",
        f"/media/{spoken.id}/playable",
        "/no-such-page",
        f"/r/{spoken.id}/clip.json?start=1&end=2",
    ]
    for path in paths:
        response = httpx.get(web + path)
        assert response.headers["x-frame-options"] == "DENY", path
        policy = [p.strip() for p in response.headers["content-security-policy"].split(";")]
        assert policy[-1] == "frame-ancestors 'none'", path  # after the page's or media's own


def test_oembed_is_discoverable_and_describes_the_embed(spoken, web):
    page = httpx.get(f"{web}/r/{spoken.id}", params={"t": 1.5, "end": 4}).text
    link = re.search(r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)"', page)
    assert link
    answer = httpx.get(unescape(link.group(1)))
    assert answer.status_code == 200
    data = answer.json()
    assert data["version"] == "1.0" and data["type"] == "video"
    assert data["title"] == "Committee on transport"
    assert f'src="{web}/embed/{spoken.id}?t=1.5&end=4"' in data["html"]
    assert (data["width"], data["height"]) == (640, 360)
    small = httpx.get(f"{web}/oembed", params={"url": f"{web}/r/{spoken.id}", "maxwidth": 320})
    assert (small.json()["width"], small.json()["height"]) == (320, 180)
    assert httpx.get(f"{web}/oembed", params={"url": "https://example.org/r/1"}).status_code == 404
    xml = httpx.get(f"{web}/oembed", params={"url": f"{web}/r/{spoken.id}", "format": "xml"})
    assert xml.status_code == 501
