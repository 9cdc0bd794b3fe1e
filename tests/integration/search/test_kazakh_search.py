"""Kazakh and Russian search on a real Meilisearch: any script, any spelling, inflected forms."""

from __future__ import annotations

import pytest

from search.meili.client import master_client, wait
from search.meili.documents import text_forms
from search.meili.query import search_segments

SEGMENTS = [
    ("Ашықтықты қамтамасыз ету – мемлекеттің басты міндеті.", "kk"),
    ("Президент Тоқаев Мәжілісте сөз сөйледі.", "kk"),
    ("Қазақстан Үкіметі жаңа бағдарламаны бекітті.", "kk"),
    ("Бюджеттің жобасы депутаттармен талқыланды.", "kk"),
    ("Министр бюджетке өзгерістер енгізуді ұсынды.", "kk"),
    ("Комиссия бюджетті қайта қарады.", "kk"),
    ("Депутаты обсудили проект бюджета на следующий год.", "ru"),
    ("Aşyqtyq – qoğamnyñ senımınıñ negızı.", "kk"),
    ("The ministry of finance published the report.", "en"),
]


@pytest.fixture(scope="module")
def index(settings):
    """The segments above as search documents, indexed the way the pipeline does."""
    client = master_client(settings)
    uid = "segments_kk_test"
    from search.meili.schema import ensure_index

    ensure_index(client, uid)
    docs = []
    for idx, (text, language) in enumerate(SEGMENTS):
        docs.append(
            {
                "id": f"9-{idx}",
                "recording_id": 9,
                "idx": idx,
                "start": idx * 10.0,
                "end": idx * 10.0 + 8,
                **text_forms(text, language),
                "language": language,
                "body": "mazhilis",
                "date_ts": 0,
                "published": True,
                "gen": 1,
            }
        )
    wait(client, client.index(uid).delete_all_documents())
    wait(client, client.index(uid).add_documents(docs))
    return client, uid


def found(index, query: str, **filters: str) -> dict[str, str]:
    client, uid = index
    return {hit.text: hit.html for hit in search_segments(client, uid, query, **filters).hits}


@pytest.mark.parametrize(
    ("query", "segment", "marked"),
    [
        ("ashyqtyq", 0, "Ашықтықты"),
        ("ашыктык", 0, "Ашықтықты"),
        ("Ашықтық", 0, "Ашықтықты"),
        ("Toqaev", 1, "Тоқаев"),
        ("Tokayev", 1, "Тоқаев"),
        ("Токаев", 1, "Тоқаев"),
        ("qazaqstan", 2, "Қазақстан"),
        ("казакстан", 2, "Қазақстан"),
        ("Kazakstan ukimeti", 2, "Үкіметі"),
        ("ашықтық", 7, "Aşyqtyq"),  # and the reverse: Cyrillic query, Latin text
    ],
)
def test_any_spelling_finds_the_written_word_and_highlights_the_original(
    index, query, segment, marked
):
    hits = found(index, query)
    text = SEGMENTS[segment][0]
    assert text in hits, (query, list(hits))
    assert f"<mark>{marked}</mark>" in hits[text]


@pytest.mark.parametrize("query", ["бюджет", "бюджет жоба", "бюджет депутат", "budjet"])
def test_stem_finds_inflected_kazakh_forms_also_when_not_the_last_word(index, query):
    hits = found(index, query)
    if query == "бюджет":
        assert {SEGMENTS[3][0], SEGMENTS[4][0], SEGMENTS[5][0], SEGMENTS[6][0]} <= set(hits)
    elif query == "budjet":
        assert SEGMENTS[3][0] in hits
    else:
        assert SEGMENTS[3][0] in hits
        assert SEGMENTS[4][0] not in hits  # both words must match


def test_language_filter_and_facets(index):
    client, uid = index
    page = search_segments(client, uid, "бюджет", language="ru")
    assert [hit.language for hit in page.hits] == ["ru"]
    everything = search_segments(client, uid, "бюджет")
    assert everything.facets["language"] == {"kk": 3, "ru": 1}


def test_the_stemmed_form_is_kept_only_where_stemming_changed_a_word():
    """
    GIVEN a Kazakh segment with inflected words and an English one
    WHEN their search forms are made
    THEN only the Kazakh one keeps a stemmed form; the other's is "" (it would equal the folded
      form, which the stemmed query searches too), so the index holds no copy of it
    """
    kazakh = text_forms("Бюджеттің жобасы", "kk")
    assert kazakh["text_stem"] and kazakh["text_stem"] != kazakh["text_folded"]
    assert text_forms("The ministry of finance", "en")["text_stem"] == ""


def test_an_index_without_stemmed_segments_still_answers_the_stemmed_query(settings):
    """
    GIVEN an index whose segments are all Russian and English (no stemmed form stored anywhere)
    WHEN a word is searched (the stemmed query names text_stem among its attributes)
    THEN the segments are found: Meilisearch refuses an attribute no document has, and an empty
      text_stem keeps it known
    """
    client = master_client(settings)
    uid = "segments_no_stem_test"
    from search.meili.schema import ensure_index

    ensure_index(client, uid)
    docs = [
        {
            "id": "8-0",
            "recording_id": 8,
            "start": 0.0,
            "end": 5.0,
            "language": "ru",
            **text_forms("Бюджет на следующий год", "ru"),
            "published": True,
            "gen": 1,
        },
        {
            "id": "8-1",
            "recording_id": 8,
            "start": 5.0,
            "end": 9.0,
            "language": "en",
            **text_forms("The budget committee met", "en"),
            "published": True,
            "gen": 1,
        },
    ]
    wait(client, client.index(uid).delete_all_documents())
    wait(client, client.index(uid).add_documents(docs))
    assert "8-0" in [h.id for h in search_segments(client, uid, "бюджетке").hits]
    assert [h.id for h in search_segments(client, uid, "committee").hits] == ["8-1"]
    wait(client, client.delete_index(uid))
