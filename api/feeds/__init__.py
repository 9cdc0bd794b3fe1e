"""Atom feeds (conditional GET is ``api.conditional``)."""

from fastapi import APIRouter

from api.feeds import atom

router = APIRouter()
router.include_router(atom.router)
