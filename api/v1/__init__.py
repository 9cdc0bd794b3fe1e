"""The JSON API, version 1: open search and catalog, and the staff routes for scripts.

One router; the order is the order of matching.
"""

from api.deps import face_router
from api.v1 import catalog, live, search, staff

router = face_router(search.router, catalog.router, staff.router, live.router)
