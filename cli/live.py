"""``ashyq live``: record a broadcast now or at a time, stop it, list the captures."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import func, select

from archive.audit import CLI
from archive.db import session_scope
from archive.models import LiveGap, LiveSession
from cli.common import (
    BodyOption,
    TitleOption,
    console,
    fail,
    interval,
    load_settings,
    migrated_settings,
    moment,
    print_rows,
)

app = typer.Typer(help="Live broadcasts: record now or at a time.", no_args_is_help=True)


@app.command("start")
def live_start(
    url: Annotated[str, typer.Argument(help="HLS .m3u8, rtmp://, rtsp://, or a page yt-dlp reads")],
    body: BodyOption,
    title: TitleOption,
    at: Annotated[str | None, typer.Option(help="start at (ISO 8601); default now")] = None,
    until: Annotated[str | None, typer.Option(help="expected end (ISO 8601)")] = None,
    max_duration: Annotated[str | None, typer.Option(help="stop after at most: 3h, 90m")] = None,
    chunk: Annotated[int | None, typer.Option(help="seconds of audio per chunk")] = None,
    event_type: Annotated[str | None, typer.Option(help="plenary, committee, hearing, …")] = None,
    page_url: Annotated[
        str | None, typer.Option(help="the broadcaster's page, published as the source")
    ] = None,
) -> None:
    """Record a live stream (now or at --at); it becomes searchable while it is captured. The
    stream URL may carry a key and is never published; --page-url is, if given."""
    from workers.services.live_control import start_live
    from workers.services.submit import InvalidRequest

    settings = migrated_settings()
    try:
        session_id = start_live(
            settings,
            url,
            body=body,
            title=title,
            starts_at=moment(at),
            expected_end_at=moment(until),
            max_duration_s=interval(max_duration) if max_duration else None,
            chunk_s=chunk,
            event_type=event_type,
            page_url=page_url,
            actor=CLI,
        )
    except InvalidRequest as exc:
        fail("not started", exc)
    when = f"at {at}" if at else "now"
    console.print(f"live session {session_id}: recording {url} {when}", highlight=False)


@app.command("stop")
def live_stop(session_id: Annotated[int, typer.Argument(help="live session id")]) -> None:
    """End a capture (what was recorded is kept and finalized) or cancel a scheduled one."""
    from workers.services.live_control import stop_live
    from workers.services.submit import InvalidRequest

    try:
        state = stop_live(load_settings(), session_id, actor=CLI)
    except InvalidRequest as exc:
        fail(str(exc))
    console.print(f"live session {session_id}: {state.value}, stop requested")


@app.command("list")
def live_list() -> None:
    """Live sessions: state, recording, gaps, why they ended."""
    settings = migrated_settings()
    gaps = (
        select(func.count())
        .where(LiveGap.session_id == LiveSession.id)
        .correlate(LiveSession)
        .scalar_subquery()
    )
    with session_scope(settings.db_url) as session:
        listed = session.execute(select(LiveSession, gaps).order_by(LiveSession.id.desc())).all()
        rows = [
            (
                str(live.id),
                live.state.value,
                live.title[:40],
                live.url[:60],
                live.starts_at.isoformat(timespec="minutes"),
                f"{settings.site_url}/r/{live.recording_id}" if live.recording_id else "",
                str(count),
                (live.end_reason or live.error or "")[:80],
            )
            for live, count in listed
        ]
    print_rows(("live", "state", "title", "url", "starts", "recording", "gaps", "note"), rows)
