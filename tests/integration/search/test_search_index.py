"""The index against a real Meilisearch: settings, failures, keys, rebuild."""

from __future__ import annotations

import contextlib
from datetime import date

import meilisearch
import pytest
from meilisearch.errors import MeilisearchApiError

from archive.db import session_scope
from search.meili.client import (
    IndexingFailed,
    add_documents,
    ensure_search_key,
    master_client,
    wait,
)
from search.meili.indexer import rebuild
from search.meili.query import highlight_html, search_segments
from search.meili.schema import INDEX_SETTINGS, ensure_index
from tests.conftest import clean_archive
from tests.support.helpers import segment_count, wait_job
from tests.support.media_factory import clip_with_word_at_known_time
from workers.services.submit import submit_file


def test_index_settings_are_applied_idempotently(archive):
    """
    GIVEN the declared settings WHEN ensure_index runs twice THEN the index holds them
    """
    client = master_client(archive)
    ensure_index(client, archive.meili_index)
    ensure_index(client, archive.meili_index)
    actual = client.index(archive.meili_index).get_settings()
    assert sorted(actual["filterableAttributes"]) == sorted(INDEX_SETTINGS["filterableAttributes"])
    assert sorted(actual["sortableAttributes"]) == sorted(INDEX_SETTINGS["sortableAttributes"])
    assert actual["searchableAttributes"] == INDEX_SETTINGS["searchableAttributes"]


def test_a_failed_meilisearch_task_raises(archive):
    """
    GIVEN a document whose id Meilisearch refuses WHEN it is added THEN IndexingFailed is raised
    (the client's wait_for_task alone would return normally)
    """
    client = master_client(archive)
    task = client.index(archive.meili_index).add_documents([{"id": "not valid!", "text": "x"}])
    with pytest.raises(IndexingFailed, match=r"invalid_document_id|Document identifier"):
        wait(client, task)


def test_documents_are_stored_as_utf8_not_ascii_escapes(archive):
    """
    GIVEN a long Kazakh segment
    WHEN it is sent with search.meili.client.add_documents, and with the Python client's own method
    THEN both read back intact, and ours takes under half the documents database: the client
      escapes each Cyrillic letter to six bytes and Meilisearch stores values as sent
    """
    client = master_client(archive)
    text = "Ашықтықты қамтамасыз ету – мемлекеттің басты міндеті. " * 200
    sizes = {}
    for uid, send in (
        ("utf8_test", lambda index, docs: add_documents(index, docs)),
        ("escaped_test", lambda index, docs: index.add_documents(docs, primary_key="id")),
    ):
        ensure_index(client, uid)
        index = client.index(uid)
        wait(client, send(index, [{"id": "1-0", "recording_id": 1, "text": text}]))
        assert index.get_document("1-0").text == text
        sizes[uid] = client.http.get(f"indexes/{uid}/stats")["rawDocumentDbSize"]
        wait(client, client.delete_index(uid))
    assert sizes["utf8_test"] * 2 < sizes["escaped_test"]


def test_public_key_can_search_but_not_write(archive):
    """
    GIVEN the search-only key the web pages use
    WHEN it searches, and when it tries to add a document
    THEN the search works and the write is refused
    """
    key = ensure_search_key(master_client(archive), archive.meili_index)
    assert key != archive.meili_master_key
    assert ensure_search_key(master_client(archive), archive.meili_index) == key
    public = meilisearch.Client(archive.meili_url, key)
    public.index(archive.meili_index).search("anything")
    with pytest.raises(MeilisearchApiError) as refused:
        public.index(archive.meili_index).add_documents([{"id": "x", "text": "y"}])
    assert refused.value.code in ("invalid_api_key", "missing_authorization_header")


def test_highlights_never_let_transcript_text_become_markup():
    assert highlight_html("say <script> now", [(4, 12)]) == "say <mark>&lt;script&gt;</mark> now"


def test_an_empty_archive_answers_with_no_hits(archive):
    """GIVEN an index with no documents WHEN searched THEN no hits, not an error"""
    page = search_segments(master_client(archive), archive.meili_index, "бюджет")
    assert page.total == 0 and page.hits == []


@pytest.mark.whisper
def test_reindex_rebuilds_the_same_documents_from_the_database(archive, worker, tmp_path):
    """
    GIVEN an ingested recording WHEN the index is emptied and rebuilt from the database
    THEN the same segments are searchable again
    """
    clip = clip_with_word_at_known_time(tmp_path, fmt="m4a")
    job = wait_job(
        archive, submit_file(archive, clip.path, title="R", body="senat", when="2026-01-05")
    )
    assert job.state == "succeeded", job.error
    client = master_client(archive)
    wait(client, client.index(archive.meili_index).delete_all_documents())
    assert search_segments(client, archive.meili_index, "railway").total == 0
    with session_scope(archive.db_url) as session:
        count = rebuild(client, archive.meili_index, session)
    assert count == segment_count(archive, job.recording_id)
    found = search_segments(client, archive.meili_index, "railway")
    assert found.total == 1 and found.hits[0].recording_id == job.recording_id


@pytest.mark.whisper
def test_an_index_of_an_older_document_version_is_rebuilt_once(archive, worker, tmp_path):
    """
    GIVEN an index whose documents predate the current version (no folded/stemmed fields)
    WHEN ensure_current runs (as `ashyq up` and `ashyq worker` do at start)
    THEN the index is rebuilt from the database, with the new fields, and marked current
    """
    from search.meili.indexer import ensure_current
    from search.meili.schema import DOCUMENT_VERSION, META_INDEX, stored_version

    clip = clip_with_word_at_known_time(tmp_path, fmt="wav")
    job = wait_job(
        archive, submit_file(archive, clip.path, title="Old", body="senat", when="2026-01-05")
    )
    client = master_client(archive)
    index = client.index(archive.meili_index)
    old = [
        {k: v for k, v in dict(doc).items() if k not in ("text_folded", "text_stem")}
        for doc in index.get_documents({"limit": 100}).results
    ]
    wait(client, index.delete_all_documents())
    wait(client, index.add_documents(old))
    with contextlib.suppress(IndexingFailed):  # absent on a new server
        wait(client, client.index(META_INDEX).delete_all_documents())
    assert stored_version(client, archive.meili_index) is None

    with session_scope(archive.db_url) as session:
        assert ensure_current(client, archive.meili_index, session) is True
        assert ensure_current(client, archive.meili_index, session) is False
    assert stored_version(client, archive.meili_index) == DOCUMENT_VERSION
    docs = index.get_documents({"limit": 100}).results
    assert len(docs) == segment_count(archive, job.recording_id)
    assert all(dict(doc).get("text_folded") for doc in docs)


def test_an_index_of_the_previous_document_version_is_rebuilt_with_russian_forms(archive):
    """
    GIVEN a Russian segment indexed as document version 4 did (no reduced form for Russian) and
      the index marked as version 4
    WHEN ensure_current runs (as `ashyq up`, `ashyq worker` do at start; `ashyq reindex` rebuilds)
    THEN the version tells: it rebuilds once, marks the current version, and the verb's
      dictionary form now finds the segment that says it in another person
    """
    from search.meili.indexer import ensure_current
    from search.meili.schema import DOCUMENT_VERSION, META_INDEX, stored_version
    from tests.support.corpus import Rec, seed

    assert DOCUMENT_VERSION >= 5  # 5 brought the Russian forms
    seed(archive, [Rec("R", "senate", date(2026, 3, 2), [("ru", "Жители жалуются на шум.")])])
    client = master_client(archive)
    index = client.index(archive.meili_index)
    old = [{**dict(doc), "text_stem": ""} for doc in index.get_documents({"limit": 10}).results]
    old = [{k: v for k, v in doc.items() if not k.startswith("_")} for doc in old]
    wait(client, index.add_documents(old))
    version_4 = {"id": archive.meili_index, "document_version": 4}
    wait(client, client.index(META_INDEX).add_documents([version_4], primary_key="id"))
    assert stored_version(client, archive.meili_index) == 4
    assert search_segments(client, archive.meili_index, "жаловаться").total == 0

    with session_scope(archive.db_url) as session:
        assert ensure_current(client, archive.meili_index, session) is True
        assert ensure_current(client, archive.meili_index, session) is False
    assert stored_version(client, archive.meili_index) == DOCUMENT_VERSION
    found = search_segments(client, archive.meili_index, "жаловаться")
    assert [hit.text for hit in found.hits] == ["Жители жалуются на шум."]
    assert "<mark>жалуются</mark>" in found.hits[0].html


MARKERS = ("viaduct", "aqueduct", "causeway")


def many_lines(n: int, marker: str) -> list[tuple[str, str]]:
    return [("en", f"Item {i} of the agenda, line {i}.") for i in range(n - 1)] + [
        ("en", f"The {marker} was approved.")
    ]


def test_a_rebuild_queues_batches_and_indexes_every_segment(archive, monkeypatch):
    """
    GIVEN 1,200 segments over three recordings, a rebuild sending batches of 250 with two queued
    WHEN the index is emptied and rebuilt THEN every segment is there once, the last of each
      recording is found, and the temporary index is gone
    """
    from search.meili import indexer
    from tests.support.corpus import Rec, seed

    clean_archive(archive)
    recs = seed(
        archive,
        [
            Rec(f"R{n}", "senate", date(2026, 2, n + 1), many_lines(400, marker))
            for n, marker in enumerate(MARKERS)
        ],
    )
    monkeypatch.setattr(indexer, "BATCH", 250)
    monkeypatch.setattr(indexer, "IN_FLIGHT", 2)
    client = master_client(archive)
    wait(client, client.index(archive.meili_index).delete_all_documents())
    with session_scope(archive.db_url) as session:
        count = rebuild(client, archive.meili_index, session)
    assert count == 1200
    assert client.index(archive.meili_index).get_stats().number_of_documents == 1200
    for marker, rec in zip(MARKERS, recs, strict=True):
        [hit] = search_segments(client, archive.meili_index, marker).hits
        assert hit.recording_id == rec.id and hit.id == f"{rec.id}-399"
    assert f"{archive.meili_index}_rebuild" not in [i.uid for i in client.get_indexes()["results"]]


def test_a_batch_refused_mid_rebuild_fails_it_and_the_old_index_keeps_serving(archive, monkeypatch):
    """
    GIVEN an indexed archive and a rebuild whose third batch Meilisearch refuses (a bad id)
    WHEN the rebuild runs with batches queued THEN it raises IndexingFailed naming the refusal,
      the live index is untouched (still searchable, same count), and a later rebuild succeeds
    """
    from search.meili import documents, indexer
    from tests.support.corpus import Rec, seed

    clean_archive(archive)
    seed(archive, [Rec("R", "senate", date(2026, 2, 1), many_lines(1000, "viaduct"))])
    monkeypatch.setattr(indexer, "BATCH", 200)
    monkeypatch.setattr(indexer, "IN_FLIGHT", 3)
    real = documents.segment_document

    def refused_once(recording, seg, gen):  # type: ignore[no-untyped-def]
        doc = real(recording, seg, gen)
        return {**doc, "id": "not valid!"} if seg.idx == 450 else doc

    monkeypatch.setattr(indexer, "segment_document", refused_once)
    client = master_client(archive)
    with session_scope(archive.db_url) as session, pytest.raises(IndexingFailed):
        rebuild(client, archive.meili_index, session)
    assert client.index(archive.meili_index).get_stats().number_of_documents == 1000
    assert search_segments(client, archive.meili_index, "viaduct").total == 1
    monkeypatch.setattr(indexer, "segment_document", real)
    with session_scope(archive.db_url) as session:
        assert rebuild(client, archive.meili_index, session) == 1000
    assert search_segments(client, archive.meili_index, "viaduct").total == 1


def test_recordings_beyond_the_relevance_window_follow_by_hit_count(archive, monkeypatch):
    """
    GIVEN four recordings with 1, 4, 3 and 2 segments saying "viaduct", and a relevance window of
      only two segment hits (the real one holds 1,000)
    WHEN the two pages of two recordings are read
    THEN every recording appears once with its own hit count and at least one highlighted moment;
      those the window did not reach come after its recordings, most hits first
    """
    from search.meili import query
    from tests.support.corpus import Rec, seed

    clean_archive(archive)
    recs = seed(
        archive,
        [
            Rec(f"R{n}", "senate", date(2026, 3, n + 1), [("en", "The viaduct opens.")] * hits)
            for n, hits in enumerate((1, 4, 3, 2))
        ],
    )
    hits_of = {rec.id: len(rec.lines) for rec in recs}
    monkeypatch.setattr(query, "WINDOW", 2)
    client = master_client(archive)
    pages = [
        query.search_recordings(client, archive.meili_index, "viaduct", page=page, per_page=2)
        for page in (1, 2)
    ]
    groups = [group for results in pages for group in results.groups]
    assert all(results.total_recordings == 4 and results.pages == 2 for results in pages)
    assert sorted(g.recording_id for g in groups) == sorted(hits_of)
    for group in groups:
        assert group.hit_count == hits_of[group.recording_id]
        assert group.hits and "<mark>viaduct</mark>" in group.hits[0].html
    windowed = {
        hit.recording_id for hit in search_segments(client, archive.meili_index, "viaduct").hits[:2]
    }
    order = [g.recording_id for g in groups]
    beyond = [rid for rid in order if rid not in windowed]
    assert order[: len(order) - len(beyond)] == [rid for rid in order if rid in windowed]
    assert [hits_of[rid] for rid in beyond] == sorted(
        (hits_of[rid] for rid in beyond), reverse=True
    )
