"""Staff work over HTTP against the real database, Meilisearch and media store: publishing,
deletion and purge, transcript revisions, uploads (refusals, duplicates, resuming)."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from archive.db import session_scope
from archive.media.clip_store import clip_cache_dir, lookup
from archive.models import AuditEntry, Job, Recording, Segment, SegmentRevision, Upload
from tests.support.factory import indexed_recording, make_body, tone
from tests.support.staff import sign_in

TEXTS = [
    "Good morning, the committee session is open.",
    "The railway to Karaganda will be finished next spring.",
    "Questions from deputies follow after the break.",
]


@pytest.fixture()
def app(archive):  # type: ignore[no-untyped-def]
    return create_app(archive)


@pytest.fixture()
def editor(app, staff):  # type: ignore[no-untyped-def]
    client = TestClient(app)
    client.csrf = sign_in(client, staff.editor)  # type: ignore[attr-defined]
    return client


@pytest.fixture()
def admin(app, staff):  # type: ignore[no-untyped-def]
    client = TestClient(app)
    client.csrf = sign_in(client, staff.admin)  # type: ignore[attr-defined]
    return client


@pytest.fixture()
def mazhilis(archive):  # type: ignore[no-untyped-def]
    """The body the upload form names, as an admin made it (editors only pick existing ones)."""
    with session_scope(archive.db_url) as session:
        make_body(session, "mazhilis")
    return archive


@pytest.fixture()
def recording_id(archive, tmp_path) -> int:
    return indexed_recording(archive, TEXTS, media=tone(tmp_path))


def found(client: TestClient, word: str) -> list[int]:
    answer = client.get("/api/v1/search", params={"q": word})
    assert answer.status_code == 200, answer.text
    return [hit["recording_id"] for hit in answer.json()["hits"]]


def post(client: TestClient, url: str, **data: object) -> httpx.Response:
    return client.post(url, data={"csrf_token": client.csrf, **data}, follow_redirects=False)  # type: ignore[attr-defined]


def public_state(client: TestClient, rec: int, word: str) -> tuple[bool, int, int]:
    return (
        rec in found(client, word),
        client.get(f"/r/{rec}").status_code,
        client.get(f"/api/v1/recordings/{rec}").status_code,
    )


def test_withdraw_publish_delete_restore_follow_at_once(editor, recording_id):
    """
    GIVEN a published, indexed recording
    WHEN staff withdraw it, publish it, delete it and restore it
    THEN search, page and API hide and show it immediately after each step (no reindex), and
    every step is in the audit log
    """
    rec = recording_id
    assert public_state(editor, rec, "railway") == (True, 200, 200)
    assert post(editor, f"/staff/recordings/{rec}/withdraw").status_code == 303
    assert public_state(editor, rec, "railway") == (False, 404, 404)
    assert post(editor, f"/staff/recordings/{rec}/publish").status_code == 303
    assert public_state(editor, rec, "railway") == (True, 200, 200)
    assert post(editor, f"/staff/recordings/{rec}/delete").status_code == 303
    assert public_state(editor, rec, "railway") == (False, 404, 404)
    assert post(editor, f"/staff/recordings/{rec}/publish").status_code == 409
    assert post(editor, f"/staff/recordings/{rec}/restore").status_code == 303
    assert public_state(editor, rec, "railway") == (True, 200, 200)
    with session_scope(editor.app.state.settings.db_url) as session:
        actions = list(
            session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.target_type == "recording", AuditEntry.target_id == str(rec))
                .order_by(AuditEntry.id)
            )
        )
    assert actions == ["withdraw", "publish", "soft_delete", "restore"]


def test_purge_is_admin_only_needs_deletion_first_and_removes_everything(
    editor, admin, archive, recording_id, worker
):
    """
    GIVEN a recording with media in the store and documents in the index
    WHEN an editor tries to purge it, an admin purges it before and after deleting it
    THEN the editor is refused, the admin first too (409), then the media folder, the rows and
    the search documents are gone for good
    """
    rec = recording_id
    with session_scope(archive.db_url) as session:
        recording = session.get(Recording, rec)
        folder = archive.media_dir / Path(recording.original_path).parent
        cached = clip_cache_dir(archive.data_dir, recording.sha256)
    assert folder.is_dir()
    clip = editor.get(f"/r/{rec}/clip.m4a", params={"start": 0.5, "end": 1.5})
    assert clip.status_code == 200 and cached.is_dir()
    assert post(editor, f"/staff/admin/recordings/{rec}/purge").status_code == 403
    assert post(admin, f"/staff/admin/recordings/{rec}/purge").status_code == 409
    assert post(admin, f"/staff/recordings/{rec}/delete").status_code == 303
    assert post(admin, f"/staff/admin/recordings/{rec}/purge").status_code == 303
    assert not folder.exists() and not cached.exists()
    assert lookup(archive.data_dir, clip.headers["X-Clip-SHA256"]) is not None  # still verifies
    with session_scope(archive.db_url) as session:
        assert session.get(Recording, rec) is None
        assert session.scalar(select(func.count()).select_from(Segment)) == 0
    from search.meili.client import master_client

    docs = (
        master_client(archive)
        .index(archive.meili_index)
        .search("", {"filter": f"recording_id = {rec}"})
    )
    assert docs["estimatedTotalHits"] == 0


def test_a_correction_reaches_search_and_reverting_restores_text_and_index(
    editor, archive, recording_id
):
    """
    GIVEN an indexed segment saying "railway"
    WHEN staff correct it to "motorway", then revert that revision
    THEN search finds "motorway" and not "railway" at once, the segment is marked reviewed;
    after the revert the text, the reviewed flag and search are as before
    """
    rec = recording_id
    fixed = TEXTS[1].replace("railway", "motorway")
    answer = post(editor, f"/staff/recordings/{rec}/segments/1", text=fixed, start="2", end="4")
    assert answer.status_code == 303
    assert rec in found(editor, "motorway") and rec not in found(editor, "railway")
    with session_scope(archive.db_url) as session:
        segment = session.get(Segment, f"{rec}-1")
        assert segment.text == fixed and segment.reviewed
        revision = session.scalar(
            select(SegmentRevision).where(SegmentRevision.recording_id == rec)
        )
        assert revision.before[0]["text"] == TEXTS[1] and revision.after[0]["text"] == fixed
        assert revision.user_email and revision.created_at
    assert post(editor, f"/staff/revisions/{revision.id}/revert").status_code == 303
    assert rec in found(editor, "railway") and rec not in found(editor, "motorway")
    with session_scope(archive.db_url) as session:
        segment = session.get(Segment, f"{rec}-1")
        assert segment.text == TEXTS[1] and not segment.reviewed
    assert post(editor, f"/staff/revisions/{revision.id}/revert").status_code == 409


def test_split_and_merge_renumber_segments_and_the_index_follows(editor, archive, recording_id):
    """
    GIVEN three segments
    WHEN staff split the second after "Karaganda", then merge the two halves back
    THEN there are four, then three segments, ids stay {recording}-{idx}, and the index holds
    exactly one document per segment each time
    """
    from search.meili.client import master_client

    rec = recording_id
    index = master_client(archive).index(archive.meili_index)

    def ids() -> tuple[list[str], list[str]]:
        with session_scope(archive.db_url) as session:
            rows = list(session.scalars(select(Segment.id).where(Segment.recording_id == rec)))
        docs = index.get_documents({"filter": f"recording_id = {rec}", "fields": ["id"]})
        return sorted(rows), sorted(d.id for d in docs.results)

    at = TEXTS[1].index(" will")
    assert post(editor, f"/staff/recordings/{rec}/segments/1/split", at=str(at)).status_code == 303
    rows, docs = ids()
    assert rows == docs == [f"{rec}-{i}" for i in range(4)]
    with session_scope(archive.db_url) as session:
        first, second = session.get(Segment, f"{rec}-1"), session.get(Segment, f"{rec}-2")
        assert first.text.endswith("Karaganda") and second.text.startswith("will")
        assert first.end == second.start and 2.0 < first.end < 4.0
    assert post(editor, f"/staff/recordings/{rec}/segments/1/merge").status_code == 303
    rows, docs = ids()
    assert rows == docs == [f"{rec}-{i}" for i in range(3)]
    with session_scope(archive.db_url) as session:
        assert session.get(Segment, f"{rec}-1").text == TEXTS[1]
        assert session.get(Segment, f"{rec}-2").text == TEXTS[2]


# Uploads ------------------------------------------------------------------------------------------

META = {"title": "Plenary", "body": "mazhilis", "date": "2026-03-15", "event_type": "plenary"}


def start_upload(client: TestClient, filename: str, size: int) -> httpx.Response:
    return client.post(
        "/staff/uploads",
        json={**META, "filename": filename, "size": size},
        headers={"X-CSRF-Token": client.csrf},  # type: ignore[attr-defined]
    )


def send(client: TestClient, upload_id: str, offset: int, data: bytes) -> httpx.Response:
    return client.put(
        f"/staff/uploads/{upload_id}",
        params={"offset": offset},
        content=data,
        headers={"X-CSRF-Token": client.csrf, "Content-Type": "application/octet-stream"},  # type: ignore[attr-defined]
    )


def finish(client: TestClient, upload_id: str) -> httpx.Response:
    return client.post(
        f"/staff/uploads/{upload_id}/finish",
        headers={"X-CSRF-Token": client.csrf},  # type: ignore[attr-defined]
    )


def upload(client: TestClient, filename: str, data: bytes) -> httpx.Response:
    started = start_upload(client, filename, len(data))
    if started.status_code != 201:
        return started
    upload_id = started.json()["id"]
    assert send(client, upload_id, 0, data).status_code == 200
    return finish(client, upload_id)


def a_third_sent(client: httpx.Client, folder: Path) -> tuple[bytes, str, int]:
    """A 6 s WAV ``hearing.wav`` whose upload is started and its first third sent: the file's
    bytes, the upload's id, and where the second chunk begins."""
    data = tone(folder, seconds=6.0, freq=660).read_bytes()
    upload_id = start_upload(client, "hearing.wav", len(data)).json()["id"]
    first = len(data) // 3
    assert send(client, upload_id, 0, data[:first]).status_code == 200
    return data, upload_id, first


def half_chunk(
    client: httpx.Client, upload_id: str, offset: int, rest: bytes, sent: int
) -> socket.socket:
    """A raw connection that PUTs ``rest`` at ``offset`` but sends only its first ``sent`` bytes
    (a browser whose connection, or whose server, goes away mid-chunk); close it to drop it."""
    parts = urlsplit(str(client.base_url))
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    head = (
        f"PUT /staff/uploads/{upload_id}?offset={offset} HTTP/1.1\r\nHost: {parts.hostname}\r\n"
        f"Cookie: {cookie}\r\nX-CSRF-Token: {client.csrf}\r\n"  # type: ignore[attr-defined]
        f"Content-Type: application/octet-stream\r\nContent-Length: {len(rest)}\r\n\r\n"
    ).encode()
    raw = socket.create_connection((parts.hostname, parts.port))
    raw.sendall(head + rest[:sent])
    return raw


def nothing_left(settings) -> None:  # type: ignore[no-untyped-def]
    leftovers = [p for p in settings.incoming_dir.rglob("*") if p.is_file()]
    assert leftovers == []
    with session_scope(settings.db_url) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
        assert session.scalar(select(func.count()).select_from(Recording)) == 0
        assert session.scalar(select(func.count()).select_from(Upload)) == 0


@pytest.mark.parametrize(
    ("filename", "data", "status", "message"),
    [
        ("minutes.mp4", b"Minutes of the session, not a video.\n" * 20, 400, "not a media file"),
        ("empty.mp4", b"", 400, "the file is empty (0 bytes)"),
        ("huge.mp4", b"x" * 2048, 413, "over the maximum of 1024 bytes"),
        ("../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n", 400, "not a path"),
    ],
    ids=["text-named-mp4", "zero-bytes", "over-the-limit", "path-as-name"],
)
def test_bad_uploads_are_refused_clearly_and_leave_nothing(
    archive, mazhilis, staff, filename, data, status, message
):
    """
    GIVEN an upload limit of 1024 bytes
    WHEN staff upload a text file named .mp4, an empty file, a file over the limit, or a file
    named ../../etc/passwd
    THEN each is refused with a clear message; no file, job, recording or upload row remains
    """
    app = create_app(archive.model_copy(update={"upload_max_bytes": 1024}))
    client = TestClient(app)
    client.csrf = sign_in(client, staff.editor)  # type: ignore[attr-defined]
    answer = upload(client, filename, data)
    assert answer.status_code == status, answer.text
    assert message in answer.json()["detail"]
    nothing_left(archive)


def test_an_editor_uploads_only_to_an_existing_body_an_admin_may_name_a_new_one(
    editor, admin, archive
):  # type: ignore[no-untyped-def]
    """
    GIVEN no body "maslikhat" (admins make bodies on /staff/admin/bodies)
    WHEN an editor starts an upload naming it THEN it is refused with the slug and who can add it,
      and nothing is kept; WHEN an admin does THEN the upload starts (its body is made at ingest)
    """
    meta = {**META, "body": "maslikhat", "filename": "a.wav", "size": 10}
    refused = editor.post("/staff/uploads", json=meta, headers={"X-CSRF-Token": editor.csrf})
    assert refused.status_code == 400, refused.text
    assert "no body 'maslikhat'" in refused.json()["detail"] and "admin" in refused.json()["detail"]
    nothing_left(archive)
    started = admin.post("/staff/uploads", json=meta, headers={"X-CSRF-Token": admin.csrf})
    assert started.status_code == 201, started.text


def test_a_chunk_past_the_declared_size_is_refused_and_cut_off(editor, archive, mazhilis, tmp_path):
    """GIVEN an upload declared as N bytes WHEN more arrive THEN refused, file stays at N-so-far"""
    data = tone(tmp_path).read_bytes()
    upload_id = start_upload(editor, "tone.wav", 100).json()["id"]
    assert send(editor, upload_id, 0, data[:60]).status_code == 200
    refused = send(editor, upload_id, 60, data[60:200])
    assert refused.status_code == 400 and "more bytes than the declared 100" in refused.text
    assert editor.get(f"/staff/uploads/{upload_id}").json()["offset"] == 60
    editor.delete(f"/staff/uploads/{upload_id}", headers={"X-CSRF-Token": editor.csrf})
    nothing_left(archive)


def test_a_file_already_in_the_archive_links_to_its_recording(editor, archive, mazhilis, tmp_path):
    """GIVEN a recording of a file WHEN the same bytes are uploaded THEN no copy, no job: a link"""
    media = tone(tmp_path, freq=523)
    rec = indexed_recording(archive, TEXTS, media=media)
    answer = upload(editor, "again.wav", media.read_bytes())
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "job_id": None,
        "duplicate": True,
        "recording_id": rec,
        "url": f"/staff/recordings/{rec}",
    }
    assert [p for p in archive.incoming_dir.rglob("*") if p.is_file()] == []
    with session_scope(archive.db_url) as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_an_upload_resumes_after_the_connection_drops(archive, mazhilis, staff, web, tmp_path):
    """
    GIVEN the real web server and a file being uploaded in chunks
    WHEN the connection drops in the middle of a chunk
    THEN the bytes that arrived stay, the server reports where to resume, the rest completes the
    file, and finishing queues an ingest job with the metadata given (nothing held in memory:
    the bytes are on disk before the chunk ends)
    """
    client = httpx.Client(base_url=web)
    client.csrf = sign_in(client, staff.editor)  # type: ignore[attr-defined]
    data, upload_id, first = a_third_sent(client, tmp_path)

    # Half of a chunk, then the socket closes without the rest.
    half = (len(data) - first) // 2
    with half_chunk(client, upload_id, first, data[first:], half):
        time.sleep(1.0)
    offset = 0
    for _ in range(50):
        offset = client.get(f"/staff/uploads/{upload_id}").json()["offset"]
        if offset > first:
            break
        time.sleep(0.1)
    assert first < offset <= first + half
    assert send(client, upload_id, first, data[first:]).status_code == 409  # wrong offset
    assert send(client, upload_id, offset, data[offset:]).status_code == 200
    done = finish(client, upload_id)
    assert done.status_code == 200, done.text
    job_id = done.json()["job_id"]
    with session_scope(archive.db_url) as session:
        job = session.get(Job, job_id)
        assert job.params["title"] == "Plenary" and job.params["filename"] == "hearing.wav"
        assert job.params["meta"]["event_type"] == "plenary"
        staged = archive.data_dir / job.source_path
        assert staged.read_bytes() == data and upload_id in staged.name
