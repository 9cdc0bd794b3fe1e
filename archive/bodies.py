"""Bodies (a parliament chamber, a ministry, an akimat): found by slug, made only by those who may.

Admins manage bodies on /staff/admin/bodies, and the CLI runs with the archive's own rights: both
may name a new slug with a recording, a source or a capture and have its body made on the way
(its name is the slug until an admin edits it). An editor may only name a body that exists, so a
typo never creates a public body: ``UnknownBody`` says which slug and who can add it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.models import Body


class UnknownBody(LookupError):
    """The slug names no body, and the one asking may not create bodies."""

    def __init__(self, slug: str) -> None:
        super().__init__(f"no body {slug!r}: pick an existing one, or ask an admin to add it")
        self.slug = slug


def find(session: Session, slug: str) -> Body | None:
    return session.scalar(select(Body).where(Body.slug == slug))


def get_or_create(session: Session, slug: str, name: str | None = None) -> Body:
    """The body with this slug, made (and flushed, so it has an id) when there is none."""
    body = find(session, slug)
    if body is None:
        body = Body(slug=slug, name=name or slug)
        session.add(body)
        session.flush()
    return body


def check(session: Session, slug: str, *, may_create: bool) -> None:
    """Refuse, before anything is stored, a slug that names no body from one who may not create
    it (raises ``UnknownBody``); the body itself is made later, where it is first needed."""
    if not may_create and find(session, slug) is None:
        raise UnknownBody(slug)
