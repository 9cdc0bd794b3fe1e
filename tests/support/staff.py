"""Staff accounts and signed-in clients for tests: real argon2 hashing, real sessions."""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx

from archive.access import accounts
from archive.db import session_scope
from archive.settings import Settings

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
LOGIN_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    role: str
    token: str


@dataclass(frozen=True)
class StaffAccounts:
    admin: Account
    editor: Account


def make_account(settings: Settings, role: str) -> Account:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    password = f"pw-{uuid.uuid4().hex}"
    with session_scope(settings.db_url) as session:
        user = accounts.create_user(session, email, password, role)
        token, _row = accounts.create_token(session, user, "tests")
    return Account(email, password, role, token)


def make_staff_accounts(settings: Settings) -> StaffAccounts:
    return StaffAccounts(
        admin=make_account(settings, "admin"), editor=make_account(settings, "editor")
    )


def sign_in(client: httpx.Client, account: Account) -> str:
    """Sign ``client`` in through the login form; returns the session's CSRF token."""
    form = client.get("/staff/login")
    login_token = LOGIN_CSRF.search(form.text).group(1)
    done = client.post(
        "/staff/login",
        data={"email": account.email, "password": account.password, "csrf_token": login_token},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    page = client.get("/staff/tokens")
    return CSRF_META.search(page.text).group(1)


def make_recording(
    settings: Settings,
    texts: list[str],
    *,
    media: Path,
    title: str = "Budget hearing",
    body: str = "mazhilis",
) -> int:
    """A ready, published recording of ``media`` with one 2-second segment per text, stored and
    indexed the way the pipeline leaves one (without running Whisper, which other tests cover)."""
    from sqlalchemy import select

    from archive.media import storage
    from archive.models import Body, Recording, RecordingStatus, Segment, segment_id
    from search.meili.client import master_client
    from search.meili.indexer import index_recording
    from search.meili.schema import ensure_index

    sha = storage.sha256_file(media)
    original = storage.recording_dir(sha) / f"original{media.suffix}"
    target = settings.media_dir / original
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(media, target)
    with session_scope(settings.db_url) as session:
        found = session.scalar(select(Body).where(Body.slug == body))
        row = found or Body(slug=body, name=body.title())
        recording = Recording(
            sha256=sha, title=title, body=row, recorded_on=date(2026, 3, 1),
            original_name=media.name, original_path=str(original), playable_path=str(original),
            playable_mime="audio/wav", size_bytes=media.stat().st_size,
            duration_s=2.0 * len(texts), container="wav", status=RecordingStatus.ready,
            published=True, languages=["en"],
        )  # fmt: skip
        session.add(recording)
        session.flush()
        for idx, text in enumerate(texts):
            session.add(
                Segment(
                    id=segment_id(recording.id, idx),
                    recording_id=recording.id,
                    idx=idx,
                    start=2.0 * idx,
                    end=2.0 * idx + 2.0,
                    text=text,
                    language="en",
                    words=[],
                )
            )
        session.flush()
        session.expire(recording, ["segments"])
        client = master_client(settings)
        ensure_index(client, settings.meili_index)
        index_recording(client, settings.meili_index, recording)
        return recording.id


def tone(folder: Path, seconds: float = 2.0, freq: int = 440) -> Path:
    """A short WAV that ffprobe accepts (a different ``freq`` gives different bytes)."""
    import subprocess

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"tone-{freq}.wav"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"sine=frequency={freq}:duration={seconds}", "-ac", "1", str(path)],
        check=True,
    )  # fmt: skip
    return path
