"""The one builder of recording URLs (``/r/{id}`` and what hangs under it).

Pages, the JSON API, feeds, citations, alert mail and the templates all link recordings; each built
the link by hand (16 f-strings, more in templates), so a change of the address scheme would have
had to find them all. It lives in ``web`` (presentation, below every face) so that the API and the
workers' mail share it; the templates reach it as the Jinja global ``recording_url``.
"""

from __future__ import annotations

from urllib.parse import quote

from web.formatting import seconds_param


def recording_url(
    recording_id: int,
    part: str = "",
    *,
    site: str = "",
    t: float | None = None,
    find: str | None = None,
    query: str = "",
    fragment: str = "",
) -> str:
    """``{site}/r/{id}[/part][?t=…&find=…&query][#fragment]``.

    ``site`` empty gives a link relative to this site (pages); the public address
    (``settings.site_url``) gives one that works anywhere (API, feeds, citations). ``t`` is a
    second, written as whole seconds rounded down so the moment is not skipped; ``query`` is an
    already encoded query string (a range's ``t=…&end=…``); ``part`` a sub-resource such as
    ``captions.vtt`` or ``clip.json``.
    """
    url = f"{site}/r/{recording_id}" + (f"/{part}" if part else "")
    params = []
    if t is not None:
        params.append(f"t={seconds_param(t)}")
    if find is not None:
        params.append(f"find={quote(find, safe='/')}")
    if query:
        params.append(query)
    if params:
        url += "?" + "&".join(params)
    return url + (f"#{fragment}" if fragment else "")
