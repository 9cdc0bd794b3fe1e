"""The one Jinja environment every page renders with: translations, formatting filters, globals."""

from __future__ import annotations

from typing import Any

import jinja2
from fastapi.templating import Jinja2Templates

from web import TEMPLATES_DIR, i18n
from web.formatting import seconds_param, timestamp

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=True,
    extensions=["jinja2.ext.i18n"],
)
templates = Jinja2Templates(env=_env)
templates.env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
templates.env.filters["timestamp"] = timestamp
templates.env.filters["tparam"] = seconds_param
templates.env.filters["day"] = i18n.format_day
templates.env.filters["number"] = i18n.format_number
templates.env.globals["ui_lang"] = i18n.current
templates.env.globals["ui_languages"] = i18n.LANGUAGES


@jinja2.pass_context
def media_link(context: Any, recording_id: int, which: str, *, absolute: bool = False) -> str:
    """Where a page links a media file: on the media origin when one is set (ASHYQ_MEDIA_URL),
    else on the site (a relative link, or the public address for ``absolute``)."""
    settings = context["request"].app.state.settings
    base = settings.media_site_url if absolute else settings.media_url or ""
    return f"{base}/media/{recording_id}/{which}"


templates.env.globals["media_link"] = media_link


def lang_query(params: object, lang: str) -> str:
    """The current query string with ``lang`` replaced: the language links keep the page."""
    from urllib.parse import urlencode

    items = [(k, v) for k, v in params.multi_items() if k != "lang"]  # type: ignore[attr-defined]
    return urlencode([*items, ("lang", lang)])


templates.env.filters["lang_query"] = lang_query
