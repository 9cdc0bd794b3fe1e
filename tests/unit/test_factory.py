"""The test-data factory (tests/support/factory.py) builds rows the archive's own schema accepts,
with the pipeline's segment ids and word timings, so tests that seed data test the real shapes.

Runs on a migrated SQLite file: no service is needed to write rows (indexing them is left to the
integration tests that search them).
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from archive import migrate
from archive.db import session_scope
from archive.models import Body, Recording, RecordingStatus, Segment
from tests.support.factory import even_words, make_body, make_recording, make_segments


@pytest.fixture()
def db_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'factory.db'}"
    migrate.upgrade(url)
    return url


def test_words_share_their_segment_evenly_in_whole_milliseconds():
    assert even_words(1.0, 2.5, "railway budget approved") == [
        [1.0, 1.5, " railway", 0.9],
        [1.5, 2.0, " budget", 0.9],
        [2.0, 2.5, " approved", 0.9],
    ]
    words = even_words(0.5, 4.093, "Good morning. The session is open.")
    assert words[0][0] == 0.5 and words[-1][1] == 4.093
    assert all(round(w[0], 3) == w[0] and w[0] < w[1] for w in words)


def test_a_body_is_made_once_per_slug(db_url):
    with session_scope(db_url) as session:
        first = make_body(session, "senate", "Сенат", name_en="Senate")
        again = make_body(session, "senate", "ignored")
        assert again is first and first.name == "Сенат" and first.name_en == "Senate"
        assert make_body(session, "akimat").name == "Akimat"
        assert session.scalar(select(func.count()).select_from(Body)) == 2


def test_a_recording_needs_only_what_the_test_is_about(db_url):
    """
    GIVEN two recordings made with nothing but a body, and one given a title and a status
    THEN each is a ready, published recording with a unique SHA-256 and an id, and the given
      columns win over the defaults
    """
    with session_scope(db_url) as session:
        body = make_body(session, "mazhilis")
        one, two = make_recording(session, body), make_recording(session, body)
        live = make_recording(session, body, title="Plenary", status="live", container="hls")
        assert one.id and two.id and one.sha256 != two.sha256 and len(one.sha256) == 64
        assert one.status == RecordingStatus.ready and one.published
        assert (live.title, live.status, live.container) == ("Plenary", "live", "hls")


def test_segments_take_the_pipeline_s_ids_and_each_span_s_language(db_url):
    with session_scope(db_url) as session:
        recording = make_recording(session, make_body(session, "senate"))
        spans = [(0.0, 1.0, "Сәлеметсіздер", "kk"), (1.5, 3.0, "The budget passed")]
        made = make_segments(session, recording, spans)
        later = make_segments(session, recording, [(4.0, 5.0, "Next")], words=None, first_idx=2)
        recording_id = recording.id
    with session_scope(db_url) as session:
        rows = session.scalars(select(Segment).order_by(Segment.idx)).all()
        assert [s.id for s in rows] == [f"{recording_id}-{i}" for i in range(3)]
        assert [s.language for s in rows] == ["kk", "en", "en"]
        assert rows[1].words == even_words(1.5, 3.0, "The budget passed") and rows[2].words == []
        assert session.get(Recording, recording_id).segments[0].text == "Сәлеметсіздер"
    assert len(made) == 2 and len(later) == 1
