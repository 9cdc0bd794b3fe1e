"""Bytes people play and take away: media files, live playlists, clips.

One router; the headers that keep these bytes safe are ``api.guards.media_safety``.
"""

from api.deps import face_router
from api.media import clips, files, live

router = face_router(files.router, live.router, clips.router)
