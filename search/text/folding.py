"""Script folding: one spelling-blind form for Kazakh and Russian words, however they are typed.

People type Kazakh in Cyrillic, in the 2021 official Latin alphabet, in the older official ones
(2017 with apostrophes, 2018 with acute accents), in informal Latin ("sh", "zh", "y" for й), or
with a Russian keyboard that has no Kazakh letters (к for қ, у for ұ/ү). Each
search document stores ``fold(text)`` beside the original text, and queries are folded the same way,
so "ashyqtyq", "ашыктык" and "Ашықтық" meet. The original text is what users see and what is
highlighted (``original_spans`` maps folded words back to it).

``fold`` works in three steps on each word (a run of letters/digits):

1. lowercase; Cyrillic → Latin by ``CYRILLIC``;
2. Latin letters and digraphs → a reduced alphabet by ``LATIN`` (longest match first);
3. doubled letters collapse to one ("бюджеттің" → "biudjetin"; "Dmitriy" and "Дмитрий" meet).

``CYRILLIC`` (Kazakh letters merge with their Russian-keyboard look-alikes):

    а ә → a    б → b     в → v     г ғ → g    д → d     е ё э → e   ж → j
    з → z      и і й ы → i         к қ → k    л → l     м → m       н ң → n
    о ө → o    п → p     р → r     с → s      т → t     у ұ ү → u   ф → f
    х һ → h    ц → ts    ч → ch    ш щ → sh   ъ ь → (dropped)       ю → iu   я → ia
    (я, ю keep their glide after a consonant too: "budjet" typed for бюджет is one typo away, as
    typo tolerance allows; dropping the glide made бюджет "budjet", one typo from будет "budet")

``LATIN`` (2021 official letters; the 2018 and 2017 alphabets; the informal spellings people type):

    ä → a   ğ → g   ı ï → i   ñ ŋ → n   ö → o   q → k   ş → sh   ç → ch   ū ü ù → u   é → e
    2018:  á → a   ó → o   ú → u (ү)   ý → u (у)   ǵ → g   ń → n   (ı → i as above)
    2017:  a' → a  o' → o  u' → u (ү)  y' → u (ұ)  i' → i  g' → g  n' → n  s' s'h → sh  c' c'h → ch
    y → i   w → u   x → ks    c → ts
    sh → sh   ch → ch   zh → j   kh → h   gh → g   ts → ts
    ye → e    yo → e    ya → ia   yu → iu        (Tokayev → tokaev = Токаев)

A word may hold apostrophes (``WORD``: "zan'", "my'g'ali'm" are one word each; typographic ’ and ʼ
read as '), and any other accented Latin letter loses its accent (ê → e). The price of the 2017
row "s'" is that an English plural possessive ("students'") folds with "sh" — in both the
text and a query, so they still meet.

All vowels keep their identity except the Kazakh front/back pairs, which merge (ә/а, ө/о, ү/ұ/у,
і/ы/и); the price is a few extra matches between near-homographs, which ranking on the original
text keeps below exact matches.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator


def _table(pairs: str) -> dict[str, str]:
    """``"а=a ъ="`` → ``{"а": "a", "ъ": ""}``: the tables stay a few readable lines."""
    return dict(pair.split("=", 1) for pair in pairs.split())


CYRILLIC: dict[str, str] = _table(
    """
    а=a ә=a б=b в=v г=g ғ=g д=d е=e ё=e э=e ж=j з=z и=i і=i й=i ы=i к=k қ=k л=l м=m н=n ң=n о=o
    ө=o п=p р=r с=s т=t у=u ұ=u ү=u ф=f х=h һ=h ц=ts ч=ch ш=sh щ=sh ъ= ь= ю=iu я=ia
    """
)

LATIN: dict[str, str] = {
    # 2021 official alphabet and other diacritics
    **_table("ä=a ğ=g ı=i ï=i ñ=n ŋ=n ö=o q=k ş=sh ç=ch ū=u ü=u ù=u é=e"),
    # the 2018 alphabet (acute accents): ý is у, ú is ү
    **_table("á=a ó=o ú=u ý=u ǵ=g ń=n"),
    # the 2017 alphabet (apostrophes): y' is ұ, u' is ү; "s'h" and "c'h" are typed too
    **_table("a'=a o'=o u'=u y'=u i'=i g'=g n'=n s'=sh c'=ch s'h=sh c'h=ch"),
    # informal spellings
    **_table("zh=j kh=h gh=g ye=e yo=e ya=ia yu=iu y=i w=u x=ks c=ts ch=ch sh=sh ts=ts"),
}

_LATIN_KEYS = sorted(LATIN, key=len, reverse=True)
_LATIN_RE = re.compile("|".join(re.escape(k) for k in _LATIN_KEYS))
# A run of letters, digits and combining accents (á typed as a + ◌́), with apostrophes inside or
# at the end (the 2017 alphabet).
_LETTERS = "[\\w\u0300-\u036f]"
WORD = re.compile(f"{_LETTERS}+(?:['’ʼ‘`´]{_LETTERS}*)*", re.UNICODE)
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'", "`": "'", "´": "'"})
_DOUBLE = re.compile(r"(.)\1+")


def fold_word(word: str, collapse: bool = True) -> str:
    """The folded form of one word (letters and digits only).

    ``collapse=False`` keeps doubled letters, for the stemmer: it must see "biudjet|tin", not
    "biudje|tin", to strip the right suffix before doubles collapse.
    """
    lowered = unicodedata.normalize("NFC", word.lower()).translate(_APOSTROPHES)
    latin = "".join(CYRILLIC.get(ch, ch) for ch in lowered)
    # "c" is kept inside "ch" (the longest match wins), so ч and "ch" meet.
    reduced = _LATIN_RE.sub(lambda m: LATIN[m.group(0)], latin)
    if not reduced.isascii():
        reduced = _strip_accents(reduced)
    reduced = "".join(ch for ch in reduced if ch.isascii() and ch.isalnum())
    return collapse_doubles(reduced) if collapse else reduced


def _strip_accents(word: str) -> str:
    """Letters no table names keep their base letter (ê → e) instead of vanishing."""
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch)
    )


def collapse_doubles(word: str) -> str:
    return _DOUBLE.sub(r"\1", word)


def words(text: str) -> Iterator[re.Match[str]]:
    return WORD.finditer(text)


def fold(text: str) -> str:
    """Folded words of ``text`` joined by single spaces, one per original word, in order."""
    return " ".join(fold_word(m.group(0)) or "_" for m in words(text))


def original_spans(text: str) -> list[tuple[int, int]]:
    """Character spans in ``text`` of the words ``fold`` produced, index for index."""
    return [m.span() for m in words(text)]


def folded_word_index(folded: str, byte_offset: int) -> int:
    """Which folded word a Meilisearch match position (UTF-8 bytes; folded text is ASCII) hits."""
    return folded[:byte_offset].count(" ")
