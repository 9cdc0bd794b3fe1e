"""An editor's day in Debian's Chromium: sign in, upload, watch it finish, fix a word, withdraw."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from playwright.sync_api import Browser, Page

from archive.db import session_scope
from archive.models import Body, Recording
from tests.support.factory import Account
from tests.support.media_factory import clip_with_word_at_known_time, ffmpeg

pytestmark = [pytest.mark.browser, pytest.mark.whisper]


def public_hits(web: str, word: str) -> list[int]:
    answer = httpx.get(f"{web}/api/v1/search", params={"q": word}, timeout=30)
    assert answer.status_code == 200, answer.text
    return [hit["recording_id"] for hit in answer.json()["hits"]]


@contextmanager
def upload_page(browser: Browser, web: str, editor: Account, timeout_ms: int) -> Iterator[Page]:
    """A fresh English browser signed in as ``editor`` on the upload page, closed afterwards."""
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    try:
        page.goto(f"{web}/staff/login?next=/staff/upload")
        page.fill("#email", editor.email)
        page.fill("#password", editor.password)
        page.click("button[type=submit]")
        page.wait_for_url("**/staff/upload")
        yield page
    finally:
        context.close()


def test_upload_correct_and_withdraw_in_the_browser(archive, worker, web, browser, staff, tmp_path):
    """
    GIVEN an editor account and a video clip in which "railway" is spoken
    WHEN the editor signs in, uploads the clip, waits for the progress to reach done, corrects
    "railway" to "tramway" in the transcript editor, then withdraws the recording
    THEN public search finds "tramway" and no longer "railway"; after the withdrawal public
    search, the recording page and the API no longer show it
    """
    with session_scope(archive.db_url) as session:
        session.add(Body(slug="mazhilis", name="Mazhilis", name_en="Mazhilis"))
    clip = clip_with_word_at_known_time(tmp_path, fmt="mp4")
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{web}/staff/upload")
        page.wait_for_url(re.compile(r".*/staff/login\?next=.*"))
        page.fill("#email", staff.editor.email)
        page.fill("#password", staff.editor.password)
        page.click("button[type=submit]")
        page.wait_for_url("**/staff/upload")

        page.set_input_files("#files", str(clip.path))
        page.fill("#title", "Transport committee")
        page.select_option("#body", "mazhilis")
        page.fill("#date", "2026-02-01")
        page.click("#start")
        item = page.locator("#queue li.upload")
        item.wait_for()
        page.wait_for_selector("#queue li.upload[data-state=done]", timeout=240_000)
        assert item.locator("progress").evaluate("p => p.value") == 1

        item.locator(".link a").click()
        page.wait_for_url(re.compile(r".*/staff/recordings/\d+$"))
        recording_id = int(page.url.rsplit("/", 1)[1])
        assert recording_id in public_hits(web, "railway")

        page.click("text=Edit transcript")
        page.wait_for_url(f"**/staff/recordings/{recording_id}/transcript")
        segment = page.locator(
            "li.segment", has=page.locator("textarea", has_text=re.compile("railway", re.I))
        )
        assert segment.count() == 1
        area = segment.locator("textarea")
        area.fill(re.sub("railway", "tramway", area.input_value(), flags=re.I))
        segment.locator("button.save").click()
        page.wait_for_url(re.compile(r".*/transcript\?done=saved.*"))
        assert page.locator("li.segment.reviewed").count() == 1
        assert recording_id in public_hits(web, "tramway")
        assert recording_id not in public_hits(web, "railway")

        # Split the corrected segment where the caret is: right after "tramway".
        segments_before = page.locator("li.segment").count()
        segment = page.locator("li.segment.reviewed")
        area = segment.locator("textarea")
        text = area.input_value()
        cut = text.lower().index("tramway") + len("tramway")
        assert text[cut:].strip(), "the corrected word ends the segment; nothing to split"
        area.click()
        area.press("Control+Home")
        for _ in range(cut):
            area.press("ArrowRight")
        segment.locator("form.seg-split button").click()
        page.wait_for_load_state()
        assert page.locator("li.segment").count() == segments_before + 1
        texts = page.locator("li.segment textarea").evaluate_all("els => els.map(e => e.value)")
        assert text[:cut].strip() in texts and text[cut:].strip() in texts, texts
        assert recording_id in public_hits(web, "tramway")

        page.goto(f"{web}/staff/recordings/{recording_id}")
        page.click("#withdraw")
        page.wait_for_url(re.compile(r".*\?done=withdrawn$"))
        assert recording_id not in public_hits(web, "tramway")
        assert httpx.get(f"{web}/r/{recording_id}").status_code == 404
        assert httpx.get(f"{web}/api/v1/recordings/{recording_id}").status_code == 404
        page.goto(f"{web}/search?q=tramway")
        assert page.locator(f'.hit a[href^="/r/{recording_id}"]').count() == 0
    finally:
        context.close()


def test_several_files_at_once_each_with_its_own_outcome(
    archive, worker, web, browser, staff, tmp_path
):
    """
    GIVEN two files chosen together: a text file named .mp4 and a real audio file
    WHEN an editor uploads them
    THEN the text file is refused with ffprobe's verdict in words, the audio file goes through to
    done; only one recording exists
    """
    from sqlalchemy import func, select

    from tests.support.factory import tone

    with session_scope(archive.db_url) as session:
        session.add(Body(slug="akimat", name="Akimat"))
    fake = tmp_path / "minutes.mp4"
    fake.write_text("Minutes of the session. Not a video.\n" * 30)
    audio = tone(tmp_path, seconds=3.0, freq=330)
    with upload_page(browser, web, staff.editor, 30_000) as page:
        page.set_input_files("#files", [str(fake), str(audio)])
        page.fill("#title", "Akimat briefing")
        page.click("#start")
        refused = page.locator("#queue li.upload", has_text="minutes.mp4")
        refused.locator(".status", has_text="not a media file").wait_for()
        assert refused.get_attribute("data-state") == "failed"
        done = page.locator("#queue li.upload", has_text=audio.name)
        page.wait_for_selector(
            f"#queue li.upload[data-state=done] >> text={audio.name}", timeout=240_000
        )
        assert done.locator(".link a").get_attribute("href").startswith("/staff/recordings/")
    with session_scope(archive.db_url) as session:
        assert session.scalar(select(func.count()).select_from(Recording)) == 1
    assert [p for p in archive.incoming_dir.rglob("*") if p.is_file()] == []


def test_the_upload_page_resumes_after_a_failed_chunk(archive, web, browser, staff, tmp_path):
    """
    GIVEN a file of several chunks
    WHEN the connection fails for the second chunk (the browser's request is reset)
    THEN the page asks the server where the file ends, sends the rest, and the staged file is
    byte for byte the original
    """
    from sqlalchemy import select

    from archive.models import Job, Upload

    with session_scope(archive.db_url) as session:
        session.add(Body(slug="senat", name="Senate"))
    audio = tmp_path / "long.wav"
    sine = "sine=frequency=300:duration=100"
    ffmpeg("-f", "lavfi", "-i", sine, "-ar", "44100", "-ac", "1", str(audio))
    assert audio.stat().st_size > 2 * 4 * 1024 * 1024
    failed: list[str] = []

    def flaky(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.method == "PUT" and "offset=0" not in route.request.url and not failed:
            failed.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    with upload_page(browser, web, staff.editor, 60_000) as page:
        page.route(re.compile(r".*/staff/uploads/[0-9a-f]{32}\?offset=.*"), flaky)
        page.set_input_files("#files", str(audio))
        page.fill("#title", "Senate sitting")
        page.click("#start")
        page.wait_for_selector("#queue li.upload[data-state=processing]")
    assert len(failed) == 1
    from archive import jobs

    expected = hashlib.sha256(audio.read_bytes()).hexdigest()
    with session_scope(archive.db_url) as session:
        upload = session.scalar(select(Upload))
        # Keep a running worker from moving the file into the store while we look at it.
        jobs.cancel(session, upload.job_id)
        staged = archive.data_dir / session.get(Job, upload.job_id).source_path
        if staged.exists():
            assert hashlib.sha256(staged.read_bytes()).hexdigest() == expected
        else:  # the worker was quicker: the joined upload is already the stored original
            stored = session.scalar(select(Recording).where(Recording.sha256 == expected))
            assert stored is not None, "the resumed upload is neither staged nor stored intact"
