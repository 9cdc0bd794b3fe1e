"""Headers for responses whose bytes came from outside: media, playlists, captions, clips.

An original is whatever an uploader or a remote site sent; an MP3's ID3 tags or a WebVTT cue can
hold ``<script>``. Served from the site's origin, such a body must never be rendered as a page:
``nosniff`` stops browsers guessing HTML from the bytes, and a ``sandbox`` CSP with nothing
allowed leaves a document opened from it without scripts, forms or our origin (the framing
middleware appends its ``frame-ancestors``). Media elements and ``<track>`` ignore both.
"""

from __future__ import annotations

MEDIA_SAFETY = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


def media_headers(headers: dict[str, str] | None = None) -> dict[str, str]:
    """``headers`` with the safety headers added (they win over a CSP of the caller's)."""
    return {**(headers or {}), **MEDIA_SAFETY}
