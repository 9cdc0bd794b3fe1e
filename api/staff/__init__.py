"""Staff pages: sign-in, recordings, the transcript editor, jobs, uploads, admin, tokens, alerts.

One router; the order is the order of matching.
"""

from api.deps import face_router
from api.staff import admin, alerts, editor, jobs, login, recordings, tokens, uploads

router = face_router(
    login.router,
    recordings.router,
    recordings.admin_router,
    jobs.router,
    editor.router,
    uploads.router,
    tokens.router,
    admin.router,
    alerts.router,
)
