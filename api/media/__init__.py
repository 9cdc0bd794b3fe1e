"""Bytes people play and take away: media files, live playlists, clips.

One router; the headers that keep these bytes safe are ``api.guards.media_safety``.
"""

from fastapi import APIRouter

from api.media import clips, files, live

router = APIRouter()
router.include_router(files.router)
router.include_router(live.router)
router.include_router(clips.router)
