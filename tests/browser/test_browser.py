"""A citizen searches, clicks a hit and hears the moment — in Debian's real Chromium."""

from __future__ import annotations

import pytest

from tests.support.helpers import player_time, search_in_the_browser, wait_job
from tests.support.media_factory import clip_with_word_at_known_time
from workers.services.submit import submit_file

pytestmark = [pytest.mark.browser, pytest.mark.whisper]


@pytest.fixture()
def ingested(archive, worker, tmp_path):
    clip = clip_with_word_at_known_time(tmp_path, fmt="mp4")
    job = wait_job(
        archive,
        submit_file(
            archive, clip.path, title="Transport hearing", body="mazhilis", when="2026-02-01"
        ),
    )
    assert job.state == "succeeded", job.error
    return clip, job.recording_id


def test_search_click_plays_from_the_moment(ingested, web, browser):
    """
    GIVEN an ingested video whose target word is spoken at a known second
    WHEN a user searches for it and clicks the hit
    THEN the player's currentTime is within 1.5 s of the word, the segment is highlighted,
    and clicking another transcript line seeks the player there
    """
    clip, recording_id = ingested
    page = browser.new_page()
    try:
        search_in_the_browser(page, f"{web}/", "railway", ".hit")
        assert page.locator(".hit mark").first.inner_text().lower() == "railway"
        page.locator(".hit a.moment").first.click()
        page.wait_for_url(f"**/r/{recording_id}?t=*")
        current_time = player_time(page)
        assert abs(current_time - clip.word_at) <= 1.5, (current_time, clip.word_at)
        highlighted = page.locator("#transcript .seg.current")
        assert highlighted.count() == 1
        assert "railway" in highlighted.inner_text().lower()

        first = page.locator("#transcript .seg").first
        first.locator("a.seek").click()
        page.wait_for_function("() => document.getElementById('player').currentTime < 1.5")
        assert "current" in (first.get_attribute("class") or "")
    finally:
        page.close()


def test_without_javascript_the_link_still_carries_the_moment(ingested, web, browser):
    """
    GIVEN JavaScript turned off
    WHEN a search hit is followed
    THEN the page highlights the segment server-side and the media URL carries #t=
    """
    clip, recording_id = ingested
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{web}/search?q=railway")
        page.locator(".hit a.moment").first.click()
        page.wait_for_url(f"**/r/{recording_id}?t=*")
        src = page.locator("#player").get_attribute("src")
        t = float(src.split("#t=")[1])
        assert abs(t - clip.word_at) <= 1.5
        assert "railway" in page.locator("#transcript .seg.current").inner_text().lower()
    finally:
        context.close()
