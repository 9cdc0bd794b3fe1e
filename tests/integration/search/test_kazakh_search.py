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


@pytest.mark.parametrize("query", ["бюджет", "бюджет жоба", "бюджет депутат", "byudzhet"])
def test_stem_finds_inflected_kazakh_forms_also_when_not_the_last_word(index, query):
    hits = found(index, query)
    if query == "бюджет":
        assert {SEGMENTS[3][0], SEGMENTS[4][0], SEGMENTS[5][0], SEGMENTS[6][0]} <= set(hits)
    elif query == "byudzhet":
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
    GIVEN segments with inflected words (Kazakh, Russian, English), one of uninflected words and
      one whose language is unknown
    WHEN their search forms are made
    THEN the inflected ones keep a stemmed form; the others' is "" (it would equal the folded
      form, which the stemmed query searches too), so the index holds no copy of it
    """
    for text, language in [
        ("Бюджеттің жобасы", "kk"),
        ("Жилищной программы", "ru"),
        ("The ministry of finance", "en"),
    ]:
        forms = text_forms(text, language)
        assert forms["text_stem"] and forms["text_stem"] != forms["text_folded"]
    assert text_forms("Бюджет жоба", "kk")["text_stem"] == ""
    assert text_forms("The ministry of finance", None)["text_stem"] == ""


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


RUSSIAN_AND_COLLISIONS = [
    ("Исполнение жилищной программы обсудили в Мажилисе.", "ru"),  # 0
    ("Жилищная программа принята.", "ru"),  # 1
    ("О государственном долге доложил министр финансов.", "ru"),  # 2
    ("Государственный долг вырос.", "ru"),  # 3
    ("Жители жалуются на дороги.", "ru"),  # 4
    ("Комиссия жобаны екі рет қарады.", "kk"),  # 5: was examined
    ("Өтініш комиссияда қаралды.", "kk"),  # 6: was examined
    ("Депутаттар шешімге қарсы дауыс берді.", "kk"),  # 7: against
    ("Жолға қосымша қаржы бөлінді.", "kk"),  # 8: finance
    ("Қаржының бір бөлігі игерілмеді.", "kk"),  # 9: finance, inflected
    ("Биыл жаңа мектеп салынады.", "kk"),  # 10: this year
    ("Оқушылардың білімін тексеру басталды.", "kk"),  # 11: knowledge, inflected
    ("Комиссия тұрғындармен кездесті.", "kk"),  # 12: residents
    ("Заң жобасы туралы баяндама жасалды.", "kk"),  # 13: about
    ("Шарт заңды түрде тіркелді.", "kk"),  # 14: in a way
]


@pytest.fixture(scope="module")
def forms_index(settings):
    """The segments above, indexed as the pipeline does (each with its language's forms)."""
    from search.meili.schema import ensure_index

    client = master_client(settings)
    uid = "segments_forms_test"
    ensure_index(client, uid)
    docs = [
        {
            "id": f"7-{idx}",
            "recording_id": 7,
            "start": float(idx),
            "end": idx + 0.9,
            **text_forms(text, language),
            "language": language,
            "body": "mazhilis",
            "date_ts": 0,
            "published": True,
            "gen": 1,
        }
        for idx, (text, language) in enumerate(RUSSIAN_AND_COLLISIONS)
    ]
    wait(client, client.index(uid).delete_all_documents())
    wait(client, client.index(uid).add_documents(docs))
    yield client, uid
    wait(client, client.delete_index(uid))


def ranked(forms_index, query: str) -> list[int]:
    client, uid = forms_index
    return [hit.idx for hit in search_segments(client, uid, query).hits]


@pytest.mark.parametrize(
    ("query", "segments"),
    [
        ("жилищная программа", {0, 1}),  # dictionary form → "жилищной программы"
        ("жилищной программы", {0, 1}),  # and the reverse
        ("государственный долг", {2, 3}),
        ("государственном долге", {2, 3}),
        ("жаловаться", {4}),  # a verb in another person
        ("жалуются", {4}),
    ],
)
def test_russian_dictionary_forms_find_inflected_segments_and_the_reverse(
    forms_index, query, segments
):
    """
    GIVEN Russian segments with adjective + noun phrases and verbs in different forms
    WHEN one form is searched THEN every segment with the word in any form is found, nothing else
    """
    assert set(ranked(forms_index, query)) == segments


@pytest.mark.parametrize(
    ("query", "wanted", "unrelated"),
    [
        ("қаржы", {8, 9}, {5, 6, 7}),  # finance, not "was examined", "against"
        ("qarjy", {8, 9}, {5, 6, 7}),
        ("білім", {11}, {10}),  # knowledge, not "this year"
        ("тұрғындар", {12}, {13, 14}),  # residents, not "about", "in a way"
    ],
)
def test_short_kazakh_stems_no_longer_find_unrelated_words(forms_index, query, wanted, unrelated):
    """
    GIVEN Kazakh segments whose words share a short stem with the query's (қаржы/қарады, қарсы;
      білім/биыл; тұрғындар/туралы, түрде) and segments with the query word inflected
    WHEN the word is searched THEN the inflected forms are found and the unrelated words are not
    """
    found = set(ranked(forms_index, query))
    assert wanted <= found
    assert not found & unrelated


@pytest.mark.parametrize(
    ("query", "first", "then"),
    [
        ("жилищная программа", 1, 0),  # the words as typed, then the inflected form
        ("жилищной программы", 0, 1),
        ("государственный долг", 3, 2),
        ("қаржы", 8, 9),
    ],
)
def test_the_words_as_typed_rank_above_a_stem_only_match(forms_index, query, first, then):
    """
    GIVEN a segment holding the query's words as typed and one holding them only inflected
    WHEN the query is searched THEN the exact one ranks first (weights of search.meili.query)
    """
    order = ranked(forms_index, query)
    assert order.index(first) < order.index(then)


def test_a_spelling_as_typed_ranks_above_a_folded_only_match(index):
    """GIVEN "Ашықтықты" (Cyrillic) and "Aşyqtyq" (2021 Latin) WHEN "Aşyqtyq" is searched THEN
    the segment written that way ranks above the one found through folding"""
    assert [hit.text for hit in search_segments(*index, "Aşyqtyq").hits][:2] == [
        SEGMENTS[7][0],
        SEGMENTS[0][0],
    ]


@pytest.mark.parametrize("query", ["ákimdik", "a'ki'mdi'k", "muǵalim", "my'g'ali'm"])
def test_older_latin_spellings_find_the_cyrillic_word(settings, query):
    """GIVEN a segment in Cyrillic WHEN it is searched in the 2017 or 2018 Latin alphabet THEN it
    is found and the Cyrillic word highlighted"""
    from search.meili.schema import ensure_index

    client = master_client(settings)
    uid = "segments_latin_test"
    ensure_index(client, uid)
    doc = {
        "id": "6-0",
        "recording_id": 6,
        "start": 0.0,
        "end": 2.0,
        **text_forms("Әкімдік мұғалімдерге пәтер берді.", "kk"),
        "language": "kk",
        "published": True,
        "gen": 1,
    }
    wait(client, client.index(uid).add_documents([doc]))
    hits = search_segments(client, uid, query).hits
    assert [hit.id for hit in hits] == ["6-0"]
    assert "<mark>" in hits[0].html


def test_budget_does_not_find_will_be(settings):
    """
    GIVEN a Russian segment with "будет" ("will be", in most Russian sentences) and one with
      "бюджет" ("budget"), indexed the way the pipeline does
    WHEN searching "бюджет", "бюджета", "Бюджет" or "byudzhet"
    THEN only the budget segment is found: the folded forms must be two letters apart, beyond
      the one typo a word of that length is allowed
    """
    client = master_client(settings)
    uid = "segments_budget_test"
    from search.meili.schema import ensure_index

    ensure_index(client, uid)
    texts = ["Заседание будет завтра утром.", "Бюджет утвердили вчера вечером."]
    docs = [
        {
            "id": f"8-{idx}",
            "recording_id": 8,
            "start": 0.0,
            "end": 5.0,
            **text_forms(text, "ru"),
            "language": "ru",
            "body": "senat",
            "date_ts": 0,
            "published": True,
            "gen": 1,
        }
        for idx, text in enumerate(texts)
    ]
    wait(client, client.index(uid).delete_all_documents())
    wait(client, client.index(uid).add_documents(docs))
    for query in ("бюджет", "бюджета", "Бюджет", "byudzhet"):
        hits = [hit.text for hit in search_segments(client, uid, query).hits]
        assert hits == [texts[1]], (query, hits)
