"""Atom feeds (conditional GET is ``api.conditional``)."""

from api.deps import face_router
from api.feeds import atom

router = face_router(atom.router)
