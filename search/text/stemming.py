"""Reduced word forms, so that inflected forms of a word meet: Kazakh stems, Russian and English.

Kazakh is agglutinative (бюджет, бюджеттің, бюджетке, бюджеттегі are one word to a reader) and
Russian changes the endings of nouns, adjectives and verbs ("жилищная программа" is said as
"исполнение жилищной программы"). Typo tolerance does not bridge endings reliably, and the index
matches whole words (search.meili.schema: no prefix), so every search document stores
``text_stem`` beside the text and the folded text: each word reduced by its segment's language,
then folded (``search.text.folding``) — reduce first, fold after. A query, whose language is
unknown, is reduced as each language its script allows (``query_languages``) and every form is
searched (``stem_queries``), each reduced word as a whole word (a one-word phrase).

- **Russian** (``ru``): pymorphy3's dictionary lemma ("жилищной программы" → "жилищный
  программа" → "jilishnii programa"; "жалуются", "жаловаться" → "жаловаться"). Words it does not
  know get Snowball's stem (PyStemmer), and unknown surnames keep -ов/-ев/-ин (Смаилова →
  смаилов), so that a Kazakh surname meets its Russian cases.
- **English** (``en``): Snowball's English stemmer ("ministries" → "ministri").
- **Kazakh** (``kk``): the suffix table below, on folded words, so one table covers Cyrillic,
  the Latin alphabets and a Russian keyboard. It removes the longest suffix, for up to four
  rounds (бюджеттеріміздің → бюджет + тер + іміз + дің), while at least ``KAZAKH_MIN`` (4)
  letters remain or what remains is a known short root (``KAZAKH_SHORT_STEMS``: жол, жер, тіл,
  заң, су, …); the n- forms of the locative, dative and ablative only after what takes them
  (аудандағы is аудан + дағы); a cut stem ending in б/г takes п/к back (мектебі → мектеп).

Precision. With three letters left, short stems were unrelated words: "білім" → "bil" *is* "биыл"
folded, "салым" → "sal" is "салынды", and prefix and typo matching took "қаржы" → "karj" to
"қарады". Four letters (or a known root), whole-word stems and the index without prefix keep them
apart. Measured by ``python -m bench.stemming`` on labelled Kazakh/Russian pairs against the other
choices (Snowball against pymorphy3 for Russian; three, four or five letters, with and without the
short roots and the rules; prefix and typo, typo off, or whole words; index typo and prefix
settings), all side by side in one run: the chosen configuration has F1 0.976 (Kazakh 0.971,
Russian 0.983, Russian recall 0.998; precision on the collision queries 0.895 against folding
alone's 0.601); the table and what is left in BENCHMARKS.md, "Kazakh/Russian search".

Kazakh suffix families, folded (ы/і → i, а/ә → a, ұ/ү → u, қ → k, ғ → g, ң → n):

    plural            lar ler dar der tar ter
    genitive          nin din tin
    dative            ga ge ka ke na ne
    accusative        ni di ti
    locative          da de ta te nda nde
    ablative          dan den tan ten nan nen
    instrumental      men ben pen menen
    adjectival -gy    dagi degi tagi tegi ndagi ndegi
    possessive        i si im in imiz iniz miz niz lari leri   (+ sin with the rules)

The old folded Russian table (one round of endings) stays for the measurement only (``RUSSIAN``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import Stemmer

from search.text.folding import collapse_doubles, fold_word, words
from search.text.syntax import ParsedQuery


def _suffixes(*families: str) -> tuple[str, ...]:
    return tuple(suffix for family in families for suffix in family.split())


KAZAKH_MIN = 4  # letters a Kazakh stem keeps (bench/stemming.py: 3 let "білім" meet "биыл")
# Common short roots a Kazakh stem may be cut to below KAZAKH_MIN (folded): жол, жер, жыл, тіл,
# сот, мал, газ, той, күн, қол, көз, бас, сан, заң, су, ел, үй, іс, ай, ат, ас.
KAZAKH_SHORT_STEMS = frozenset(
    _suffixes("jol jer jil til sot mal gaz toi kun kol koz bas san zan su el ui is ai at as")
)
# A stem cut before a vowel keeps the voiced consonant the suffix caused (мектебі, сұрағы,
# әкімдігі); as a stem it takes the dictionary form's voiceless one back (мектеп, сұрақ, әкімдік).
KAZAKH_ALTERNATION = {"b": "p", "g": "k"}
ROUNDS = {"kk": 3, "ru": 1}


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
# ``Stemming.kazakh_rules``: -сын/-сін (possessive + accusative: қаржысын, бағасын) is one suffix,
# four rounds (тұрғын + дар + ы + на), and the n- forms of the locative, dative and ablative
# follow only what takes them: a possessive ы/і (ауылында, ауылына), or for -нан/-нен also м, н
# (ауданнан) — so "аудандағы" is аудан + дағы, not ауда + ндағы.
KAZAKH_MORE = ("sin",)
N_SUFFIXES = {"nda": "i", "nde": "i", "ndagi": "i", "ndegi": "i", "na": "i", "ne": "i"}
N_SUFFIXES |= {"nan": "imn", "nen": "imn"}
# The folded Russian table shipped unused before Snowball (kept for bench/stemming.py).
RUSSIAN: tuple[str, ...] = _suffixes(
    "a ia u iu e i om em am iam oi ei ami iami ah iah ogo ego omu emu imi ie iia iiu ii iih iim",
    "ih im oe",
)
TABLES: dict[str, tuple[str, ...]] = {
    "kk": tuple(sorted(set(KAZAKH), key=len, reverse=True)),
    "kk+": tuple(sorted(set(KAZAKH + KAZAKH_MORE), key=len, reverse=True)),
    "ru": tuple(sorted(set(RUSSIAN), key=len, reverse=True)),
}


@dataclass(frozen=True)
class Stemming:
    """How words are reduced, per language; ``SHIPPED`` is what Ashyq uses, the others are
    measured against it (bench/stemming.py).

    ``russian``: "pymorphy3" (dictionary lemmas; Snowball for words the dictionary does not
    know), "pymorphy3 only" (its guesses too), "snowball" (PyStemmer), "table" (the folded suffix
    table) or "" (not reduced). ``whole_words``: the stemmed query
    matches whole words only (search.meili.query).
    """

    kazakh_min: int = KAZAKH_MIN
    short_stems: bool = True  # KAZAKH_SHORT_STEMS may be cut to below kazakh_min
    alternation: bool = True  # KAZAKH_ALTERNATION at the end of a cut stem
    kazakh_rules: bool = True  # KAZAKH_MORE, four rounds, N_SUFFIXES only where they follow
    russian: str = "pymorphy3"
    english: bool = True
    whole_words: bool = True

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages whose words are reduced; a query is reduced as each of them."""
        return ("kk", *(("ru",) if self.russian else ()), *(("en",) if self.english else ()))


SHIPPED = Stemming()


def stem_folded(
    word: str, language: str, minimum: int = KAZAKH_MIN, stemming: Stemming | None = None
) -> str:
    """Strip table suffixes from a folded word whose doubled letters are still there (the stemmer
    must see "biudjet|tin", not "biudje|tin"); collapse doubles after.

    A suffix goes only where at least ``minimum`` letters remain, or (``stemming.short_stems``)
    where what remains is a known short root; a cut stem ending in b or g takes p or k back
    (``stemming.alternation``)."""
    short = KAZAKH_SHORT_STEMS if stemming and stemming.short_stems else frozenset()
    rules = bool(stemming and stemming.kazakh_rules and language == "kk")
    table = TABLES["kk+" if rules else language] if language in TABLES else ()
    cut = False
    for _ in range(ROUNDS.get(language, 0) + rules):
        for suffix in table:
            rest = word[: -len(suffix)]
            if not word.endswith(suffix):
                continue
            if rules and suffix in N_SUFFIXES and rest[-1:] not in N_SUFFIXES[suffix]:
                continue
            if len(rest) >= minimum or collapse_doubles(rest) in short:
                word, cut = rest, True
                break
        else:
            break
    if cut and stemming and stemming.alternation and word[-1:] in KAZAKH_ALTERNATION:
        word = word[:-1] + KAZAKH_ALTERNATION[word[-1]]
    return collapse_doubles(word)


@lru_cache(maxsize=1)
def _snowball(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


@lru_cache(maxsize=1)
def _morph() -> Any:
    """The Russian dictionary, loaded on first use (importing it costs ~0.5 s at startup)."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


_SURNAME = re.compile(r"^(\w{2,}(?:ов|ев|ёв|ин|ын))(?:а|у|ым|ом|ой|ою|е|ы|ых|ыми)?$")


@lru_cache(maxsize=65536)
def _russian(word: str, method: str) -> str:
    """A Russian word (lowercase) reduced, then folded; words in another script stay folded."""
    if method == "table":
        return stem_folded(fold_word(word, collapse=False), "ru", 3)
    if method == "pymorphy3 only" or (method == "pymorphy3" and _morph().word_is_known(word)):
        word = _morph().parse(word)[0].normal_form
    elif method == "pymorphy3" and (surname := _SURNAME.match(word)):
        # Surnames the dictionary does not know (Смаилов, Бектенова) are guessed badly
        # ("смаиловый"), and Snowball cuts -ов from the nominative only: keep the -ов/-ев/-ин.
        word = surname.group(1)
    elif method in ("snowball", "pymorphy3"):
        # Other words it does not know (Kazakh words in Russian speech): Snowball.
        word = _snowball("russian").stemWord(word.replace("ё", "е"))
    return fold_word(word)


@lru_cache(maxsize=65536)
def reduce_word(word: str, language: str | None, stemming: Stemming = SHIPPED) -> str:
    """One word's reduced form, folded: Kazakh stem, Russian or English Snowball stem."""
    lowered = word.lower()
    if language == "kk":
        return stem_folded(fold_word(lowered, collapse=False), "kk", stemming.kazakh_min, stemming)
    if language == "ru" and stemming.russian:
        return _russian(lowered, stemming.russian)
    if language == "en" and stemming.english:
        return fold_word(_snowball("english").stemWord(lowered))
    return fold_word(lowered)


def stem_text(text: str, language: str | None, stemming: Stemming = SHIPPED) -> str:
    """Reduced forms of ``text``'s words joined by spaces, one per original word (as ``fold``).

    Languages ``stemming`` does not reduce (unknown, or Russian when off) keep their folded words.
    """
    language = language if language in stemming.languages else None
    return " ".join(reduce_word(m.group(0), language, stemming) or "_" for m in words(text))


def query_languages(text: str, stemming: Stemming = SHIPPED) -> tuple[str, ...]:
    """The languages a query (whose language is unknown) is reduced as: Kazakh always (its table
    works on folded words of any script); Russian where it has a Cyrillic letter, English where it
    has a Latin one — their stemmers change only words of their own script, so otherwise the form
    would be the plain folded one, which the folded query already searches."""
    cyrillic = any("\u0400" <= ch <= "\u04ff" for ch in text)
    latin = any(ch.isascii() and ch.isalpha() for ch in text)
    return tuple(
        lang
        for lang in stemming.languages
        if lang == "kk" or (lang == "ru" and cyrillic) or (lang == "en" and latin)
    )


def stem_queries(parsed: ParsedQuery, stemming: Stemming) -> list[str]:
    """The stemmed queries search.meili.query sends: ``parsed`` reduced as each language
    (``query_languages``), without repeats; with ``whole_words`` each reduced word is a one-word
    phrase (no prefix, no typo). An excluded term is excluded in every language's form from every
    query: a segment must not come back through another language's stems."""
    languages = query_languages(" ".join(t.text for t in parsed.terms), stemming)
    quote = (lambda w: f'"{w}"') if stemming.whole_words else (lambda w: w)
    # An excluded phrase (or a term of several words, "Нур-Султан") stays one phrase.
    excluded = {
        "-" + (f'"{" ".join(reduced)}"' if len(reduced) > 1 else quote(reduced[0])): None
        for term in parsed.excluded
        for language in languages
        if (reduced := _reduced(term.text, language, stemming))
    }
    queries = set()
    for language in languages:
        words = [
            quote(word)
            for term in parsed.positive
            for word in _reduced(term.text, language, stemming)
        ]
        queries.add(" ".join([*words, *excluded]))
    return sorted(queries)


def _reduced(text: str, language: str, stemming: Stemming) -> list[str]:
    return [word for word in stem_text(text, language, stemming).split() if word != "_"]
