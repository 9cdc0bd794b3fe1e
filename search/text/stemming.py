"""A suffix stripper for folded Kazakh and Russian words, so inflected forms meet their stem.

Kazakh is agglutinative: бюджет, бюджеттің, бюджетке, бюджетті, бюджеттен, бюджеттегі are one
word to a reader. Meilisearch matches a prefix only for the last query word, so "бюджет жоба" does
not find "бюджеттің жобасы". Every search document therefore stores ``stem_text`` beside the text
and the folded text, and queries are stemmed the same way.

The stripper works on *folded* words (``search.text.folding``), so one suffix table covers Cyrillic,
official and informal Latin spellings. It removes the longest suffix of the language's table while
at least ``MIN_STEM`` letters remain, for up to the table's number of rounds (бюджеттеріміздің →
бюджет + тер + іміз + дің). Stripping is the same for queries and documents, so over-stripping
costs some precision, never recall; ``bench/stemming.py`` measures both on labelled Kazakh and
Russian query/segment pairs (figures in BENCHMARKS.md).

Suffix families, folded (ы/і → i, а/ә → a, ұ/ү → u, қ → k, ғ → g, ң → n). Documents are
stemmed with the table of their segment's language; a query, whose language is unknown, is
stemmed with each table in use and every form is searched. Only the Kazakh table is in use
(``STEMMED_LANGUAGES``); see the measurement there.

    Kazakh (up to 3 rounds)
      plural            lar ler dar der tar ter
      genitive          nin din tin
      dative            ga ge ka ke na ne
      accusative        ni di ti
      locative          da de ta te nda nde
      ablative          dan den tan ten nan nen
      instrumental      men ben pen menen
      adjectival -gy    dagi degi tagi tegi ndagi ndegi
      possessive        i si im in imiz iniz miz niz lari leri
    Russian (1 round)
      a ia u iu e i om em am iam oi ei ami iami ah iah ogo ego omu emu imi ie iia iiu ii
      iih iim ih im oe   (not -ов/-ев: surnames Токаев/Токаева must keep one stem)
"""

from __future__ import annotations

from search.text.folding import collapse_doubles, fold_word, words

MIN_STEM = 3


def _suffixes(*families: str) -> tuple[str, ...]:
    return tuple(suffix for family in families for suffix in family.split())


# By family, as in the table above.
KAZAKH: tuple[str, ...] = _suffixes(
    "lar ler dar der tar ter",  # plural
    "nin din tin",  # genitive
    "ga ge ka ke na ne",  # dative
    "ni di ti",  # accusative
    "da de ta te nda nde",  # locative
    "dan den tan ten nan nen",  # ablative
    "men ben pen menen",  # instrumental
    "dagi degi tagi tegi ndagi ndegi",  # adjectival -gy
    "i si im in imiz iniz miz niz lari leri",  # possessive
)
RUSSIAN: tuple[str, ...] = _suffixes(
    "a ia u iu e i om em am iam oi ei ami iami ah iah ogo ego omu emu imi ie iia iiu ii iih iim",
    "ih im oe",
)
# Measured (bench/stemming.py, BENCHMARKS.md): the Russian table adds a little recall and loses
# more precision than it gains, since Meilisearch's typo tolerance already joins most Russian
# forms; only Kazakh is stemmed. The Russian table stays for that measurement.
STEMMED_LANGUAGES: tuple[str, ...] = ("kk",)

TABLES: dict[str, tuple[tuple[str, ...], int]] = {
    "kk": (tuple(sorted(set(KAZAKH), key=len, reverse=True)), 3),
    "ru": (tuple(sorted(set(RUSSIAN), key=len, reverse=True)), 1),
}


def stem_folded(word: str, language: str) -> str:
    """Strip suffixes from a folded word whose doubled letters are still there; collapse after."""
    if language not in TABLES:
        return collapse_doubles(word)
    suffixes, rounds = TABLES[language]
    for _ in range(rounds):
        for suffix in suffixes:
            if word.endswith(suffix) and len(word) - len(suffix) >= MIN_STEM:
                word = word[: -len(suffix)]
                break
        else:
            break
    return collapse_doubles(word)


def stem_text(text: str, language: str | None, stemmed: tuple[str, ...] = STEMMED_LANGUAGES) -> str:
    """Stems of ``text``'s words joined by spaces, one per original word (as ``fold`` does).

    Languages not in ``stemmed`` (English, Russian, unknown) keep their folded words.
    """
    table = language if language in stemmed else ""
    return " ".join(
        stem_folded(fold_word(m.group(0), collapse=False), table) or "_" for m in words(text)
    )
