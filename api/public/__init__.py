"""Public pages: search, recordings, embeds, exports, quote pages, alert sign-up.

One router; the order is the order of matching.
"""

from fastapi import APIRouter

from api.public import alerts, embed, exports, pages

router = APIRouter()
router.include_router(pages.router)
router.include_router(alerts.router)
router.include_router(exports.router)
router.include_router(embed.router)
