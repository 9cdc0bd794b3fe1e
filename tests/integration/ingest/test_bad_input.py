"""Files that are not usable media fail clearly and leave nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive.db import session_scope
from archive.models import Recording
from search.meili.client import master_client
from tests.support.helpers import wait_job
from tests.support.media_factory import clip_with_word_at_known_time
from workers.services.submit import InvalidRequest, submit_file


def _text_as_mp4(folder: Path) -> Path:
    path = folder / "minutes.mp4"
    path.write_text("Minutes of the session. This is a text file, not a video.\n" * 20)
    return path


def _empty(folder: Path) -> Path:
    path = folder / "empty.mp4"
    path.write_bytes(b"")
    return path


def _truncated(folder: Path) -> Path:
    clip = clip_with_word_at_known_time(folder / "src", fmt="mp4").path
    data = clip.read_bytes()
    path = folder / "truncated.mp4"
    path.write_bytes(data[: len(data) // 3])
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_text_as_mp4, "not a media file ffmpeg can read"),
        (_empty, "the file is empty"),
        (_truncated, "not a media file ffmpeg can read"),
    ],
    ids=["text-renamed-mp4", "zero-bytes", "truncated-mp4"],
)
def test_bad_file_fails_with_a_clear_message_and_leaves_nothing(
    archive, worker, tmp_path, make, message
):
    """
    GIVEN a file that is not usable media
    WHEN it is ingested
    THEN the job fails once (no retries) with a clear message; no recording, no segment, no
    search document, and nothing in the media store, incoming or work folders remains
    """
    job = wait_job(
        archive, submit_file(archive, make(tmp_path), title="Bad", body="bad", when="2026-01-01")
    )
    assert job.state == "failed"
    assert message in job.error
    assert job.attempts == 1
    assert job.recording_id is None
    with session_scope(archive.db_url) as session:
        assert session.scalar(select(func.count()).select_from(Recording)) == 0
    stats = master_client(archive).index(archive.meili_index).get_stats()
    assert stats.number_of_documents == 0
    for folder in (archive.media_dir, archive.incoming_dir, archive.work_dir):
        leftovers = [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
        assert leftovers == [], leftovers


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"title": " ", "body": "senat", "when": "2026-01-01"}, "title must not be empty"),
        ({"title": "T", "body": "Senat Hall", "when": "2026-01-01"}, "must be a slug"),
        ({"title": "T", "body": "senat", "when": "15.01.2026"}, "must be YYYY-MM-DD"),
    ],
)
def test_bad_metadata_is_refused_before_anything_is_queued(archive, tmp_path, kwargs, message):
    """
    GIVEN wrong metadata WHEN a file is submitted THEN it is refused and nothing is staged
    """
    clip = tmp_path / "x.wav"
    clip.write_bytes(b"RIFF")
    with pytest.raises(InvalidRequest, match=message):
        submit_file(archive, clip, **kwargs)
    assert not archive.incoming_dir.exists() or not any(archive.incoming_dir.iterdir())


def test_missing_file_is_refused(archive, tmp_path):
    with pytest.raises(InvalidRequest, match="no such file"):
        submit_file(archive, tmp_path / "nope.mp4", title="T", body="senat", when="2026-01-01")
