"""What users type into the search box, parsed: words, "exact phrases" and -excluded terms.

Meilisearch 1.21 itself understands ``"a phrase"`` (the words adjacent, in order), ``-word`` and
``-"a phrase"`` (documents containing them are left out) — verified against the server in
tests/test_search_syntax.py. It knows no OR, no wildcard and no field prefixes; those characters
are searched as ordinary words. Ashyq parses the query only so that every form it searches
(as typed, script-folded, stemmed: search.meili.query) carries the same phrases and exclusions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# A term: an optional minus, then a quoted phrase (closed or not) or a bare word.
_TERM = re.compile(r'(-?)(?:"([^"]*)"?|(\S+))')


@dataclass(frozen=True)
class Term:
    text: str
    phrase: bool = False
    excluded: bool = False


@dataclass(frozen=True)
class ParsedQuery:
    terms: tuple[Term, ...]

    @property
    def positive(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if not t.excluded)

    @property
    def excluded(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.excluded)

    @property
    def phrases(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.phrase and not t.excluded)

    def render(self, transform: Callable[[str], str] = lambda s: s) -> str:
        """The query as Meilisearch reads it, each term's text passed through ``transform``."""
        parts = []
        for term in self.terms:
            text = transform(term.text).strip()
            if not text.strip("_ "):
                continue
            if term.phrase:
                text = f'"{text}"'
            parts.append(("-" if term.excluded else "") + text)
        return " ".join(parts)


def parse(query: str) -> ParsedQuery:
    """Split a query into terms. A lone ``-`` or an empty ``""`` is dropped, an unclosed quote
    runs to the end, a ``-`` inside a word (``Нур-Султан``) stays part of the word."""
    terms: list[Term] = []
    for match in _TERM.finditer(query):
        minus, phrase, word = match.groups()
        if phrase is not None:
            text = " ".join(phrase.split())
            if text:
                terms.append(Term(text, phrase=True, excluded=bool(minus)))
        elif word:
            word = word.strip('"')
            if word and word != "-":
                terms.append(Term(word, excluded=bool(minus)))
    return ParsedQuery(tuple(terms))
