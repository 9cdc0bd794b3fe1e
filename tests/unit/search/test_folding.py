"""Script folding: every table row, and the spellings people really type."""

from __future__ import annotations

import pytest

from search.text.folding import CYRILLIC, LATIN, collapse_doubles, fold, fold_word, original_spans


@pytest.mark.parametrize(("letter", "latin"), sorted(CYRILLIC.items()))
def test_every_cyrillic_row(letter, latin):
    # Inside a word, so that dropped letters (ъ, ь) and digraphs show; after a vowel, where я and
    # ю keep their glide.
    assert fold_word(f"о{letter}д") == collapse_doubles(f"o{LATIN.get(latin, latin)}d")
    assert fold_word(letter.upper()) == collapse_doubles(LATIN.get(latin, latin))


@pytest.mark.parametrize(("spelling", "folded"), sorted(LATIN.items()))
def test_every_latin_row(spelling, folded):
    assert fold_word(f"o{spelling}d") == collapse_doubles(f"o{folded}d")


@pytest.mark.parametrize(("typed", "written"), [("byudzhet", "бюджет"), ("Lyazzat", "Ляззат")])
def test_the_glide_of_ya_and_yu_typed_in_latin_folds_as_in_cyrillic(typed, written):
    assert fold(typed) == fold(written)


def test_budget_and_will_be_stay_two_typos_apart():
    """GIVEN бюджет ("budget") and будет ("will be", in most Russian sentences) WHEN folded THEN
    they differ by two letters, so a one-typo match (7 letters) never joins them; "budjet" typed
    without the glide is one typo from бюджет and finds it through typo tolerance"""
    assert (fold("бюджет"), fold("будет"), fold("budjet")) == ("biudjet", "budet", "budjet")


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
    ("typed", "written"),
    [
        # 2017 alphabet: apostrophes (y' is ұ, u' is ү, s' and s'h are ш, c' is ч)
        ("my'g'ali'm", "мұғалім"),
        ("a'ki'mdi'k", "әкімдік"),
        ("u'ki'met", "үкімет"),
        ("ko'pi'r", "көпір"),
        ("zan'", "заң"),
        ("ma'ji'li's", "мәжіліс"),
        ("ty'rg'yndar", "тұрғындар"),
        ("mal s'aruas'ylyg'y", "мал шаруашылығы"),
        ("s'haruas'hylyg'y", "шаруашылығы"),
        ("c'ek", "чек"),
        ("zan’", "заң"),  # a typographic apostrophe
        ("zanʼ", "заң"),
        # 2018 alphabet: acute accents (ý is у, ú is ү, ı is и/й)
        ("muǵalim", "мұғалім"),
        ("ákimdik", "әкімдік"),
        ("úkimet", "үкімет"),
        ("kópir", "көпір"),
        ("zań", "заң"),
        ("aýyl", "ауыл"),
        ("densaýlyq", "денсаулық"),
        ("mal sharýashylyǵy", "мал шаруашылығы"),
        ("mınıstr", "министр"),
        ("a\u0301kim", "әкім"),  # the accent as a combining mark
    ],
)
def test_older_latin_alphabets_fold_like_the_2021_one(typed, written):
    """GIVEN a Kazakh word in the 2017 (apostrophes) or 2018 (acute accents) Latin alphabet
    WHEN it is folded THEN it meets the Cyrillic word, as one word (an apostrophe joins it)"""
    assert fold(typed) == fold(written)
    assert len(fold(typed).split()) == len(written.split())


def test_an_accented_letter_no_table_names_keeps_its_base_letter():
    assert fold("Bê") == "be"
