"""A staff member's own e-mail alerts, managed while signed in (no token link needed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from api.auth import Editor, require_editor
from api.deps import RowId, SessionDep, SettingsDep
from api.staff.web import back, render
from archive import alerts as subscriptions
from archive.models import Alert, AlertFrequency
from web.i18n import current
from workers.alerts.evaluate import search_url

router = APIRouter(
    prefix="/staff",
    tags=["staff pages"],
    include_in_schema=False,
    dependencies=[Depends(require_editor)],
)


@router.get("/alerts", response_class=HTMLResponse)
def my_alerts(request: Request, db: SessionDep, settings: SettingsDep, staff: Editor) -> Response:
    mine = subscriptions.alerts_of_address(db, staff.user.email)
    rows = [(a, search_url(settings, a).removeprefix(settings.site_url)) for a in mine]
    return render(request, "staff/alerts.html", staff, rows=rows)


@router.post("/alerts")
def add_alert(
    db: SessionDep,
    staff: Editor,
    q: Annotated[str, Form(max_length=500)],
    frequency: Annotated[AlertFrequency, Form()] = AlertFrequency.immediate,
) -> Response:
    subscriptions.subscribe_own(  # InvalidAlert: a 400 (api.errors)
        db, email=staff.user.email, query=q.strip(), frequency=frequency, lang=current()
    )
    db.commit()
    return back("/staff/alerts", "saved")


@router.post("/alerts/{alert_id}")
def change_alert(
    db: SessionDep, staff: Editor, alert_id: RowId, action: Annotated[str, Form(max_length=20)]
) -> Response:
    alert = db.get(Alert, alert_id)
    if alert is None or alert.email != subscriptions.normalize_email(staff.user.email):
        raise HTTPException(404, "no such alert of yours")
    subscriptions.apply(alert, action)  # InvalidAlert: a 400 (api.errors)
    db.commit()
    return back("/staff/alerts", "saved")
