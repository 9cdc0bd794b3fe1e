"""Registering live captures through the staff API and the CLI; scheduling and the watchdog."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from archive import live as live_state
from archive.db import session_scope
from archive.jobs import HOST, this_process
from archive.models import AuditEntry, Body, LiveSession, LiveState, Recording, utcnow
from archive.settings import Settings, env_for_children
from tests.conftest import REPO
from tests.support.factory import make_body, make_recording, make_segments


@pytest.fixture()
def auth(staff_token: str) -> dict[str, str]:
    """An editor's personal API token."""
    return {"Authorization": f"Bearer {staff_token}"}


@pytest.fixture()
def client(archive: Settings) -> TestClient:
    from api.app import create_app

    return TestClient(create_app(archive))


@pytest.fixture()
def mazhilis(archive: Settings) -> Settings:
    """The body the requests name, as an admin made it: editors only name existing bodies."""
    with session_scope(archive.db_url) as session:
        make_body(session, "mazhilis")
    return archive


def bare_live_recording(session, body: Body, sha256: str) -> Recording:
    """A live recording with no media yet, as a capture starts one (flushed: it has an id)."""
    return make_recording(session, body, sha256=sha256, container="hls", status="live")


def test_staff_api_refuses_bad_requests_before_storing_anything(client: TestClient, auth):
    """
    GIVEN the staff API WHEN a live capture is asked without a token, for a loopback/private
    address (http or RTSP), another scheme, or with an end before its start THEN it is refused
    with the reason and nothing is stored
    """
    ok = {"url": "http://127.0.0.2:9/live.m3u8", "body": "mazhilis", "title": "Plenary"}
    assert client.post("/api/v1/live", json=ok).status_code == 401
    for url in ("http://127.0.0.1/live.m3u8", "rtsp://10.0.0.5/cam", "ftp://example.org/x"):
        answer = client.post("/api/v1/live", json={**ok, "url": url}, headers=auth)
        assert answer.status_code == 400, (url, answer.text)
    start = datetime.now(UTC) + timedelta(hours=2)
    backwards = {**ok, "starts_at": start.isoformat(), "expected_end_at": start.isoformat()}
    answer = client.post("/api/v1/live", json=backwards, headers=auth)
    assert answer.status_code == 400 and "end" in answer.json()["detail"]
    assert client.get("/api/v1/live", headers=auth).json() == []


def test_a_scheduled_capture_waits_for_its_time_and_can_be_cancelled(
    client: TestClient, auth, mazhilis
):
    """
    GIVEN a capture scheduled two hours ahead with an expected end and a maximum duration
    WHEN it is listed THEN it is scheduled, not due; WHEN it is stopped THEN it is cancelled
    """
    start = datetime.now(UTC) + timedelta(hours=2)
    request = {
        "url": "http://127.0.0.2:9/live.m3u8",
        "body": "mazhilis",
        "title": "Evening plenary",
        "starts_at": start.isoformat(),
        "expected_end_at": (start + timedelta(hours=3)).isoformat(),
        "max_duration_s": 4 * 3600,
        "chunk_s": 5,
    }
    answer = client.post("/api/v1/live", json=request, headers=auth)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["state"] == "scheduled" and created["recording_id"] is None
    listed = client.get("/api/v1/live", headers=auth).json()
    assert [item["id"] for item in listed] == [created["id"]]
    settings = client.app.state.settings
    with session_scope(settings.db_url) as session:
        assert created["id"] not in live_state.due_or_abandoned(session, timedelta(minutes=3))
    stopped = client.post(f"/api/v1/live/{created['id']}/stop", headers=auth).json()
    assert stopped["state"] == "ended" and stopped["end_reason"] == "cancelled"
    assert client.post("/api/v1/live/999999/stop", headers=auth).status_code == 404


def test_watchdog_finds_due_captures_and_those_of_dead_workers(archive: Settings):
    """
    GIVEN a scheduled capture whose time has come, one owned by a dead process, one owned by
    this live process, one ended WHEN the watchdog looks THEN it hands over exactly the first two,
    and a claim of the dead worker's capture succeeds once
    """
    now = utcnow()
    with session_scope(archive.db_url) as session:
        body = Body(slug="senat", name="Senat")
        session.add(body)
        common = {"url": "http://127.0.0.2/x.m3u8", "body": body, "title": "t", "chunk_s": 15}
        due = LiveSession(**common, max_duration_s=3600, starts_at=now - timedelta(seconds=5))
        dead = LiveSession(
            **common,
            max_duration_s=3600,
            state=LiveState.capturing,
            owner=f"{HOST}:999999999",
            heartbeat_at=now,
        )
        alive = LiveSession(
            **common,
            max_duration_s=3600,
            state=LiveState.capturing,
            owner=this_process(),
            heartbeat_at=now,
        )
        ended = LiveSession(**common, max_duration_s=3600, state=LiveState.ended)
        session.add_all([due, dead, alive, ended])
        session.flush()
        ids = due.id, dead.id, alive.id
    with session_scope(archive.db_url) as session:
        found = live_state.due_or_abandoned(session, timedelta(minutes=3))
        assert sorted(found) == sorted(ids[:2])
        claimed = live_state.claim(session, ids[1], timedelta(minutes=3))
        assert claimed is not None and claimed.owner == this_process()
        assert live_state.claim(session, ids[1], timedelta(minutes=3)) is None
        assert live_state.claim(session, ids[2], timedelta(minutes=3)) is None


def test_cli_schedules_and_lists_a_live_capture(archive: Settings):
    """
    GIVEN the CLI WHEN `ashyq live start URL --at … --until …` THEN the session is scheduled and
    `ashyq live list` shows it, and the audit log says the CLI started it (a new body is the
    CLI's to make); a loopback URL is refused with exit code 2
    """
    env = env_for_children(archive)
    ashyq = [sys.executable, "-m", "cli.main"]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*ashyq, "live", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
        )

    started = run(
        "start",
        "http://127.0.0.2:9/live.m3u8",
        "--body",
        "akimat",
        "--title",
        "Briefing",
        "--at",
        "2030-01-01T09:00",
        "--until",
        "2030-01-01T11:00",
        "--max-duration",
        "3h",
    )
    assert started.returncode == 0, started.stderr
    assert "live session" in started.stdout
    listed = run("list")
    assert "scheduled" in listed.stdout and "Briefing" in listed.stdout
    with session_scope(archive.db_url) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "live_start"))
        assert entry.user_id is None and entry.user_email == "cli", entry
    refused = run("start", "http://127.0.0.1/x.m3u8", "--body", "akimat", "--title", "x")
    assert refused.returncode == 2 and "not started" in refused.stderr


def test_segment_indexes_continue_after_a_single_first_segment(archive: Settings):
    """
    GIVEN a live recording whose first chunk gave exactly one segment (index 0)
    WHEN the next chunk's segments are numbered THEN they start at 1 (not 0 again)
    """

    from workers.ingest.store import next_segment_idx

    with session_scope(archive.db_url) as session:
        body = Body(slug="senat", name="Senat")
        recording = bare_live_recording(session, body, "live-test")
        assert next_segment_idx(session, recording.id) == 0
        make_segments(session, recording, [(0, 1, "x")])
        assert next_segment_idx(session, recording.id) == 1


def test_a_capture_that_gives_up_takes_its_live_segments_out_of_search(archive: Settings):
    """
    GIVEN a live recording whose segments are searchable
    WHEN its capture gives up (a permanent error, or too many attempts)
    THEN the recording is failed and its segments leave search at once, as a withdrawn one's do
    """

    from search.meili.client import master_client, search_client
    from search.meili.indexer import index_recording
    from search.meili.query import search_recordings
    from workers.live.capture import _release

    with session_scope(archive.db_url) as session:
        body = Body(slug="senat", name="Senat")
        recording = bare_live_recording(session, body, "live-gives-up")
        make_segments(session, recording, [(0, 2, "The railway bridge opens in spring")])
        live = LiveSession(
            url="https://example.org/live.m3u8",
            body_id=body.id,
            title="t",
            max_duration_s=600,
            chunk_s=15,
            recording_id=recording.id,
            state="capturing",
        )
        session.add(live)
        session.flush()
        session.refresh(recording)
        index_recording(master_client(archive), archive.meili_index, recording)
        recording_id = recording.id

    def hits() -> int:
        found = search_recordings(search_client(archive), archive.meili_index, "railway")
        return found.total_hits

    assert hits() == 1
    with session_scope(archive.db_url) as session:
        _release(archive, session, session.get(LiveSession, live.id), "gone", give_up=True)
    with session_scope(archive.db_url) as session:
        assert session.get(Recording, recording_id).status == "failed"
    assert hits() == 0


def test_a_live_recording_publishes_the_page_url_never_the_stream_url(
    archive: Settings, client: TestClient, auth, mazhilis
):
    """
    GIVEN a live capture registered through the staff API with a stream URL that carries a
      stream key, and the broadcaster's page URL
    WHEN its capture creates the recording, and the public page and a bulk dump are read
    THEN staff still see the stream URL; the page and the dump give the page URL as the source
      and the key nowhere
    """
    from workers.live.capture import ensure_recording
    from workers.services import dumps

    stream, page_url = "http://127.0.0.2:9/live.m3u8?key=s3cret-k3y", "https://example.org/plenary"
    start = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    asked = {"url": stream, "body": "mazhilis", "title": "Plenary", "starts_at": start}
    bad = client.post("/api/v1/live", json={**asked, "page_url": "javascript:x"}, headers=auth)
    assert bad.status_code == 400 and "page URL" in bad.json()["detail"]
    created = client.post("/api/v1/live", json={**asked, "page_url": page_url}, headers=auth)
    assert created.status_code == 201, created.text
    assert (created.json()["url"], created.json()["page_url"]) == (stream, page_url)
    with session_scope(archive.db_url) as session:
        live = session.get(LiveSession, created.json()["id"])
        ensure_recording(session, live)
        recording_id = live.recording_id
    page = client.get(f"/r/{recording_id}")
    assert page.status_code == 200 and f'href="{page_url}"' in page.text
    assert "s3cret" not in page.text
    shutil.rmtree(archive.dumps_dir, ignore_errors=True)
    data = (dumps.make_dump(archive) / dumps.DATA_FILE).read_bytes()
    [line] = [json.loads(line) for line in gzip.decompress(data).splitlines()]
    assert (line["id"], line["source_url"]) == (recording_id, page_url)
    assert b"s3cret" not in gzip.decompress(data)


def test_live_start_and_stop_write_their_own_audit_entries_and_editors_name_existing_bodies(
    archive: Settings, staff
):  # type: ignore[no-untyped-def]
    """
    GIVEN an editor and an admin acting through the live service (what both faces call)
    WHEN the editor names a body that does not exist THEN the capture is refused with the slug,
      and nothing is stored; WHEN the admin names it THEN the body is made
    WHEN the editor then starts and stops a capture of that body THEN each leaves an audit entry
      with who and from where, and the stream URL (it may carry a key) is in none
    """
    from archive import audit
    from archive.models import AuditEntry, User
    from workers.services.live_control import start_live, stop_live
    from workers.services.submit import InvalidRequest

    with session_scope(archive.db_url) as session:
        editor = session.scalar(select(User).where(User.email == staff.editor.email))
        admin = session.scalar(select(User).where(User.email == staff.admin.email))
        session.expunge_all()
    as_editor, as_admin = audit.Actor(editor, "192.0.2.7"), audit.Actor(admin, "192.0.2.8")
    start = datetime.now(UTC) + timedelta(hours=2)
    asked = {"body": "maslikhat", "title": "Session", "starts_at": start}
    stream = "http://127.0.0.2:9/live.m3u8?key=s3cret"
    with pytest.raises(InvalidRequest, match="no body 'maslikhat'"):
        start_live(archive, stream, **asked, actor=as_editor)
    with session_scope(archive.db_url) as session:
        assert session.scalar(select(func.count()).select_from(LiveSession)) == 0
        assert session.scalar(select(Body).where(Body.slug == "maslikhat")) is None
    first = start_live(archive, stream, **asked, actor=as_admin)
    second = start_live(archive, stream, **asked, actor=as_editor)
    assert stop_live(archive, second, actor=as_editor) == LiveState.ended
    with session_scope(archive.db_url) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        logged = [(r.action, r.user_email, r.ip, r.target_type, r.target_id) for r in rows]
        assert logged == [
            ("live_start", staff.admin.email, "192.0.2.8", "live", str(first)),
            ("live_start", staff.editor.email, "192.0.2.7", "live", str(second)),
            ("live_stop", staff.editor.email, "192.0.2.7", "live", str(second)),
        ]
        assert all("s3cret" not in json.dumps(r.detail) for r in rows)
