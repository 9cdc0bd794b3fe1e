"""Staff members manage their own e-mail alerts while signed in."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from archive.db import session_scope
from archive.models import Alert, AlertFrequency
from tests.support.corpus import RAILWAY, seed
from tests.support.staff import sign_in
from workers.alerts import evaluate as alerts


@pytest.fixture()
def editor(archive, staff):  # type: ignore[no-untyped-def]
    client = TestClient(create_app(archive))
    client.csrf = sign_in(client, staff.editor)  # type: ignore[attr-defined]
    return client


def mine(settings, email: str) -> list[Alert]:
    with session_scope(settings.db_url) as session:
        rows = list(session.scalars(select(Alert).where(Alert.email == email.lower())))
        session.expunge_all()
        return rows


def test_staff_add_change_and_stop_their_own_alerts(editor, archive, staff):
    """
    GIVEN a signed-in editor WHEN they add an alert for "railway" on their alerts page THEN it is
    active at once for their account's address and a new recording saying it owes them a moment;
    they switch it to daily and stop it; another address's alert is not theirs to change
    """
    email = staff.editor.email
    page = editor.get("/staff/alerts")
    assert page.status_code == 200 and email in page.text
    csrf = {"csrf_token": editor.csrf}
    answer = editor.post("/staff/alerts", data={**csrf, "q": "railway"}, follow_redirects=False)
    assert answer.status_code == 303
    [alert] = mine(archive, email)
    assert alert.confirmed_at is not None and alert.frequency == AlertFrequency.immediate
    assert "railway" in editor.get("/staff/alerts").text

    [rec] = seed(archive, [RAILWAY[0]])
    assert len(alerts.evaluate_batch(archive, rec.id)) == 1

    url = f"/staff/alerts/{alert.id}"
    assert editor.post(url, data={**csrf, "action": "daily"}, follow_redirects=False).is_redirect
    assert mine(archive, email)[0].frequency == AlertFrequency.daily
    assert editor.post(url, data={**csrf, "action": "stop"}, follow_redirects=False).is_redirect
    assert mine(archive, email)[0].unsubscribed_at is not None
    assert "No alerts are active" in editor.get("/staff/alerts", params={"lang": "en"}).text
    assert editor.post(url, data={"action": "daily"}).status_code == 403  # no CSRF token

    with session_scope(archive.db_url) as session:
        other = Alert(email="someone@example.org", query="x", filters={})
        session.add(other)
        session.flush()
        other_id = other.id
    answer = editor.post(f"/staff/alerts/{other_id}", data={**csrf, "action": "stop"})
    assert answer.status_code == 404
