"""Script folding and stemming: every table row, and the spellings people really type."""

from __future__ import annotations

import pytest

from search.meili.query import build_queries
from search.text.folding import CYRILLIC, LATIN, collapse_doubles, fold, fold_word, original_spans
from search.text.stemming import STEMMED_LANGUAGES, TABLES, stem_folded, stem_text


@pytest.mark.parametrize(("letter", "latin"), sorted(CYRILLIC.items()))
def test_every_cyrillic_row(letter, latin):
    # Inside a word, so that dropped letters (ъ, ь) and digraphs show.
    assert fold_word(f"б{letter}д") == collapse_doubles(f"b{LATIN.get(latin, latin)}d")
    assert fold_word(letter.upper()) == collapse_doubles(LATIN.get(latin, latin))


@pytest.mark.parametrize(("spelling", "folded"), sorted(LATIN.items()))
def test_every_latin_row(spelling, folded):
    assert fold_word(f"b{spelling}d") == collapse_doubles(f"b{folded}d")


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("ashyqtyq", "Ашықтық"),
        ("Aşyqtyq", "Ашықтық"),
        ("ашыктык", "Ашықтық"),
        ("Toqaev", "Тоқаев"),
        ("Tokayev", "Тоқаев"),
        ("Токаев", "Тоқаев"),
        ("qazaqstan", "Қазақстан"),
        ("Kazakstan", "Қазақстан"),
        ("казакстан", "Қазақстан"),
        ("Mäjılıs", "Мәжіліс"),
        ("mazhilis", "Мәжіліс"),
        ("Ükımet", "Үкімет"),
        ("ukimet", "Үкімет"),
        ("Öskemen", "Өскемен"),
        ("Qyzylorda", "Қызылорда"),
        ("Kyzylorda", "Қызылорда"),
        ("Dmitriy", "Дмитрий"),
        ("Yerlan", "Ерлан"),
        ("Ghalym", "Ғалым"),
        ("shygys", "шығыс"),
        ("zheke", "жеке"),
    ],
)
def test_typed_spellings_fold_to_the_written_word(typed, written):
    assert fold(typed) == fold(written)


def test_fold_keeps_one_folded_word_per_original_word():
    text = "Тоқаев: «Ашықтық — 2026 жылдың басты міндеті!»"
    folded = fold(text).split(" ")
    spans = original_spans(text)
    assert len(folded) == len(spans) == 6
    assert [text[a:b] for a, b in spans][:2] == ["Тоқаев", "Ашықтық"]


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
    both = ("kk", "ru")
    assert stem_text(word, language, both) == stem_text("бюджет", language, both) == "biudjet"


def test_surnames_keep_one_stem_in_both_languages():
    both = ("kk", "ru")
    assert (
        stem_text("Токаев", "ru", both)
        == stem_text("Токаева", "ru", both)
        == stem_text("Тоқаевтың", "kk", both)
    )


def test_only_kazakh_is_stemmed_by_default():
    """Measured in bench/stemming.py: the Russian table costs more precision than it adds."""
    assert stem_text("бюджеттің", "kk") == "biudjet"
    assert stem_text("бюджета", "ru") == "biudjeta"
    assert stem_text("budgets", "en") == "budgets"


def test_every_suffix_is_stripped_from_a_long_enough_stem():
    for language, (suffixes, _rounds) in TABLES.items():
        for suffix in suffixes:
            assert stem_folded("mektep" + suffix, language) != "mektep" + suffix, (language, suffix)


def stem_queries(query: str, stemmed: tuple[str, ...] = STEMMED_LANGUAGES) -> list[str]:
    """The stemmed forms search sends for ``query`` (the query's language is unknown)."""
    return [q["q"] for q in build_queries("segments", query, [], forms=("stem",), stemmed=stemmed)]


def test_query_is_stemmed_as_each_language_in_use():
    """GIVEN a query WHEN search builds its stemmed forms THEN one per stemmed language, no
    duplicates, each searched on the stems and, where a segment has none, the folded text"""
    assert stem_queries("бюджета жобасы") == ["biudje joba"]
    assert stem_queries("бюджета жобасы", ("kk", "ru")) == ["biudje joba", "biudjet jobas"]
    assert stem_queries("мектеп бюджет", ("kk", "ru")) == ["mektep biudjet"]
    queries = build_queries("segments", "бюджета", [], forms=("stem",))
    assert [q["attributesToSearchOn"] for q in queries] == [["text_stem", "text_folded"]]
