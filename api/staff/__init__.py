"""Staff pages: sign-in, recordings, the transcript editor, jobs, uploads, admin, tokens, alerts.

One router; the order is the order of matching.
"""

from fastapi import APIRouter

from api.staff import admin, alerts, editor, jobs, login, recordings, tokens, uploads

router = APIRouter()
router.include_router(login.router)
router.include_router(recordings.router)
router.include_router(recordings.admin_router)
router.include_router(jobs.router)
router.include_router(editor.router)
router.include_router(uploads.router)
router.include_router(tokens.router)
router.include_router(admin.router)
router.include_router(alerts.router)
