"""The staff JSON API's live routes pass who asks to the live service: starting and stopping a
capture through the API leaves an audit entry each, and an editor names only existing bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from archive.db import session_scope
from archive.models import AuditEntry, Body, LiveSession
from tests.support.factory import make_body


def test_live_start_and_stop_through_the_api_are_audited_and_editors_name_existing_bodies(
    archive, staff
):
    """
    GIVEN an editor's API token and an existing body
    WHEN the editor schedules a capture of a body that does not exist THEN it is refused with
      the slug and nothing is stored; WHEN they schedule one of the existing body and stop it
    THEN the audit log holds live_start and live_stop by that editor, for that session
    """
    from api.app import create_app

    with session_scope(archive.db_url) as session:
        make_body(session, "senate")
    client = TestClient(create_app(archive))
    auth = {"Authorization": f"Bearer {staff.editor.token}"}
    start = datetime.now(UTC) + timedelta(hours=2)
    request = {"url": "http://127.0.0.2:9/live.m3u8", "title": "Plenary"}
    request["starts_at"] = start.isoformat()

    refused = client.post("/api/v1/live", json={**request, "body": "nowhere"}, headers=auth)
    assert refused.status_code == 400 and "nowhere" in refused.json()["detail"]
    with session_scope(archive.db_url) as session:
        assert session.scalar(select(Body).where(Body.slug == "nowhere")) is None
        assert session.scalar(select(func.count()).select_from(LiveSession)) == 0

    created = client.post("/api/v1/live", json={**request, "body": "senate"}, headers=auth)
    assert created.status_code == 201, created.text
    live_id = created.json()["id"]
    stopped = client.post(f"/api/v1/live/{live_id}/stop", headers=auth)
    assert stopped.status_code == 200 and stopped.json()["end_reason"] == "cancelled"

    with session_scope(archive.db_url) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(["live_start", "live_stop"]))
        ).all()
        assert sorted(e.action for e in entries) == ["live_start", "live_stop"]
        assert {e.user_email for e in entries} == {staff.editor.email}
        assert {e.target_id for e in entries} == {str(live_id)}
