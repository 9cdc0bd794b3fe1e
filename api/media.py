"""Media files with HTTP Range support (206), which browsers need to seek."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from api.deps import SessionDep, SettingsDep
from api.recordings import public_recording

router = APIRouter(prefix="/media", tags=["media"])


@router.get("/{recording_id}/{which}", response_class=FileResponse)
@router.head("/{recording_id}/{which}", include_in_schema=False)
def media_file(
    recording_id: int,
    which: Literal["playable", "original"],
    session: SessionDep,
    settings: SettingsDep,
) -> FileResponse:
    """The browser-playable rendition (or the original itself when it plays), or the original."""
    recording = public_recording(session, recording_id)
    relative = recording.playable_path if which == "playable" else recording.original_path
    path = settings.media_dir / relative
    if not path.is_file():
        raise HTTPException(status_code=404, detail="media file missing from the store")
    mime = recording.playable_mime if which == "playable" else None
    filename = None
    if which == "original":
        filename = f"ashyq-{recording.id}{path.suffix}"
    return FileResponse(
        path,
        media_type=mime,
        filename=filename,
        content_disposition_type="inline",
        headers={"Cache-Control": "public, max-age=86400", "ETag": f'"{recording.sha256}-{which}"'},
    )
