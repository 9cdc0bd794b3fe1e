"""Media files with HTTP Range support (206), which browsers need to seek.

The type a file is served as comes from what ffprobe found in it (``Recording.container``), never
from a stored file name: recordings stored before names were checked may still end in ``.html``.
Originals are downloads; every answer carries the safety headers of ``api.guards.media_safety``.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from api.conditional import REVALIDATE, RevalidatedFile
from api.deps import RowId, SessionDep, SettingsDep
from api.guards.media_safety import media_headers
from api.reading.recordings import public_recording
from archive.media.media_types import MEDIA_MIMES, extension_for, mime_for
from archive.models import Recording

router = APIRouter(prefix="/media", tags=["media"])
Which = Literal["playable", "original", "poster"]


def served_type(recording: Recording, which: Which) -> str:
    """The stored type of a rendition we made (or of an original that plays as it is, chosen
    from its codecs) when it is a media type; otherwise the container's."""
    if which == "poster":
        return "image/jpeg"  # a frame ffmpeg extracted, never uploaded bytes
    stored = recording.playable_mime
    same_file = recording.playable_path == recording.original_path
    if stored in MEDIA_MIMES and (which == "playable" or same_file):
        return stored
    if which == "playable" and not same_file:
        return "application/octet-stream"
    return mime_for(recording.container, recording.has_video)


@router.get("/{recording_id}/{which}", response_class=FileResponse)
@router.head("/{recording_id}/{which}", include_in_schema=False)
def media_file(
    recording_id: RowId, which: Which, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """The browser-playable rendition (or the original itself when it plays), the original as a
    download, or the poster frame of a video."""
    recording = public_recording(session, recording_id)
    relative = {
        "playable": recording.playable_path,
        "original": recording.original_path,
        "poster": recording.poster_path,
    }[which]
    if not relative:
        raise HTTPException(status_code=404, detail=f"this recording has no {which} file")
    path = settings.media_dir / relative
    if not path.is_file():
        raise HTTPException(status_code=404, detail="media file missing from the store")
    filename = None
    if which == "original":
        filename = f"ashyq-{recording.id}{extension_for(recording.container, recording.has_video)}"
    return RevalidatedFile(
        path,
        media_type=served_type(recording, which),
        filename=filename,
        content_disposition_type="attachment" if which == "original" else "inline",
        headers=media_headers(
            {"Cache-Control": REVALIDATE, "ETag": f'"{recording.sha256}-{which}"'}
        ),
    )
