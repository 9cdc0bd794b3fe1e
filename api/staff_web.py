"""What every staff page shares: rendering with the signed-in user and CSRF token, redirects
after a POST, and the short notices those redirects carry (by key, so a link cannot make a staff
page say arbitrary words)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.auth import CSRF_FIELD, Principal
from web.i18n import gettext as _
from web.templating import templates

# Notice keys a redirect may carry in ?done=…, and their English text (translated when shown).
NOTICES = {
    "saved": "Saved.",
    "published": "Published: the recording is public again.",
    "withdrawn": "Withdrawn: the recording is gone from public search, pages and the API.",
    "deleted": "Deleted. It can be restored until an administrator purges it.",
    "restored": "Restored.",
    "purged": "Purged: media, transcript and search documents are gone for good.",
    "reverted": "Reverted.",
    "retried": "The job is queued again.",
    "cancelled": "The job is cancelled.",
    "revoked": "The token is revoked.",
    "created": "Created.",
    "unchanged": "Nothing changed.",
}


def render(
    request: Request,
    template: str,
    staff: Principal,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    done = request.query_params.get("done", "")
    context.setdefault("notice", _(NOTICES[done]) if done in NOTICES else None)
    context.setdefault("error", None)
    return templates.TemplateResponse(
        request,
        template,
        {"staff": staff, "user": staff.user, "csrf_field": CSRF_FIELD, "csrf": staff.csrf_token}
        | context,
        status_code=status_code,
    )


def back(url: str, done: str | None = None) -> RedirectResponse:
    """Post/redirect/get: 303 so a reload does not post again."""
    if done:
        url += ("&" if "?" in url else "?") + f"done={done}"
    return RedirectResponse(url, status_code=303)
