"""Reduced word forms: Kazakh stems, Russian lemmas, English stems, and the queries on them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from search.meili.query import build_queries
from search.text.stemming import SHIPPED, TABLES, Stemming, stem_folded, stem_text


@pytest.mark.parametrize(
    ("word", "language"),
    [
        ("бюджеттің", "kk"),
        ("бюджетке", "kk"),
        ("бюджетті", "kk"),
        ("бюджеттен", "kk"),
        ("бюджеттегі", "kk"),
        ("бюджеттеріміздің", "kk"),
        ("бюджета", "ru"),
        ("бюджетом", "ru"),
        ("бюджету", "ru"),
    ],
)
def test_inflected_forms_share_the_stem(word, language):
    assert stem_text(word, language) == stem_text("бюджет", language) == "biudjet"


@pytest.mark.parametrize(
    ("typed", "spoken"),
    [
        ("жилищная программа", "исполнение жилищной программы"),
        ("государственный долг", "о государственном долге"),
        ("жаловаться", "жалуются"),
        ("провести", "проведёт"),
        ("больница", "больницам"),
    ],
)
def test_russian_dictionary_forms_meet_their_inflected_forms(typed, spoken):
    """GIVEN a Russian word in its dictionary form and the same word inflected (case, number,
    person) WHEN both are reduced as Russian THEN they are the same words (pymorphy3 lemmas)"""
    reduced = stem_text(spoken, "ru").split()
    assert all(word in reduced for word in stem_text(typed, "ru").split())


def test_english_segments_get_snowball_stems():
    assert stem_text("ministries budgets", "en") == stem_text("ministry budget", "en")


@pytest.mark.parametrize(
    ("query", "unrelated"),
    [
        ("білім", "биыл"),
        ("білім", "білікті"),
        ("салым", "салынды"),
        ("қаржы", "қарады"),
        ("қаржы", "қарсы"),
        ("тұрғындар", "туралы"),
        ("тұрғындар", "түрде"),
        ("сенім", "сенат"),
        ("тілдер", "тілек"),
    ],
)
def test_short_kazakh_stems_no_longer_meet_unrelated_words(query, unrelated):
    """GIVEN a Kazakh word whose three-letter stem was an unrelated word's (білім → bil = биыл)
    WHEN both are stemmed now THEN the stems differ: four letters are kept unless a known root"""
    assert stem_text(query, "kk") != stem_text(unrelated, "kk")


def test_three_letter_stems_were_the_unrelated_words():
    """The collision the rule removes: with three letters left, білім was биыл and салым салынды."""
    old = Stemming(3, False, False, False)
    assert stem_text("білім", "kk", old) == stem_text("биыл", "kk", old) == "bil"
    assert stem_text("салым", "kk", old) == stem_text("салынды", "kk", old) == "sal"


@pytest.mark.parametrize(
    ("forms", "stem"),
    [
        (("жол", "жолдар", "жолдың"), "jol"),  # a known short root
        (("заң", "заңда", "заңға"), "zan"),
        (("мектеп", "мектебі", "мектебінде"), "mektep"),  # б → п back
        (("сұрақ", "сұрағына"), "surak"),
        (("аудан", "аудандағы", "ауданнан", "ауданда"), "audan"),  # not ауда + ндағы
        (("ауыл", "ауылында", "ауылына"), "auil"),
        (("қаржы", "қаржысын"), "karj"),
    ],
)
def test_kazakh_forms_meet_their_stem(forms, stem):
    assert {stem_text(form, "kk") for form in forms} == {stem}


def test_surnames_keep_one_stem_in_both_languages():
    """Surnames the Russian dictionary does not know keep -ов/-ев in every case, so the Kazakh
    form of a query (which the query is reduced to as well) meets them in Russian segments."""
    assert stem_text("Тоқаевтың", "kk") == stem_text("Тоқаев", "kk") == "tokaev"
    assert {stem_text(w, "ru") for w in ("Токаева", "Токаеву", "Токаевым")} == {"tokaev"}
    assert {stem_text(w, "ru") for w in ("Смаилов", "Смаилова", "Смаиловым")} == {"smailov"}
    assert stem_text("Назарбаева", "ru") == "nazarbaev"  # a surname it knows: its lemma


def test_every_suffix_is_stripped_from_a_long_enough_stem():
    for language in ("kk", "ru"):
        for suffix in TABLES[language]:
            assert stem_folded("mektep" + suffix, language, 3) == "mektep", (language, suffix)
    # With the Kazakh rules: -сын/-сін too, and n- suffixes after a possessive ы/і.
    assert stem_folded("mektepsin", "kk", 4, SHIPPED) == "mektep"
    assert stem_folded("mektepinda", "kk", 4, SHIPPED) == "mektep"
    assert stem_folded("audanda", "kk", 4, SHIPPED) == "audan"


def stem_queries(query: str, stemming: Stemming = SHIPPED) -> list[str]:
    """The stemmed forms search sends for ``query`` (the query's language is unknown)."""
    return [q["q"] for q in build_queries("segments", query, [], ("stem",), stemming)]


def test_a_query_is_reduced_as_each_language_and_matched_as_whole_words():
    """GIVEN a query WHEN search builds its stemmed forms THEN one per language the query's
    script allows (Kazakh always; Russian for Cyrillic, English for Latin), no duplicates, each
    stem a one-word phrase (no prefix, no typo), searched on the stems and the folded text"""
    assert stem_queries("жилищная программа") == [
        '"jilishnaia" "programa"',
        '"jilishni" "programa"',
    ]
    assert stem_queries("мектеп бюджет") == ['"mektep" "biudjet"']
    assert stem_queries("ministries") == ['"ministri"', '"ministries"']
    assert stem_queries("бюджеттің -жол") == ['"biudjet" -"jol"', '"biudjetin" -"jol"']
    # An excluded phrase stays one phrase, excluded in every language's form from every query.
    assert stem_queries('кодексі -"бюджет жобасы"') == [
        '"kodek" -"biudjet joba" -"biudjet jobas"',
        '"kodeksi" -"biudjet joba" -"biudjet jobas"',
    ]
    loose = replace(SHIPPED, whole_words=False)
    assert stem_queries("бюджеттің жобасы", loose)[0] == "biudjet joba"
    queries = build_queries("segments", "бюджета", [], forms=("stem",))
    assert {tuple(q["attributesToSearchOn"]) for q in queries} == {("text_stem", "text_folded")}


def test_a_phrase_is_not_stemmed():
    assert stem_queries('"жилищная программа"') == []
