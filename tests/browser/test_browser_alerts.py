"""The alert pages in Debian's Chromium: subscribe through the form, confirm, manage and stop
from the mailed links — without JavaScript, and with no serious axe-core violations."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.browser.test_browser_search import axe_violations
from tests.conftest import clean_archive
from tests.support.corpus import Rec, seed
from tests.support.smtp import parts
from workers.alerts import evaluate as alerts
from workers.alerts import outbox

pytestmark = pytest.mark.browser


def mailed_link(text: str, marker: str) -> str:
    found = re.search(rf"https?://\S+{marker}\S*", text)
    assert found, text
    return found.group(0)


def test_subscribe_confirm_manage_and_stop_in_a_browser(settings, smtp, web, browser):
    """
    GIVEN the search page for "railway" in a browser with JavaScript off
    WHEN the visitor follows "Email me new moments", subscribes, confirms from the mail, gets an
      alert and stops it from the "all your alerts" page
    THEN each page works, says what happened, and has no serious accessibility violation
    """
    clean_archive(settings)
    smtp.inbox.messages.clear()
    address = "lea@example.org"
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{web}/search?q=railway&body=senate&lang=en")
        page.get_by_role("link", name="Email me new moments").click()
        assert page.url.startswith(f"{web}/alerts/new?q=railway&body=senate")
        assert axe_violations_without_js(browser, page.url) == []
        page.get_by_label("Email address").fill(address)
        page.get_by_label("Once a day").check()
        page.get_by_role("button", name="Subscribe").click()
        assert "Check your inbox" in page.content()

        outbox.flush_outbox(settings)
        [confirmation] = smtp.inbox.wait_for(address, 1)
        page.goto(mailed_link(parts(confirmation)[0], "/alerts/confirm/"))
        assert axe_violations_without_js(browser, page.url) == []
        page.get_by_role("button", name="Confirm").click()
        assert "Your alert is on" in page.content()

        hearing = Rec("Rail hearing", "senate", date(2026, 5, 5), [("en", "The railway opens.")])
        [rec] = seed(settings, [hearing])
        alerts.evaluate_batch(settings, rec.id)
        [digest] = alerts.queue_digests(settings)
        outbox.send_one(settings, digest)
        mail = smtp.inbox.wait_for(address, 2)[1]
        text, _html = parts(mail)

        page.goto(mailed_link(text, "/alerts/unsubscribe/"))
        assert page.get_by_role("button", name="Unsubscribe").is_visible()
        assert axe_violations_without_js(browser, page.url) == []

        page.goto(mailed_link(text, "/alerts/manage/"))
        assert address in page.content() and "railway" in page.content()
        assert axe_violations_without_js(browser, page.url) == []
        page.get_by_label("How often").select_option("immediate")
        page.get_by_role("button", name="Save").click()
        assert page.get_by_label("How often").input_value() == "immediate"
        page.get_by_role("button", name="Unsubscribe").click()
        assert "No alerts are active for this address." in page.content()
    finally:
        context.close()
        clean_archive(settings)


def axe_violations_without_js(browser, url: str) -> list[dict]:
    """axe-core needs JavaScript: check the same page in a context that has it, and that lets
    the test inject axe's script past the pages' CSP (script-src 'self')."""
    page = browser.new_page(bypass_csp=True)
    try:
        page.goto(url)
        return axe_violations(page)
    finally:
        page.close()
