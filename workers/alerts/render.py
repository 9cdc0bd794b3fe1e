"""The alert messages: multipart text + HTML, in the subscriber's language, rendered when sent
so that a recording withdrawn since the match is left out."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.alerts import new_link_token
from archive.models import (
    Alert,
    AlertDelivery,
    OutboxMessage,
    Recording,
)
from archive.public import visible
from archive.settings import Settings
from web import i18n
from web.formatting import timestamp
from web.i18n import gettext as _
from web.links import recording_url
from web.templating import templates
from workers.alerts.evaluate import confirm_url, manage_url, moment_url, search_url, unsubscribe_url

T = TypeVar("T")
_text_env = templates.env.overlay(autoescape=False)


def in_language(lang: str, render: Callable[[], T]) -> T:
    """Run ``render`` with ``lang`` as the UI language, leaving the caller's language alone."""

    def run() -> T:
        i18n.use(lang)
        return render()

    return contextvars.copy_context().run(run)


@dataclass(frozen=True)
class MomentLine:
    at: str
    text: str
    url: str


@dataclass(frozen=True)
class RecordingBlock:
    title: str
    body: str
    date: date
    url: str
    moments: list[MomentLine]


def _message(
    settings: Settings,
    alert: Alert,
    token: str,
    subject: str,
    template: str,
    context: dict[str, Any],
) -> EmailMessage:
    context = {
        **context,
        "alert": alert,
        "site_url": settings.site_url,
        "unsubscribe_url": unsubscribe_url(settings, token),
        "manage_url": manage_url(settings, token),
    }
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.smtp_from
    message["To"] = alert.email
    message["Message-ID"] = make_msgid(domain="ashyq")
    message["Auto-Submitted"] = "auto-generated"
    # RFC 8058: mail clients show an unsubscribe button that POSTs to this URL, no login.
    message["List-Unsubscribe"] = f"<{unsubscribe_url(settings, token)}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(_text_env.get_template(f"email/{template}.txt").render(context))
    html = templates.env.get_template(f"email/{template}.html").render(context)
    message.add_alternative(html, subtype="html")
    message["Content-Language"] = alert.lang  # after set_content, which drops Content-* headers
    return message


def render(settings: Settings, session: Session, outbox: OutboxMessage) -> EmailMessage | None:
    """The message to send now, or None when there is nothing left to say (alert withdrawn,
    already confirmed, or every moment's recording withdrawn since)."""
    alert = outbox.alert
    if alert.unsubscribed_at is not None:
        return None
    if outbox.kind == "confirm":
        return _confirmation(settings, session, alert)
    shown, recordings = _still_visible(session, outbox)
    if not shown:
        return None
    token = new_link_token(session, alert)

    def build() -> EmailMessage:
        blocks = _blocks(settings, shown, recordings, i18n.current())
        count = len(shown)
        subject = i18n.ngettext(
            "%(num)d new moment for “%(query)s”", "%(num)d new moments for “%(query)s”", count
        ) % {"num": count, "query": alert.query}
        context = {
            "blocks": blocks,
            "count": count,
            "more": count - sum(len(b.moments) for b in blocks),
            "search_url": search_url(settings, alert),
        }
        return _message(settings, alert, token, subject, "alert", context)

    return in_language(alert.lang, build)


def _confirmation(settings: Settings, session: Session, alert: Alert) -> EmailMessage | None:
    if alert.confirmed_at is not None:
        return None
    token = new_link_token(session, alert)
    context = {
        "confirm_url": confirm_url(settings, token),
        "search_url": search_url(settings, alert),
    }
    # Never the query in the subject: whoever subscribes a stranger chooses it, and the subject
    # is what an inbox shows unopened.
    return in_language(
        alert.lang,
        lambda: _message(settings, alert, token, _("Confirm your Ashyq alert"), "confirm", context),
    )


def _still_visible(
    session: Session, outbox: OutboxMessage
) -> tuple[list[AlertDelivery], dict[int, Recording]]:
    """The message's moments whose recording the public may still see, and those recordings."""
    deliveries = list(
        session.scalars(
            select(AlertDelivery)
            .where(AlertDelivery.outbox_id == outbox.id)
            .order_by(AlertDelivery.recording_id, AlertDelivery.moment)
        )
    )
    ids = {d.recording_id for d in deliveries}
    recordings = {
        r.id: r for r in session.scalars(visible(select(Recording).where(Recording.id.in_(ids))))
    }
    return [d for d in deliveries if d.recording_id in recordings], recordings


def _blocks(
    settings: Settings,
    shown: list[AlertDelivery],
    recordings: dict[int, Recording],
    lang: str,
) -> list[RecordingBlock]:
    """One block per recording, newest first, with at most ``alert_max_moments`` moments in all."""
    blocks: list[RecordingBlock] = []
    budget = settings.alert_max_moments
    for rid in sorted({d.recording_id for d in shown}, key=lambda r: -recordings[r].id):
        rec = recordings[rid]
        lines = []
        for d in (d for d in shown if d.recording_id == rid):
            if budget <= 0:
                break
            budget -= 1
            lines.append(
                MomentLine(timestamp(d.moment), d.text, moment_url(settings, rid, d.moment))
            )
        if lines:
            name = rec.body.localized_name(lang)
            url = recording_url(rid, site=settings.site_url)
            blocks.append(RecordingBlock(rec.title, name, rec.recorded_on, url, lines))
    return blocks
