"""Alert pages: subscribe to a search by email, confirm from the mail, unsubscribe in one click.

No login anywhere: the secret token in each link names the alert. Subscribing only queues the
confirmation in the outbox (double opt-in); nothing else is mailed until its link is opened and
its button pressed (a GET changes nothing: mail scanners open links).
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from api.auth import client_ip
from api.deps import SessionDep, SettingsDep
from api.reading.search_params import SearchParams, SearchParamsDep
from archive import alerts as subscriptions
from archive.models import Alert, AlertFrequency
from web.i18n import current
from web.i18n import gettext as _
from web.templating import templates
from workers.alerts.evaluate import filters_json, search_url
from workers.celery_app import SEND_MAIL, send_task

log = logging.getLogger(__name__)
router = APIRouter(tags=["alerts"], include_in_schema=False)


def _message(request: Request, title: str, message: str, status: int = 200) -> HTMLResponse:
    context = {"title": title, "message": message}
    return templates.TemplateResponse(request, "alert_message.html", context, status_code=status)


def _about(request: Request, title: str, text: str, alert: Alert) -> HTMLResponse:
    """A message about one alert: ``text`` names its address and words as ``%(email)s`` and
    ``%(query)s``."""
    return _message(request, title, text % {"email": alert.email, "query": alert.query})


def _unknown_link(request: Request) -> HTMLResponse:
    return _message(request, _("Unknown link"), _("This link names no alert."), 404)


def client_bucket(ip: str) -> str:
    """The client a sign-up is counted against: its IPv4 address, or its IPv6 /64 (one host
    usually holds a whole /64, so single IPv6 addresses would make the per-client cap moot)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _button_page(request: Request, session: Session, token: str, template: str) -> HTMLResponse:
    """The page a mailed link opens: it changes nothing, its one button POSTs the change."""
    alert = subscriptions.by_token(session, token)
    if alert is None:
        return _unknown_link(request)
    return templates.TemplateResponse(request, template, {"alert": alert, "token": token})


def _sign_up_form(
    request: Request,
    params: SearchParams,
    email: str = "",
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The sign-up form for the search in ``params``: empty, or again with the address given and
    what was wrong with it."""
    context = {"params": params, "query": params.q, "error": error, "email": email}
    return templates.TemplateResponse(request, "alert_new.html", context, status_code=status)


def _unavailable(request: Request) -> HTMLResponse:
    return _message(
        request,
        _("Alerts are unavailable"),
        _("Email alerts are not set up on this archive."),
        503,
    )


@router.get("/alerts/new", response_class=HTMLResponse)
def new_alert(request: Request, settings: SettingsDep, params: SearchParamsDep) -> HTMLResponse:
    if not settings.smtp_host:
        return _unavailable(request)
    return _sign_up_form(request, params)


@router.post("/alerts", response_class=HTMLResponse)
def create_alert(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    params: SearchParamsDep,
    email: Annotated[str, Form(max_length=320)],
    frequency: Annotated[str, Form()] = "immediate",
) -> HTMLResponse:
    """The search comes in the URL's query (as on /search), the address in the form body."""
    if not settings.smtp_host:
        return _unavailable(request)
    error, status = None, 400
    if frequency not in AlertFrequency.__members__:
        error = _("Choose how often to be told.")
    if not params.q:
        error = _("An alert needs words to find.")
    message = None
    if error is None:
        try:
            _alert, message = subscriptions.subscribe(
                session,
                email=email,
                query=params.q,
                filters=filters_json(params.filters),
                frequency=AlertFrequency(frequency),
                lang=current(),
                caps=subscriptions.SignUpCaps.of(settings),
                client=client_bucket(client_ip(request)),
            )
        except subscriptions.TooManySignUps:
            error, status = _("Too many sign-ups just now. Please try again in an hour."), 429
        except subscriptions.InvalidAlert:
            error = _("Enter a valid email address.")
    if error is not None:
        return _sign_up_form(request, params, email, error, status)
    session.commit()
    if message is not None:
        try:
            send_task(settings, SEND_MAIL, message.id)
        except Exception:  # the outbox sweep sends it once the broker is back
            log.exception("could not queue confirmation mail %s", message.id)
    return _message(
        request,
        _("Check your inbox"),
        _(
            "We sent a link to %(email)s. The alert starts once you open it; "
            "if you already have this alert, nothing changes."
        )
        % {"email": email.strip()},
    )


@router.get("/alerts/confirm/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, session: SessionDep, token: str) -> HTMLResponse:
    """A page with one button: mail scanners that open links must not confirm for anyone, so
    only the button's POST (a person) starts the alert."""
    return _button_page(request, session, token, "alert_confirm.html")


@router.post("/alerts/confirm/{token}", response_class=HTMLResponse)
def confirm_alert(request: Request, session: SessionDep, token: str) -> HTMLResponse:
    """The button above. No CSRF token is needed: the secret token in the URL is the proof, and a
    forged POST could only confirm an alert whose link its sender already holds."""
    alert = subscriptions.confirm(session, token)
    session.commit()
    if alert is None:
        return _unknown_link(request)
    if alert.unsubscribed_at is not None:
        return _message(
            request, _("Alert stopped"), _("This alert was stopped; subscribe again to restart.")
        )
    return _about(
        request,
        _("Your alert is on"),
        _("We will email %(email)s when something new matches “%(query)s”."),
        alert,
    )


@router.get("/alerts/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, session: SessionDep, token: str) -> HTMLResponse:
    """A page with one button: mail scanners that open links must not unsubscribe anyone."""
    return _button_page(request, session, token, "alert_unsubscribe.html")


@router.post("/alerts/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(request: Request, session: SessionDep, token: str) -> HTMLResponse:
    """The button above, and RFC 8058 one-click unsubscribe from mail clients."""
    alert = subscriptions.unsubscribe(session, token)
    session.commit()
    if alert is None:
        return _unknown_link(request)
    return _about(
        request,
        _("Unsubscribed"),
        _("%(email)s will get no more mail for “%(query)s”."),
        alert,
    )


@router.get("/alerts/manage/{token}", response_class=HTMLResponse)
def manage_page(
    request: Request, session: SessionDep, settings: SettingsDep, token: str
) -> HTMLResponse:
    """Every live alert of the address the token's alert mails, to change or stop: no login."""
    owner, mine = subscriptions.alerts_of(session, token)
    if owner is None:
        return _unknown_link(request)
    rows = [(a, search_url(settings, a).removeprefix(settings.site_url)) for a in mine]
    context = {"owner": owner, "rows": rows, "token": token}
    return templates.TemplateResponse(request, "alert_manage.html", context)


@router.post("/alerts/manage/{token}", response_class=HTMLResponse, response_model=None)
def manage(
    request: Request,
    session: SessionDep,
    token: str,
    alert_id: Annotated[int, Form()],
    action: Annotated[str, Form(max_length=20)],
) -> HTMLResponse | RedirectResponse:
    try:
        changed = subscriptions.change(session, token, alert_id, action)
    except subscriptions.InvalidAlert:
        changed = None
    if changed is None:
        return _unknown_link(request)
    session.commit()
    return RedirectResponse(f"/alerts/manage/{token}", status_code=303)
