"""The transcript of a recording, or of a range of it, as files people take away: SRT, WebVTT,
timestamped plain text, JSON (segments with word timings) and DOCX (heading and citation).

Every format keeps the stored segment times unchanged (not shifted to the range), so a line of an
export can always be found again in the recording.
"""

from __future__ import annotations

import io
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import RowId, SessionDep, SettingsDep
from api.reading.quotes import Quote, quote, requested_range
from api.reading.recordings import public_recording
from archive.text.captions import to_srt, to_text, to_vtt, vtt_time
from archive.text.ranges import seconds_text
from web.i18n import N_, current, format_day
from web.i18n import gettext as _
from web.links import recording_url

router = APIRouter(tags=["exports"])

ExportFormat = Literal["srt", "vtt", "txt", "json", "docx"]
TYPES = {
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "json": "application/json",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


STATUS = {
    "machine": N_("machine transcript, not reviewed"),
    "human-reviewed": N_("reviewed by staff"),
    "partly-reviewed": N_("partly reviewed by staff"),
}


def to_json(q: Quote) -> str:
    rec = q.recording
    data = {
        "recording": {
            "id": rec.id,
            "title": rec.title,
            "body": rec.body.slug,
            "body_name": rec.body.localized_name(current()),
            "date": rec.recorded_on.isoformat(),
            "duration_s": rec.duration_s,
            "sha256": rec.sha256,
            "transcript_model": rec.transcript_model,
            "url": recording_url(rec.id, site=q.site_url),
        },
        "range": None if q.span is None else {"start": q.span.start, "end": q.span.end},
        "citation": q.citation(),
        "segments": [
            {
                **row,
                "words": [
                    {"start": w[0], "end": w[1], "word": w[2], "probability": w[3]}
                    for w in seg.words
                ],
            }
            for row, seg in zip(q.segment_rows(), q.segments, strict=True)
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def to_docx(q: Quote) -> bytes:
    from docx import Document

    rec = q.recording
    doc = Document()
    doc.core_properties.title = rec.title
    doc.add_heading(rec.title, level=1)
    facts = f"{rec.body.localized_name(current())} · {format_day(rec.recorded_on)} · {q.time_range}"
    doc.add_paragraph(facts)
    cite = doc.add_paragraph()
    cite.add_run(_("Cite as:") + " ").bold = True
    cite.add_run(q.citation())
    doc.add_heading(_("Transcript"), level=2)
    for seg in q.segments:
        line = doc.add_paragraph()
        line.add_run(f"[{vtt_time(seg.start)} – {vtt_time(seg.end)}] ").bold = True
        if seg.speaker is not None:
            line.add_run(seg.speaker.localized_name(current()) + ": ").italic = True
        line.add_run(_("[unintelligible]") if seg.unintelligible else " ".join(seg.text.split()))
    doc.add_paragraph(
        _("Status: %(status)s. Model: %(model)s.")
        % {"status": _(STATUS[q.status]), "model": rec.transcript_model or "—"}
    )
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


@router.get("/r/{recording_id}/transcript.{fmt}")
def export(
    recording_id: RowId,
    fmt: ExportFormat,
    session: SessionDep,
    settings: SettingsDep,
    start: Annotated[str | None, Query(description="range start (optional)")] = None,
    end: Annotated[str | None, Query(description="range end (optional)")] = None,
) -> Response:
    """The whole transcript, or the segments overlapping ``start``–``end``, in one format."""
    rec = public_recording(session, recording_id)
    span = None if start is None and end is None else requested_range(rec, start, end)
    q = quote(rec, span, settings.site_url)
    body: str | bytes = {
        "srt": lambda: to_srt(q.segments),
        "vtt": lambda: to_vtt(q.segments),
        "txt": lambda: to_text(q.segments),
        "json": lambda: to_json(q),
        "docx": lambda: to_docx(q),
    }[fmt]()
    name = f"ashyq-{rec.id}"
    if span is not None:
        name += f"-{seconds_text(span.start)}-{seconds_text(span.end)}"
    return Response(
        body,
        media_type=TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )
