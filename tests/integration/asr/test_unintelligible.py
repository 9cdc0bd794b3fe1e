"""A segment Whisper could only turn into a repetition loop: stored with its timing and no text,
shown as a marker, kept out of search and captions, and editable into an ordinary segment."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from archive.db import session_scope
from archive.models import Recording, Segment, SegmentRevision
from search.meili.client import master_client
from search.meili.indexer import index_recording
from tests.conftest import clean_archive
from tests.support.spoken import make_media, store
from workers.services.editing import revert, update_segment


def _indexed(settings, recording_id: int) -> set[str]:
    found = (
        master_client(settings)
        .index(settings.meili_index)
        .get_documents({"filter": f"recording_id = {recording_id}", "fields": ["id"]})
    )
    return {str(doc.id) for doc in found.results}


def test_an_unintelligible_segment_keeps_its_time_shows_a_marker_and_stays_out_of_search(
    settings, web, tmp_path
):
    """
    GIVEN a published recording of three spoken sentences whose middle one the engine marked
    unintelligible (timing kept, no text, no words — as the pipeline stores it)
    WHEN it is indexed, its page, captions and JSON export are read, then staff type what was
    said, then revert that edit
    THEN the page shows the localized marker at that time (en, kk), the search index and the
    captions hold only the other two, the export flags it; after the edit it is an ordinary
    segment found by its words, and after the revert it is unintelligible and out of search again
    """
    clean_archive(settings)
    media, bounds = make_media(tmp_path / "media", video=False)
    spoken = store(settings, media, bounds, title="Loops", video=False)
    rid, said = spoken.id, bounds[1][2]
    with session_scope(settings.db_url) as session:
        middle = session.get(Segment, f"{rid}-1")
        middle.text, middle.words, middle.unintelligible = "", [], True
        session.flush()
        index_recording(master_client(settings), settings.meili_index, session.get(Recording, rid))
    assert _indexed(settings, rid) == {f"{rid}-0", f"{rid}-2"}

    for lang, marker in (("en", "[unintelligible]"), ("kk", "[түсініксіз]")):
        page = httpx.get(f"{web}/r/{rid}", params={"lang": lang}, timeout=30)
        assert page.status_code == 200
        row = page.text.split(f'id="seg-{rid}-1"', 1)[1].split("</li>", 1)[0]
        assert (
            f'data-start="{bounds[1][0]}"' in row
            and f'<span class="unintelligible">{marker}' in row
        )
    captions = httpx.get(f"{web}/r/{rid}/captions.vtt", timeout=30).text
    assert bounds[0][2] in captions and bounds[2][2] in captions and captions.count(" --> ") == 2
    exported = httpx.get(f"{web}/r/{rid}/transcript.json", timeout=30).json()["segments"]
    assert [s["unintelligible"] for s in exported] == [False, True, False]
    assert (exported[1]["start"], exported[1]["end"], exported[1]["text"]) == (*bounds[1][:2], "")

    with session_scope(settings.db_url) as session:
        recording = session.get(Recording, rid)
        update_segment(settings, session, recording, None, 1, text=said)
        middle = session.get(Segment, f"{rid}-1")
        assert (middle.text, middle.unintelligible, middle.reviewed) == (said, False, True)
    assert _indexed(settings, rid) == {f"{rid}-0", f"{rid}-1", f"{rid}-2"}
    hits = master_client(settings).index(settings.meili_index).search("railway budget")["hits"]
    assert [hit["id"] for hit in hits] == [f"{rid}-1"]

    with session_scope(settings.db_url) as session:
        edit = session.scalars(select(SegmentRevision).where(SegmentRevision.recording_id == rid))
        revert(settings, session, edit.one(), None)
        middle = session.get(Segment, f"{rid}-1")
        assert (middle.text, middle.unintelligible) == ("", True)
    assert _indexed(settings, rid) == {f"{rid}-0", f"{rid}-2"}
    clean_archive(settings)
