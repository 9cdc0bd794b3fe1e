"""The JSON API, version 1: open search and catalog, and the staff routes for scripts.

One router; the order is the order of matching.
"""

from fastapi import APIRouter

from api.v1 import catalog, live, search, staff

router = APIRouter()
router.include_router(search.router)
router.include_router(catalog.router)
router.include_router(staff.router)
router.include_router(live.router)
