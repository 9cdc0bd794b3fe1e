"""The job dashboard against a real worker: cancel a running and a queued job, retry one."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from archive.db import session_scope
from archive.models import Job, Recording
from tests.support.helpers import wait_job
from tests.support.media_factory import clip_with_word_at_known_time, speak
from tests.support.staff import sign_in
from workers.services.submit import submit_file

pytestmark = [pytest.mark.whisper]

PARAGRAPH = (
    "The committee discussed the budget of the region, the repair of schools and hospitals, "
    "the price of bread and fuel, and the new bus routes between the districts. "
)


def state(settings, job_id: int) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with session_scope(settings.db_url) as session:
        job = session.get(Job, job_id)
        return job.state.value, job.stage


def test_cancel_running_and_queued_jobs_then_retry(archive, worker, staff, tmp_path):
    """
    GIVEN a long recording being transcribed and a short one queued behind it
    WHEN an editor cancels both from the dashboard, then retries the short one
    THEN the running job stops, discards its work and stays cancelled with no recording (its
    input kept for a retry); the queued one is skipped; retried, it runs to success; finished
    jobs can be neither cancelled nor retried
    """
    long_audio = speak(PARAGRAPH * 16, tmp_path / "long.wav")  # still running when cancelled
    short = clip_with_word_at_known_time(tmp_path / "short", fmt="mp4").path
    running = submit_file(archive, long_audio, title="Long", body="akimat", when="2026-01-10")
    queued = submit_file(archive, short, title="Short", body="akimat", when="2026-01-11")
    client = TestClient(create_app(archive))
    csrf = sign_in(client, staff.editor)

    deadline = time.monotonic() + 180
    # Mid-transcription the stage carries a note ("transcribe: 1/3 …"); a bare "transcribe" is
    # written once the whole file is done, too late to catch it running.
    while (
        not state(archive, running)[1].startswith("transcribe:")
        or state(archive, running)[0] != "running"
    ):
        assert time.monotonic() < deadline, state(archive, running)
        time.sleep(0.2)
    assert state(archive, queued)[0] == "queued"
    for job_id in (queued, running):
        answer = client.post(
            f"/staff/jobs/{job_id}/cancel", data={"csrf_token": csrf}, follow_redirects=False
        )
        assert answer.status_code == 303

    listed = {j["id"]: j for j in client.get("/staff/jobs.json").json()["jobs"]}
    assert listed[running]["state"] == listed[queued]["state"] == "cancelled"
    assert listed[queued]["can_retry"] and not listed[queued]["can_cancel"]
    with session_scope(archive.db_url) as session:
        staged = archive.data_dir / session.get(Job, running).source_path
    deadline = time.monotonic() + 180  # the next progress write may be a window away
    while any(archive.work_dir.iterdir()):  # it stops at its next progress write, cleans up
        assert time.monotonic() < deadline, "the cancelled job went on running"
        time.sleep(0.2)
    time.sleep(2)
    assert state(archive, running)[0] == "cancelled"
    assert staged.exists(), "the input is kept so that the job can be retried"
    with session_scope(archive.db_url) as session:
        assert session.scalar(select(func.count()).select_from(Recording)) == 0

    retried = client.post(
        f"/staff/jobs/{queued}/retry", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert retried.status_code == 303
    job = wait_job(archive, queued)
    assert job.state == "succeeded", job.error
    for action in ("retry", "cancel"):
        answer = client.post(f"/staff/jobs/{queued}/{action}", data={"csrf_token": csrf})
        assert answer.status_code == 409
    page = client.get("/staff/jobs")
    assert page.status_code == 200 and f'data-id="{queued}" data-state="succeeded"' in page.text
