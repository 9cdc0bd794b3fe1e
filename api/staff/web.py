"""What every staff page shares: rendering with the signed-in user and CSRF token, redirects
after a POST, and the short notices those redirects carry (by key, so a link cannot make a staff
page say arbitrary words); the recording a staff route acts on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api.auth import CSRF_FIELD, Editor, Principal
from api.deps import RowId, SessionDep, SettingsDep
from archive.models import Recording
from archive.settings import Settings
from web.i18n import N_
from web.i18n import gettext as _
from web.templating import templates

# Notice keys a redirect may carry in ?done=…, and their English text (translated when shown).
NOTICES = {
    "saved": N_("Saved."),
    "published": N_("Published: the recording is public again."),
    "withdrawn": N_("Withdrawn: the recording is gone from public search, pages and the API."),
    "deleted": N_("Deleted. It can be restored until an administrator purges it."),
    "restored": N_("Restored."),
    "purged": N_("Purged: media, transcript and search documents are gone for good."),
    "reverted": N_("Reverted."),
    "retried": N_("The job is queued again."),
    "cancelled": N_("The job is cancelled."),
    "revoked": N_("The token is revoked."),
    "created": N_("Created."),
    "unchanged": N_("Nothing changed."),
}

# The sign-in fields, the same on the login form and on the admin's new-account form (an address
# an account is made with can always be typed to sign in).
Email = Annotated[str, Form(max_length=320)]
Password = Annotated[str, Form(max_length=1000)]

# Words the staff templates translate from data (``_(job.state)``, ``_(user.role)`` …): listed
# here so that the catalogs get them.
DATA_WORDS = (
    N_("all"),
    N_("published"),
    N_("withdrawn"),
    N_("deleted"),
    N_("processing"),
    N_("ready"),
    N_("failed"),
    N_("queued"),
    N_("running"),
    N_("succeeded"),
    N_("cancelled"),
    N_("admin"),
    N_("editor"),
    N_("edit"),
    N_("review"),
    N_("split"),
    N_("merge"),
    N_("speaker"),
    N_("revert"),
)


def render(
    request: Request,
    template: str,
    staff: Principal,
    status_code: int = 200,
    **context: Any,
) -> Response:
    done = request.query_params.get("done", "")
    context.setdefault("notice", _(NOTICES[done]) if done in NOTICES else None)
    context.setdefault("error", None)
    response = templates.TemplateResponse(
        request,
        template,
        {"staff": staff, "user": staff.user, "csrf_field": CSRF_FIELD, "csrf": staff.csrf_token}
        | context,
        status_code=status_code,
    )
    return private(response)


def private(response: Response) -> Response:
    """Staff pages carry private data and CSRF tokens: no cache keeps them, no frame shows
    them (a framed staff page could be clicked through by another site)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response


def back(url: str, done: str | None = None) -> RedirectResponse:
    """Post/redirect/get: 303 so a reload does not post again."""
    if done:
        url += ("&" if "?" in url else "?") + f"done={done}"
    return RedirectResponse(url, status_code=303)


def staff_recording(db: Session, recording_id: int) -> Recording:
    """Any recording, withdrawn and deleted ones too (staff see everything), or a 404."""
    recording = db.get(Recording, recording_id)
    if recording is None:
        raise HTTPException(404, f"recording {recording_id} not found")
    return recording


@dataclass(frozen=True)
class OnRecording:
    """A staff action on one recording: the request, its session and settings, who acts, and
    the recording (``{recording_id}`` of the path, a 404 when there is none)."""

    request: Request
    db: Session
    settings: Settings
    staff: Principal
    recording: Recording


def _on_recording(
    request: Request, db: SessionDep, settings: SettingsDep, staff: Editor, recording_id: RowId
) -> OnRecording:
    return OnRecording(request, db, settings, staff, staff_recording(db, recording_id))


RecordingAction = Annotated[OnRecording, Depends(_on_recording)]
