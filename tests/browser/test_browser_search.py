"""Search, filter, page, open and hear — and the accessibility check — in Debian's Chromium."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from tests.conftest import REPO, clean_archive
from tests.support.corpus import CORPUS, seed
from tests.support.helpers import player_time, search_in_the_browser
from tests.support.media_factory import ffmpeg

pytestmark = pytest.mark.browser
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def sample(settings, tmp_path_factory):
    """The sample archive, every recording playing one 40-second tone (AAC in MP4)."""
    media = tmp_path_factory.mktemp("media") / "tone.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=40", "-c:a", "aac", str(media))
    clean_archive(settings)
    seed(settings, CORPUS, media=Path(media))
    yield CORPUS
    clean_archive(settings)


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations on the page as it is now."""
    # Evaluated through the DevTools protocol, not as a <script> tag: the pages' CSP
    # (script-src 'self') refuses inline scripts, and rightly so.
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_search_two_facets_page_two_open_hit_and_hear_it(sample, web, browser):
    """
    GIVEN twelve committee meetings mentioning the railway WHEN a citizen searches, picks the
    Senate and the year 2024, goes to page 2 and opens a moment THEN the player starts within
    1.5 s of it with its segment highlighted; the captions track loads and parses
    """
    page = browser.new_page()
    try:
        search_in_the_browser(page, f"{web}/?lang=en", "railway", ".card")
        page.locator(".facet a", has_text="Senate").click()
        page.wait_for_url(re.compile(r"body=senate"))
        page.locator(".facet a", has_text="2024").click()
        page.wait_for_url(re.compile(r"year=2024"))
        assert "body=senate" in page.url
        page.locator("a[rel=next]").click()
        page.wait_for_url(re.compile(r"page=2"))
        assert "body=senate" in page.url and "year=2024" in page.url
        assert page.locator(".card").count() == 2
        link = page.locator(".hit a.moment").first
        href = link.get_attribute("href") or ""
        moment = float(re.search(r"[?&]t=(\d+)", href).group(1))
        segment = href.split("#")[1]
        link.click()
        page.wait_for_url(re.compile(r"/r/\d+\?t="))
        now = player_time(page)
        assert abs(now - moment) <= 1.5, (now, moment)
        assert page.locator(f"#{segment}.current").count() == 1

        track = page.locator("track[kind=captions]")
        assert track.count() == 1
        page.evaluate("document.querySelector('track').track.mode = 'hidden'")
        page.wait_for_function("() => document.querySelector('track').readyState === 2")
        cues = page.evaluate("document.querySelector('track').track.cues.length")
        assert cues == page.locator("#transcript .seg").count()
        import webvtt

        vtt = page.request.get(web + track.get_attribute("src")).text()
        assert len(webvtt.from_buffer(io.StringIO(vtt))) == cues
    finally:
        page.close()


def test_language_switch_changes_the_interface(sample, web, browser):
    page = browser.new_page()
    try:
        page.goto(f"{web}/search?q=бюджет&lang=en")
        assert page.locator("#filters-h").inner_text() == "Filters"
        page.locator("nav.langs a[hreflang=ru]").click()
        page.wait_for_url(re.compile(r"lang=ru"))
        assert page.locator("#filters-h").inner_text() == "Фильтры"
        assert page.locator("html").get_attribute("lang") == "ru"
        assert "q=" in page.url  # the page stays the same search
        page.goto(f"{web}/recordings")  # the cookie remembers the choice
        assert page.locator("h1").inner_text() == "Последние записи"
        page.locator("nav.langs a[hreflang=kk]").click()
        page.wait_for_url(re.compile(r"lang=kk"))
        assert page.locator("h1").inner_text() == "Соңғы жазбалар"
    finally:
        page.close()


@pytest.mark.parametrize(
    "path",
    [
        "/?lang=kk",
        "/search?q=бюджет&lang=ru",
        "/search?q=railway&lang=en",
        "/recordings?lang=en",
        "/bodies/mazhilis?lang=kk",
        "/search/help?lang=ru",
        "RECORDING",
    ],
)
def test_no_serious_accessibility_violations(sample, web, browser, path):
    if path == "RECORDING":
        path = f"/r/{sample[0].id}?t=5&find=бюджет&lang=kk"
    page = browser.new_page()
    try:
        page.goto(web + path)
        assert axe_violations(page) == []
    finally:
        page.close()


def test_pages_work_without_javascript_and_stay_small(sample, web, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{web}/search?q=бюджет&lang=en")
        page.select_option("#sort", "oldest")
        page.locator("form.sort button").click()
        page.wait_for_url(re.compile(r"sort=oldest"))
        titles = page.locator(".card h2").all_inner_texts()
        assert titles == ["Бюджет отырысы", "Заседание Сената"]
        page.locator(".facet a", has_text="Mazhilis").click()
        page.wait_for_url(re.compile(r"body=mazhilis"))
        assert page.locator(".card h2").all_inner_texts() == ["Бюджет отырысы"]
        page.locator(".hit a.moment").first.click()
        page.wait_for_url(re.compile(r"/r/\d+\?t=\d+#seg-"))
        assert page.locator("#transcript .seg.current").count() == 1
    finally:
        context.close()
    import httpx

    for path in ("/", f"/r/{sample[0].id}", "/search?q=budget", "/recordings"):
        html = httpx.get(web + path).text
        assets = re.findall(r'(?:src|href)="(?:https?://[^/"]+)?(/static/[^"]+)"', html)
        assert any(a.endswith(".css") for a in assets)
        external = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', html)
        assert all(url.startswith(web) for url in external), external  # no CDN
        total = sum(len(httpx.get(web + asset).content) for asset in assets)
        assert total < 100_000, (path, total)
