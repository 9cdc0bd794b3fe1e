"""Quoting in Debian's Chromium: select a range, copy its citation, open its permalink fresh."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.browser.test_browser_search import axe_violations
from tests.conftest import clean_archive
from tests.support.spoken import make_media, store
from web.formatting import timestamp

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def spoken(settings, tmp_path_factory):
    clean_archive(settings)
    media, bounds = make_media(tmp_path_factory.mktemp("spoken"))
    yield store(settings, media, bounds)
    clean_archive(settings)


def test_select_words_cite_and_replay_the_permalink(spoken, web, browser):
    """
    GIVEN a recording page WHEN a journalist clicks a word and shift-clicks another, copies the
    citation and opens the permalink in a fresh page THEN the citation names the title, date and
    time range; the fresh page highlights the quote, playback starts within 0.5 s of START and
    pauses within 0.5 s after END
    """
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        page.goto(f"{web}/r/{spoken.id}?lang=en")
        page.wait_for_selector("#quote-how:not([hidden])")
        first = page.locator(f"#seg-{spoken.id}-1 .w").first
        last = page.locator(f"#seg-{spoken.id}-2 .w").last
        start = float(first.get_attribute("data-s"))
        end = float(last.get_attribute("data-e"))
        first.click()
        last.click(modifiers=["Shift"])
        page.wait_for_function("() => document.getElementById('quote-link').value.includes('end=')")
        assert page.locator("#quote-result").is_visible()
        link = page.input_value("#quote-link")
        assert link.endswith(f"/r/{spoken.id}?t={start:g}&end={end:g}")
        assert page.locator(".seg.quoted").count() == 2
        citation = page.input_value("#quote-cite")
        assert "“Committee on transport”" in citation and "March 15, 2026" in citation
        assert f"{timestamp(start)}–{timestamp(end)}" in citation, citation
        assert page.input_value("#quote-text") == " ".join(t for _, _, t in spoken.segments[1:])
        page.locator("button.copy[data-target=quote-cite]").click()
        assert page.evaluate("navigator.clipboard.readText()") == citation
        page.locator(f"#seg-{spoken.id}-0 button.copy-seg").click()
        assert page.evaluate("navigator.clipboard.readText()") == spoken.segments[0][2]
        clip = page.locator("#quote-clips a[data-kind='clip.mp4']").get_attribute("href")
        assert clip == f"/r/{spoken.id}/clip.mp4?start={start:g}&end={end:g}"

        # Dragging over lines selects whole words too.
        word0 = page.locator(f"#seg-{spoken.id}-0 .w").nth(1)
        word1 = page.locator(f"#seg-{spoken.id}-1 .w").nth(2)
        word0.scroll_into_view_if_needed()
        box0, box1 = word0.bounding_box(), word1.bounding_box()
        page.mouse.move(box0["x"] + 2, box0["y"] + box0["height"] / 2)
        page.mouse.down()
        page.mouse.move(box1["x"] + box1["width"] - 2, box1["y"] + box1["height"] / 2, steps=5)
        page.mouse.up()
        dragged = f"t={float(word0.get_attribute('data-s')):g}"
        page.wait_for_function(
            f"() => document.getElementById('quote-link').value.includes('{dragged}&')"
        )
        assert page.input_value("#range-end") == f"{float(word1.get_attribute('data-e')):g}"
    finally:
        context.close()

    fresh = browser.new_context()
    page = fresh.new_page()
    try:
        page.goto(link)
        assert page.locator(".seg.quoted").count() == 2
        page.wait_for_function(
            f"() => {{ const p = document.getElementById('player');"
            f" return p.readyState >= 1 && Math.abs(p.currentTime - {start}) < 0.5; }}"
        )
        began = page.evaluate(
            "() => new Promise(done => { const p = document.getElementById('player');"
            " p.addEventListener('playing', () => done(p.currentTime), {once: true}); p.play(); })"
        )
        assert abs(began - start) <= 0.5, (began, start)
        page.wait_for_function(
            "() => document.getElementById('player').paused", timeout=(end - start + 10) * 1000
        )
        stopped = page.evaluate("document.getElementById('player').currentTime")
        assert end - 0.05 <= stopped <= end + 0.5, (stopped, end)
    finally:
        fresh.close()


def test_another_site_can_frame_the_embed_but_not_the_page(spoken, web, browser, tmp_path):
    """
    GIVEN a page on another origin (127.0.0.2) with two iframes WHEN one frames
    /embed/{id}?t=&end= and the other the recording page THEN the embed loads its player and stops
    at END, and the browser refuses to show the recording page
    """
    _, s1, e1 = 0, *spoken.segments[1][:2]
    (tmp_path / "frame.html").write_text(
        f'<!doctype html><iframe id="embed" width="640" height="360" '
        f'src="{web}/embed/{spoken.id}?t={s1}&end={e1}"></iframe>'
        f'<iframe id="page" src="{web}/r/{spoken.id}"></iframe>'
    )
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.2", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = browser.new_page()
    try:
        page.goto(f"http://127.0.0.2:{server.server_address[1]}/frame.html")
        embed = page.locator("#embed").content_frame
        embed.locator("#player").wait_for(state="attached")
        player = embed.locator("#player")
        player.evaluate("p => p.play()")
        player.evaluate(
            "p => new Promise(done => { const tick = () => p.paused && p.currentTime > 0 ?"
            " done() : setTimeout(tick, 100); tick(); })"
        )
        assert abs(player.evaluate("p => p.currentTime") - e1) <= 0.5
        # Chromium replaces a frame it refuses (X-Frame-Options, frame-ancestors) by an error page.
        refused = "chrome-error://chromewebdata/"
        for _ in range(100):
            if refused in [frame.url for frame in page.frames]:
                break
            page.wait_for_timeout(100)
        urls = sorted(frame.url for frame in page.frames[1:])
        assert urls == [refused, f"{web}/embed/{spoken.id}?t={s1}&end={e1}"]
    finally:
        page.close()
        server.shutdown()


QUOTE_PAGES = [
    "/r/{id}?t=1&end=6.5&lang=kk",
    "/r/{id}/clip?start=1&end=6.5&lang=ru",
    "/embed/{id}?t=1&end=6.5&lang=en",
]


@pytest.mark.parametrize("path", QUOTE_PAGES)
def test_quote_pages_have_no_serious_accessibility_violations(spoken, web, browser, path):
    page = browser.new_page()
    try:
        page.goto(web + path.format(id=spoken.id))
        assert axe_violations(page) == []
    finally:
        page.close()


def test_typed_range_without_javascript(spoken, web, browser):
    """
    GIVEN a browser with JavaScript off WHEN From/To are typed as clock times and submitted
    THEN the permalink page marks the quoted lines, the media URL plays START to END and the
    citation is on the page to copy by hand
    """
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{web}/r/{spoken.id}?lang=en")
        page.fill("#range-t", "0:05.5")
        page.fill("#range-end", "0:12")
        page.locator(".range-form button").click()
        page.wait_for_url(f"**/r/{spoken.id}?t=0%3A05.5&end=0%3A12")
        assert page.locator(".seg.quoted").count() == 2
        assert page.locator("#player").get_attribute("src").endswith("#t=5.5,12")
        assert "“Committee on transport”" in page.input_value("#quote-cite")
        assert page.input_value("#quote-link").endswith(f"/r/{spoken.id}?t=5.5&end=12")
    finally:
        context.close()
