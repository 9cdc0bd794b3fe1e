"""Headers every response gets: a script policy for pages, the referrer policy, and HSTS on https.

- Pages (``text/html``) get ``Content-Security-Policy: script-src 'self'; object-src 'none';
  base-uri 'self'``: the templates have no inline script or event handler, so an injected
  ``<script>`` or ``onerror=`` in a transcript or title would not run. A response that brings
  its own policy (media, with its sandbox, see ``api.guards.media_safety``) keeps it; the framing
  middleware (which applies these headers) then adds ``frame-ancestors`` to whichever it is.
- ``Referrer-Policy: same-origin``: alert management and unsubscribe pages carry a token in their
  URL, which must not leak to another site through a link's ``Referer``.
- ``Strict-Transport-Security`` when the request came over https (directly, or through a proxy
  uvicorn trusts with ``--proxy-headers``): a plain-http answer must not pin a site to https.
"""

from __future__ import annotations

PAGE_CSP = b"script-src 'self'; object-src 'none'; base-uri 'self'"
REFERRER = b"same-origin"
HSTS = b"max-age=31536000"


def secure_headers(headers: list[tuple[bytes, bytes]], https: bool) -> list[tuple[bytes, bytes]]:
    names = {key.lower() for key, _ in headers}
    out = list(headers)
    content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    if content_type.startswith(b"text/html") and b"content-security-policy" not in names:
        out.append((b"content-security-policy", PAGE_CSP))
    if b"referrer-policy" not in names:
        out.append((b"referrer-policy", REFERRER))
    if https and b"strict-transport-security" not in names:
        out.append((b"strict-transport-security", HSTS))
    return out
