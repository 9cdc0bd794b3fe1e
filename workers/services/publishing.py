"""Publishing a recording, withdrawing it, deleting it (restorably) and purging it for good.

The database decides what pages and the API show, so those follow at once; the search index is
brought along in the same call rather than at the next reindex. Hiding removes the documents
*before* the change is committed (a failure leaves the recording hidden from search, never
shown against staff's will); showing indexes after the commit. Kept bulk dumps are rewritten
without a hidden recording *after* the commit, so a dump being written meanwhile is caught too
(``workers.services.dumps.withhold_hidden``); a shown one enters the next dump.
"""

from __future__ import annotations

import shutil

from sqlalchemy.orm import Session

from archive.media import storage
from archive.media.clip_store import clip_cache_dir
from archive.models import Recording, utcnow
from archive.settings import Settings
from workers import indexing
from workers.services import dumps


class NotAllowed(ValueError):
    """The change does not apply to the recording in its current state."""


def _hide(settings: Settings, session: Session, recording: Recording) -> None:
    indexing.unindex_recording(settings, recording.id)
    session.commit()
    dumps.withhold_hidden(settings)


def _show(settings: Settings, session: Session, recording: Recording, alert: bool = True) -> None:
    session.commit()
    # Newly visible moments may match saved searches; each is mailed at most once anyway.
    indexing.index_recording(settings, session, recording, alert=alert)


def publish(settings: Settings, session: Session, recording: Recording) -> None:
    if recording.deleted_at is not None:
        raise NotAllowed("restore the recording before publishing it")
    recording.published = True
    _show(settings, session, recording)


def withdraw(settings: Settings, session: Session, recording: Recording) -> None:
    recording.published = False
    _hide(settings, session, recording)


def soft_delete(settings: Settings, session: Session, recording: Recording) -> None:
    recording.deleted_at = utcnow()
    _hide(settings, session, recording)


def restore(settings: Settings, session: Session, recording: Recording) -> None:
    if recording.deleted_at is None:
        raise NotAllowed("the recording is not deleted")
    recording.deleted_at = None
    _show(settings, session, recording)


def reindex(settings: Settings, session: Session, recording: Recording) -> None:
    """After a metadata change (title, body, date): every segment carries those fields."""
    _show(settings, session, recording, alert=False)


def purge(settings: Settings, session: Session, recording: Recording) -> None:
    """Delete for good: index documents, media files, rows. Only a deleted recording may go,
    so a purge is always the second of two deliberate steps."""
    if recording.deleted_at is None:
        raise NotAllowed("delete the recording first; only deleted recordings can be purged")
    indexing.unindex_recording(settings, recording.id)
    sha = recording.sha256
    session.delete(recording)
    session.commit()
    dumps.withhold_hidden(settings)
    storage.remove_recording_files(settings.media_dir, sha)
    shutil.rmtree(settings.work_dir / sha, ignore_errors=True)
    # Cached clips go too; the clip registry stays, so clips handed out earlier still verify.
    shutil.rmtree(clip_cache_dir(settings.data_dir, sha), ignore_errors=True)
