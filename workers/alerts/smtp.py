"""Sending one email through the configured SMTP server, and telling a retryable failure from a
final one: a server that is down or answers 4xx may accept later; a 5xx answer will not."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from archive.settings import Settings


class MailNotConfigured(RuntimeError):
    """ASHYQ_SMTP_HOST is not set."""


class PermanentMailError(RuntimeError):
    """The server refused the message for good (5xx): retrying would not help."""


def send(settings: Settings, message: EmailMessage) -> None:
    """Hand ``message`` to the SMTP server. Raises PermanentMailError for a 5xx refusal; any other
    exception (connection refused, timeout, 4xx) is worth retrying later."""
    if not settings.smtp_host:
        raise MailNotConfigured("ASHYQ_SMTP_HOST is not set")
    if message["From"] is None:
        message["From"] = settings.smtp_from
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(500 <= code < 600 for code in codes):
            raise PermanentMailError(f"recipient refused: {exc.recipients}") from exc
        raise
    except smtplib.SMTPAuthenticationError:
        raise  # our configuration, not the message: kept and retried once it is fixed
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:
            raise PermanentMailError(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        raise
