"""Public pages: search, recordings, embeds, exports, quote pages, alert sign-up.

One router; the order is the order of matching.
"""

from api.deps import face_router
from api.public import alerts, embed, exports, pages

router = face_router(pages.router, alerts.router, exports.router, embed.router)
