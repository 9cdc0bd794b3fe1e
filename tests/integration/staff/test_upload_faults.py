"""An upload survives its web server: killed (SIGKILL) in the middle of a chunk, the server comes
back and the upload resumes where the bytes on disk end (issue #21, "faults to survive")."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import httpx

from archive.db import session_scope
from archive.models import Job
from archive.settings import env_for_children
from cli.services import free_port, wait_http, web_argv
from tests.conftest import REPO, stop_group
from tests.integration.staff.test_staff_work import finish, mazhilis, send, start_upload
from tests.support.factory import tone
from tests.support.staff import sign_in


def start_web(settings, log_name: str) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    proc = subprocess.Popen(
        web_argv(settings),
        env=env_for_children(settings),
        stdout=(settings.data_dir / log_name).open("wb"),
        stderr=subprocess.STDOUT,
        cwd=REPO,
        start_new_session=True,
    )
    wait_http(f"http://127.0.0.1:{settings.port}/healthz", 60, proc)
    return proc


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
        data = tone(tmp_path, seconds=6.0, freq=550).read_bytes()
        upload_id = start_upload(client, "hearing.wav", len(data)).json()["id"]
        first = len(data) // 3
        assert send(client, upload_id, 0, data[:first]).status_code == 200

        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        head = (
            f"PUT /staff/uploads/{upload_id}?offset={first} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Cookie: {cookie}\r\nX-CSRF-Token: {client.csrf}\r\n"  # type: ignore[attr-defined]
            "Content-Type: application/octet-stream\r\n"
            f"Content-Length: {len(data) - first}\r\n\r\n"
        ).encode()
        half = (len(data) - first) // 2
        with socket.create_connection(("127.0.0.1", own.port)) as raw:
            raw.sendall(head + data[first : first + half])
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
