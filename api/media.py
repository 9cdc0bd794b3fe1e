"""Media files with HTTP Range support (206), which browsers need to seek."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from api.conditional import REVALIDATE, RevalidatedFile
from api.deps import SessionDep, SettingsDep
from api.recordings import public_recording

router = APIRouter(prefix="/media", tags=["media"])


@router.get("/{recording_id}/{which}", response_class=FileResponse)
@router.head("/{recording_id}/{which}", include_in_schema=False)
def media_file(
    recording_id: int,
    which: Literal["playable", "original", "poster"],
    session: SessionDep,
    settings: SettingsDep,
) -> FileResponse:
    """The browser-playable rendition (or the original itself when it plays), the original, or
    the poster frame of a video."""
    recording = public_recording(session, recording_id)
    relative = {
        "playable": recording.playable_path,
        "original": recording.original_path,
        "poster": recording.poster_path,
    }[which]
    if relative is None:
        raise HTTPException(status_code=404, detail=f"this recording has no {which} file")
    path = settings.media_dir / relative
    if not path.is_file():
        raise HTTPException(status_code=404, detail="media file missing from the store")
    mime = {"playable": recording.playable_mime, "poster": "image/jpeg"}.get(which)
    filename = None
    if which == "original":
        filename = f"ashyq-{recording.id}{path.suffix}"
    return RevalidatedFile(
        path,
        media_type=mime,
        filename=filename,
        content_disposition_type="inline",
        headers={"Cache-Control": REVALIDATE, "ETag": f'"{recording.sha256}-{which}"'},
    )
