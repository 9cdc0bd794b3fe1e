"""Admin work over HTTP: bodies and speakers in three languages, speakers on segments, metadata
edits reaching search, accounts, and the audit log with its filters."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from archive.db import session_scope
from archive.models import Body, Segment, SegmentRevision, Speaker, User
from tests.support.factory import indexed_recording, tone
from tests.support.staff import sign_in

TEXTS = ["Opening remarks by the chair.", "The minister answers on water supply."]


@pytest.fixture()
def admin(archive, staff):  # type: ignore[no-untyped-def]
    client = TestClient(create_app(archive))
    client.csrf = sign_in(client, staff.admin)  # type: ignore[attr-defined]
    return client


def post(client: TestClient, url: str, **data: object):  # type: ignore[no-untyped-def]
    return client.post(url, data={"csrf_token": client.csrf, **data}, follow_redirects=False)  # type: ignore[attr-defined]


def test_bodies_and_speakers_with_names_in_three_languages(admin, archive, tmp_path):
    """
    GIVEN an admin
    WHEN they create a body and a speaker (names in kk, ru, en; position; body), edit the
    speaker, and assign the speaker to a range of segments
    THEN the rows hold what was given, a duplicate slug is refused, the assignment is a
    revision, and the audit log lists every step
    """
    made = post(
        admin,
        "/staff/admin/bodies",
        slug="senat",
        name="Senate",
        name_kk="Сенат",
        name_ru="Сенат",
        name_en="Senate",
    )
    assert made.status_code == 303
    again = post(admin, "/staff/admin/bodies", slug="senat", name="Other")
    assert again.status_code == 409
    with session_scope(archive.db_url) as session:
        body = session.scalar(select(Body).where(Body.slug == "senat"))
        assert (body.name_kk, body.name_ru, body.name_en) == ("Сенат", "Сенат", "Senate")
        body_id = body.id
    names = {"slug": "a-bekov", "name_kk": "Әли Беков", "name_en": "Ali Bekov"}
    made = post(
        admin,
        "/staff/admin/speakers",
        **names,
        name_ru="Али Беков",
        position="Minister of Water",
        body_id=str(body_id),
    )
    assert made.status_code == 303
    with session_scope(archive.db_url) as session:
        speaker = session.scalar(select(Speaker).where(Speaker.slug == "a-bekov"))
        assert speaker.name == "Әли Беков" and speaker.body_id == body_id
        speaker_id = speaker.id
    edited = post(
        admin,
        "/staff/admin/speakers",
        **names,
        speaker_id=str(speaker_id),
        position="Deputy minister",
        body_id="",
    )
    assert edited.status_code == 303
    page = admin.get("/staff/admin/speakers", params={"lang": "en"})
    assert "Deputy minister" in page.text

    rec = indexed_recording(archive, TEXTS, media=tone(tmp_path))
    assigned = post(
        admin,
        f"/staff/recordings/{rec}/speaker",
        idx_from="0",
        idx_to="1",
        speaker_id=str(speaker_id),
    )
    assert assigned.status_code == 303
    with session_scope(archive.db_url) as session:
        speakers = session.scalars(select(Segment.speaker_id).where(Segment.recording_id == rec))
        assert list(speakers) == [speaker_id, speaker_id]
        revision = session.scalar(
            select(SegmentRevision).where(SegmentRevision.recording_id == rec)
        )
        assert revision.action == "speaker" and len(revision.after) == 2

    log = admin.get(
        "/staff/admin/audit", params={"target_type": "speaker", "target_id": speaker_id}
    )
    actions = re.findall(r'<td class="action">([^<]+)</td>', log.text)
    assert actions == ["speaker_edit", "speaker_create"]
    log = admin.get("/staff/admin/audit", params={"action": "transcript_speaker", "target_id": rec})
    assert len(re.findall(r'<td class="action">', log.text)) == 1


def test_a_metadata_edit_reaches_search_and_the_audit_log(admin, archive, staff, tmp_path):
    """GIVEN a recording WHEN its title is edited THEN search hits carry the new title at once"""
    rec = indexed_recording(archive, TEXTS, media=tone(tmp_path))
    with session_scope(archive.db_url) as session:
        body_id = session.scalar(select(Body.id))
    saved = post(
        admin,
        f"/staff/recordings/{rec}",
        title="Water hearing",
        body_id=str(body_id),
        recorded_on="2026-04-01",
        event_type="hearing",
    )
    assert saved.status_code == 303
    hits = admin.get("/api/v1/search", params={"q": "water"}).json()["hits"]
    assert {h["title"] for h in hits} == {"Water hearing"}
    log = admin.get("/staff/admin/audit", params={"user": staff.admin.email, "target_id": rec})
    assert "recording_edit" in log.text and "Water hearing" in log.text


def test_admins_manage_accounts_and_a_deactivated_user_is_signed_out(admin, archive, staff):
    """
    GIVEN an admin
    WHEN they create an editor, who signs in, and then deactivate that editor
    THEN the editor's session stops working at once; an admin cannot demote themselves
    """
    email = "new-editor@example.org"
    with session_scope(archive.db_url) as session:
        old = session.scalar(select(User).where(User.email == email))
        if old is not None:
            session.delete(old)
    made = post(admin, "/staff/admin/users", email=email, password="a long password", role="editor")
    assert made.status_code == 303
    weak = post(admin, "/staff/admin/users", email="x@example.org", password="short", role="editor")
    assert weak.status_code == 400 and "at least 10 characters" in weak.text

    from tests.support.factory import Account

    editor = TestClient(admin.app)
    sign_in(editor, Account(email, "a long password", "editor", ""))
    assert editor.get("/staff/recordings").status_code == 200
    with session_scope(archive.db_url) as session:
        user_id = session.scalar(select(User.id).where(User.email == email))
        me = session.scalar(select(User.id).where(User.email == staff.admin.email))
    assert post(admin, f"/staff/admin/users/{user_id}", role="editor").status_code == 303
    assert editor.get("/staff/recordings", follow_redirects=False).status_code == 303
    assert post(admin, f"/staff/admin/users/{me}", role="editor", active="true").status_code == 409
