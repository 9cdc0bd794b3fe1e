"""The UI language: chosen per request, read by templates through gettext.

Message ids are the English strings. Each language's catalog is the PO file under
``web/translations/<lang>/LC_MESSAGES/messages.po``; it is compiled in memory on first use, so an
edited catalog needs no build step and a stale ``.mo`` can never ship.

The request's language lives in a context variable set by ``LocaleMiddleware``; Starlette copies
the context into the thread that renders a sync endpoint, so templates see it wherever they run.
"""

from __future__ import annotations

import contextvars
import functools
import io
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import date
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LANGUAGES = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "kk"
COOKIE = "lang"
CATALOGS = Path(__file__).with_name("translations")

_current: contextvars.ContextVar[str] = contextvars.ContextVar("ui_language", default="en")


def current() -> str:
    return _current.get()


def use(lang: str) -> contextvars.Token[str]:
    """Make ``lang`` the language of this context (tests and the CLI use it too)."""
    return _current.set(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


@functools.cache
def translations(lang: str) -> NullTranslations:
    po = CATALOGS / lang / "LC_MESSAGES" / "messages.po"
    if not po.is_file():
        return NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; it is translated where shown."""
    return message


def gettext(message: str) -> str:
    """The message in the current UI language; templates' ``_()`` fills in ``%(name)s``."""
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


def negotiate(query_lang: str | None, cookie: str | None, accept_language: str | None) -> str:
    """``?lang=`` wins, then the cookie, then the best of Accept-Language, then Kazakh."""
    for candidate in (query_lang, cookie):
        if candidate in LANGUAGES:
            return candidate
    for lang, _q in _accept_language(accept_language or ""):
        primary = lang.split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def _accept_language(header: str) -> list[tuple[str, float]]:
    entries: list[tuple[str, float]] = []
    for part in header.split(","):
        lang, _, params = part.strip().partition(";")
        if not lang or lang == "*":
            continue
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        entries.append((lang, weight))
    return sorted(entries, key=lambda entry: -entry[1])


def format_day(value: date, style: str = "long") -> str:
    return format_date(value, format=style, locale=Locale.parse(current()))


def format_number(value: float) -> str:
    return format_decimal(value, locale=Locale.parse(current()))


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Any]


class LocaleMiddleware:
    """Sets the request's UI language; remembers an explicit ``?lang=`` in a cookie for a year."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.requests import Request

        request = Request(scope)
        asked = request.query_params.get("lang")
        lang = negotiate(asked, request.cookies.get(COOKIE), request.headers.get("accept-language"))
        scope.setdefault("state", {})["lang"] = lang
        token = _current.set(lang)

        async def send_with_cookie(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if asked in LANGUAGES:
                    cookie = f"{COOKIE}={lang}; Max-Age=31536000; Path=/; SameSite=Lax"
                    headers.append((b"set-cookie", cookie.encode()))
                headers.append((b"content-language", lang.encode()))
                vary = [v for k, v in headers if k.lower() == b"vary"]
                if not vary:
                    headers.append((b"vary", b"Accept-Language, Cookie"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookie)
        finally:
            _current.reset(token)
