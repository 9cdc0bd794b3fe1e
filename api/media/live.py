"""Public side of live captures: the recorded part as an HLS playlist, the growing transcript.

While a recording is LIVE its media is the ``.ts`` segments the capture writes under
``live/<session>/run-NNN``: ``/live/{id}/index.m3u8`` lists all of them (a discontinuity between
connections) and browsers play it directly. ``/r/{id}/live.json?after=N`` returns the segments
after index N, so the page's transcript grows by polling.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import FileResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import Position, RowId, SessionDep, SettingsDep
from api.guards.media_safety import media_headers
from api.reading.live import gaps_of, session_of
from api.reading.recordings import public_recording
from archive.live import run_dir
from archive.models import LiveSession, LiveState, Recording, RecordingStatus, Segment
from workers.media import hls

router = APIRouter(tags=["live"])
SEGMENT_NAME = re.compile(r"^v\d{5}\.ts$")


def _live_recording(session: Session, recording_id: RowId) -> tuple[Recording, LiveSession]:
    recording = public_recording(session, recording_id)
    live = session_of(session, recording)
    if recording.status != RecordingStatus.live or live is None:
        raise HTTPException(404, "this recording is not live")
    return recording, live


@router.get("/live/{recording_id}/index.m3u8", include_in_schema=False)
def live_playlist(recording_id: RowId, session: SessionDep, settings: SettingsDep) -> Response:
    """Everything recorded so far, as one HLS playlist (an EVENT playlist that grows)."""
    _recording, live = _live_recording(session, recording_id)
    lines, longest = [], 1.0
    for run in live.runs:
        listed = hls.local(run_dir(settings, live.id, run["n"]) / "index.m3u8").segments
        if not listed:
            continue
        if lines:
            lines.append("#EXT-X-DISCONTINUITY")
        for seconds, name in listed:
            longest = max(longest, seconds)
            lines += [f"#EXTINF:{seconds:.3f},", f"/live/{recording_id}/{run['n']}/{name}"]
    head = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{math.ceil(longest)}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:EVENT",
    ]
    ended = live.state not in (LiveState.capturing, LiveState.scheduled)
    body = "\n".join(head + lines + (["#EXT-X-ENDLIST"] if ended else [])) + "\n"
    return Response(
        body,
        media_type="application/vnd.apple.mpegurl",
        headers=media_headers({"Cache-Control": "no-cache"}),
    )


@router.get("/live/{recording_id}/{run}/{name}", include_in_schema=False)
def live_segment(
    recording_id: RowId, run: Position, name: str, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    _recording, live = _live_recording(session, recording_id)
    if not SEGMENT_NAME.match(name) or not 0 <= run < len(live.runs):
        raise HTTPException(404, "no such segment")
    path = run_dir(settings, live.id, run) / name
    if not path.is_file():
        raise HTTPException(404, "no such segment")
    return FileResponse(
        path, media_type="video/mp2t", headers=media_headers({"Cache-Control": "max-age=3600"})
    )


@router.get("/r/{recording_id}/live.json", tags=["live"])
def live_transcript(
    recording_id: RowId,
    session: SessionDep,
    after: Annotated[
        int, Query(ge=-1, le=2**31 - 1, description="return segments after this index")
    ] = -1,
) -> dict[str, Any]:
    """The segments transcribed since ``after``, the gaps, and whether it is still live."""
    recording = public_recording(session, recording_id)
    live = session_of(session, recording)
    rows = session.scalars(
        select(Segment)
        .where(Segment.recording_id == recording.id, Segment.idx > after)
        .order_by(Segment.idx)
    )
    return {
        "status": recording.status.value,
        "duration_s": round(recording.duration_s, 3),
        "segments": [
            {
                "id": seg.id,
                "idx": seg.idx,
                "start": seg.start,
                "end": seg.end,
                "text": seg.text,
                "language": seg.language,
            }
            for seg in rows
        ],
        "gaps": [{"at": g.at_s, "lost_s": g.lost_s} for g in gaps_of(session, live)],
    }
