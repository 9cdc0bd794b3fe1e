"""A quote: what was said in a range of a recording, who said it, and how to cite it.

Permalinks, citations, the provenance record, exports and the clip page all describe a range the
same way; this module is the one place that does, in the UI language of the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archive.models import Recording, Segment
from archive.settings import Settings
from archive.text.ranges import (
    TimeRange,
    make_range,
    overlapping,
    parse_time,
    range_text,
)
from web.formatting import timestamp
from web.i18n import current, format_day
from web.i18n import gettext as _
from web.links import recording_url


@dataclass(frozen=True)
class Quote:
    recording: Recording
    span: TimeRange | None  # None: the whole recording
    segments: list[Segment]
    site_url: str

    @property
    def text(self) -> str:
        return range_text(self.segments)

    @property
    def permalink(self) -> str:
        query = self.span.query() if self.span else ""
        return recording_url(self.recording.id, site=self.site_url, query=query)

    @property
    def time_range(self) -> str:
        if self.span is None:
            return f"0:00–{timestamp(self.recording.duration_s)}"
        return f"{timestamp(self.span.start)}–{timestamp(self.span.end)}"

    @property
    def speakers(self) -> list[str]:
        names: list[str] = []
        for seg in self.segments:
            if seg.speaker is not None:
                name = seg.speaker.localized_name(current())
                if name not in names:
                    names.append(name)
        return names

    @property
    def status(self) -> str:
        """machine, human-reviewed, or partly-reviewed (some segments reviewed, some not)."""
        reviewed = [seg.reviewed for seg in self.segments]
        if reviewed and all(reviewed):
            return "human-reviewed"
        return "partly-reviewed" if any(reviewed) else "machine"

    def citation(self, markdown: bool = False) -> str:
        """Speaker (when known), title, body, date, time range and permalink, in the UI language."""
        rec = self.recording
        title = f"*{_markdown_escape(rec.title)}*" if markdown else f"“{rec.title}”"
        when = self.time_range
        if markdown:
            when = f"[{when}]({self.permalink})"
        parts = {
            "speaker": ", ".join(self.speakers),
            "title": title,
            "body": rec.body.localized_name(current()),
            "date": format_day(rec.recorded_on),
            "range": when,
            "url": self.permalink,
        }
        if markdown:
            if parts["speaker"]:
                line = _("%(speaker)s, %(title)s, %(body)s, %(date)s, %(range)s") % parts
            else:
                line = _("%(title)s, %(body)s, %(date)s, %(range)s") % parts
            quoted = self.text
            return (f"> {quoted}\n>\n> — {line}" if quoted else line) + "\n"
        if parts["speaker"]:
            return _("%(speaker)s, %(title)s, %(body)s, %(date)s, %(range)s. %(url)s") % parts
        return _("%(title)s, %(body)s, %(date)s, %(range)s. %(url)s") % parts

    def segment_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "id": seg.id,
                "start": seg.start,
                "end": seg.end,
                "text": seg.text,
                "language": seg.language,
                "speaker": seg.speaker.localized_name(current()) if seg.speaker else None,
                "reviewed": seg.reviewed,
                "unintelligible": seg.unintelligible,
            }
            for seg in self.segments
        ]


def _markdown_escape(text: str) -> str:
    """A title like "Law *On* [budget]" must not turn into emphasis or a link."""
    return "".join(f"\\{c}" if c in "\\`*_[]<>#" else c for c in text)


def requested_range(
    recording: Recording, start: str | None, end: str | None, max_length_s: float | None = None
) -> TimeRange:
    """The range asked for; a ``RangeError`` says what is wrong with it (a 400, api.errors)."""
    return make_range(start, end, recording.duration_s, max_length_s)


def quote(recording: Recording, span: TimeRange | None, site_url: str) -> Quote:
    return Quote(recording, span, overlapping(recording.segments, span), site_url)


def page_range(recording: Recording, t: str, end: str, settings: Settings) -> dict[str, Any]:
    """What the recording page needs for ``?t=`` and ``?end=``: the start second, and when an
    end is given the quoted range, its segments (highlighted) and its citation."""
    start = parse_time(t) or 0.0
    common = {"clip_max_s": settings.clip_max_s, "words": timed_words(recording.segments)}
    if not end.strip():
        return {
            **common,
            "start_s": min(start, recording.duration_s),
            "span": None,
            "quote": None,
            "quoted": set(),
        }
    span = requested_range(recording, t or "0", end)
    q = quote(recording, span, settings.site_url)
    return {
        **common,
        "start_s": span.start,
        "span": span,
        "quote": q,
        "quoted": {s.id for s in q.segments},
    }


def timed_words(segments: list[Segment]) -> dict[str, list[Any]]:
    """Word timings of the segments whose words still spell their text (staff may have corrected
    the text since Whisper timed the words; those segments are then selectable only whole)."""
    out = {}
    for seg in segments:
        if seg.words and "".join(w[2] for w in seg.words).split() == seg.text.split():
            out[seg.id] = seg.words
    return out
