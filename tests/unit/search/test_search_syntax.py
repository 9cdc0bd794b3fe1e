"""The search box's syntax (search.text.syntax): words, "exact phrases" and -excluded terms.

What Meilisearch does with the rendered query is checked against the server in
tests/integration/search; these pin the parsing, so every form the archive searches (as typed,
folded, stemmed) carries the same phrases and exclusions.
"""

from __future__ import annotations

import pytest

from search.text.folding import fold
from search.text.syntax import ParsedQuery, Term, parse


def test_words_phrases_and_exclusions_are_told_apart():
    query = parse('бюджет "салық кодексі" -Сенат -"закрытое заседание"')
    assert query.terms == (
        Term("бюджет"),
        Term("салық кодексі", phrase=True),
        Term("Сенат", excluded=True),
        Term("закрытое заседание", phrase=True, excluded=True),
    )
    assert query.positive == (Term("бюджет"), Term("салық кодексі", phrase=True))
    assert query.phrases == (Term("салық кодексі", phrase=True),)
    assert [t.text for t in query.excluded] == ["Сенат", "закрытое заседание"]


@pytest.mark.parametrize(
    ("typed", "terms"),
    [
        ('"railway   budget', (Term("railway budget", phrase=True),)),  # unclosed: to the end
        ('""', ()),  # an empty phrase is dropped
        ('-""', ()),
        ("-", ()),  # a lone minus is dropped
        ("a - b", (Term("a"), Term("b"))),
        ("Нур-Султан", (Term("Нур-Султан"),)),  # a hyphen inside a word stays in it
        ("--word", (Term("-word", excluded=True),)),
        ("   ", ()),
        ('budget"', (Term("budget"),)),  # a stray closing quote is not part of the word
    ],
)
def test_edge_cases_parse_the_way_people_mean_them(typed, terms):
    assert parse(typed).terms == terms


def test_a_phrase_s_inner_whitespace_is_collapsed():
    assert parse('"  railway \t\n budget  "').terms == (Term("railway budget", phrase=True),)


def test_render_writes_the_query_back_as_meilisearch_reads_it():
    typed = 'бюджет "салық кодексі" -Сенат -"закрытое заседание"'
    assert parse(typed).render() == typed


def test_render_passes_each_term_through_the_transform_and_keeps_its_kind():
    """
    GIVEN a query with a phrase and an exclusion
    WHEN rendered through script folding (as the folded search form is)
    THEN each term is folded inside its own quotes and minus
    """
    rendered = parse('Тоқаев "Ашықтық жылы" -Сенат').render(fold)
    assert rendered == f'{fold("Тоқаев")} "{fold("Ашықтық жылы")}" -{fold("Сенат")}'
    assert rendered.isascii()


def test_render_drops_terms_the_transform_empties():
    """A term that folds to nothing (punctuation) or only underscores is not searched at all,
    rather than sent as an empty phrase or a bare minus."""
    query = parse('railway -"«»" ___ budget')
    assert query.render(lambda text: "" if text == "«»" else text) == "railway budget"


def test_an_empty_query_renders_empty():
    assert parse("").render() == "" and ParsedQuery(()).render() == ""
