"""An upload survives its web server: killed (SIGKILL) in the middle of a chunk, the server comes
back and the upload resumes where the bytes on disk end (issue #21, "faults to survive")."""

from __future__ import annotations

import os
import signal
import time

import httpx

from archive.db import session_scope
from archive.models import Job
from cli.services import free_port
from tests.conftest import start_web, stop_group
from tests.integration.staff.test_staff_work import (
    a_third_sent,
    finish,
    half_chunk,
    mazhilis,
    send,
)
from tests.support.staff import sign_in

__all__ = ["mazhilis"]  # the fixture, shared with test_staff_work


def test_an_upload_resumes_after_its_web_server_is_killed_mid_chunk(
    archive, mazhilis, staff, tmp_path
):
    """
    GIVEN a web server of its own (two processes) and a file being uploaded in chunks
    WHEN the server is killed with SIGKILL while a chunk is half sent, then started again
    THEN the bytes that reached the disk stay, the new server reports where to resume, the rest
      completes the file byte for byte, and finishing queues the ingest job
    """
    own = archive.model_copy(update={"port": free_port(), "web_workers": 2})
    base = f"http://127.0.0.1:{own.port}"
    web = start_web(own, "upload-fault-web-1.log")
    try:
        client = httpx.Client(base_url=base)
        client.csrf = sign_in(client, staff.editor)  # type: ignore[attr-defined]
        data, upload_id, first = a_third_sent(client, tmp_path)

        half = (len(data) - first) // 2
        with half_chunk(client, upload_id, first, data[first:], half):
            deadline = time.monotonic() + 10
            while client.get(f"/staff/uploads/{upload_id}").json()["offset"] <= first:
                assert time.monotonic() < deadline, "the half chunk never reached the disk"
                time.sleep(0.1)
            os.killpg(web.pid, signal.SIGKILL)  # the server and its processes, mid-chunk
            web.wait(10)
        web = start_web(own, "upload-fault-web-2.log")

        # The same staff session (sessions live in the database), on a new connection.
        csrf = client.csrf  # type: ignore[attr-defined]
        client = httpx.Client(base_url=base, cookies=client.cookies)
        client.csrf = csrf  # type: ignore[attr-defined]
        offset = client.get(f"/staff/uploads/{upload_id}").json()["offset"]
        assert first < offset <= first + half
        assert send(client, upload_id, offset, data[offset:]).status_code == 200
        done = finish(client, upload_id)
        assert done.status_code == 200, done.text
        with session_scope(archive.db_url) as session:
            job = session.get(Job, done.json()["job_id"])
            assert job.params["filename"] == "hearing.wav"
            assert (archive.data_dir / job.source_path).read_bytes() == data
    finally:
        stop_group(web)
