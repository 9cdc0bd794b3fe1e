"""The UI catalogs: every string the code and templates show is translated into Kazakh and
Russian, with the same placeholders; and the language really switches."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from web import i18n

REPO = Path(__file__).resolve().parents[3]
KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}
METHODS = [
    ("api/**.py", "python"),
    ("web/**.py", "python"),
    ("workers/**.py", "python"),
    ("web/templates/**.html", "jinja2"),
    ("web/templates/**.txt", "jinja2"),
]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def shown_messages() -> set[str | tuple[str, str]]:
    found: set[str | tuple[str, str]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(REPO),
        METHODS,
        options_map={
            "web/templates/**.html": {"extensions": "jinja2.ext.i18n"},
            "web/templates/**.txt": {"extensions": "jinja2.ext.i18n"},
        },
        keywords=KEYWORDS,
    ):
        found.add(message if isinstance(message, str) else tuple(message[:2]))
    return found


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_every_shown_string_is_translated_with_its_placeholders(lang):
    catalog = read_po((i18n.CATALOGS / lang / "LC_MESSAGES" / "messages.po").open("rb"))
    translated = {m.id: m.string for m in catalog if m.id}
    messages = shown_messages()
    assert len(messages) > 50
    missing = [m for m in messages if not translated.get(m)]
    assert not missing, f"untranslated in {lang} (run `make messages`, then translate): {missing}"
    for message in messages:
        target = translated[message]
        forms = target if isinstance(target, tuple) else (target,)
        source = message if isinstance(message, str) else message[0]
        assert all(forms), (lang, message)
        for form in forms:
            assert set(PLACEHOLDER.findall(form)) == set(PLACEHOLDER.findall(source)), form


def test_language_negotiation():
    assert i18n.negotiate("ru", "kk", "en") == "ru"
    assert i18n.negotiate(None, "en", "ru") == "en"
    assert i18n.negotiate("xx", None, "de-DE,ru;q=0.8,en;q=0.9") == "en"
    assert i18n.negotiate(None, None, "fr") == "kk"
    assert i18n.negotiate(None, None, "ru-RU;q=bad, kk;q=0.5") == "kk"


@contextmanager
def ui_language(lang: str) -> Iterator[None]:
    """The UI speaks ``lang`` inside the block; the language before it is back after."""
    token = i18n.use(lang)
    try:
        yield
    finally:
        i18n._current.reset(token)


def test_dates_and_numbers_follow_the_ui_language():
    day = date(2026, 3, 15)
    with ui_language("ru"):
        assert i18n.format_day(day).replace("\u202f", " ") == "15 марта 2026 г."
        assert i18n.gettext("Search") == "Найти"
    with ui_language("kk"):
        assert "наурыз" in i18n.format_day(day)
        assert i18n.format_number(12345).replace("\xa0", " ") == "12 345"
    with ui_language("en"):
        assert i18n.format_day(day) == "March 15, 2026"
        assert i18n.format_number(12345) == "12,345"
