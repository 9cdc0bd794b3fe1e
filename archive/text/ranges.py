"""Time ranges of a recording: parsing what people type, validating it, and what was said in it.

A range is kept in whole milliseconds. Clips are cached and registered under their range, so two
spellings of the same moment ("83.5", "1:23.5", "83.5000001") must name the same file: rounding
to the millisecond at the edge makes the range canonical.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

# Clips are cut on a 100 ms grid (see ``TimeRange.quantised``).
CLIP_STEP_MS = 100
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:[.,]\d+)?)$")


class RangeError(ValueError):
    """A range that cannot be served; the message is shown to the user as it is."""


class TimedText(Protocol):
    start: float
    end: float
    text: str


T = TypeVar("T", bound=TimedText)


def parse_time(text: str | float | None) -> float | None:
    """Seconds from "83.5", "1:23.5" or "0:01:23.500"; None when empty.

    Raises RangeError on anything else, negative numbers and NaN/infinity included.
    """
    if text is None:
        return None
    if isinstance(text, int | float):
        value = float(text)
    else:
        text = text.strip()
        if not text:
            return None
        clock = _CLOCK.match(text)
        if clock:
            hours, minutes, seconds = clock.groups()
            if int(minutes) >= 60 and hours is not None:
                raise RangeError(f"not a time: {text!r} (minutes must be below 60)")
            try:  # thousands of digits: past int()'s digit limit or float's range
                value = (
                    int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds.replace(",", "."))
                )
            except (ValueError, OverflowError):
                raise RangeError(f"not a time: {text[:40]!r}…") from None
        else:
            try:
                value = float(text)
            except ValueError:
                raise RangeError(
                    f"not a time: {text!r} (use seconds like 83.5 or a clock time like 1:23.5)"
                ) from None
    if not math.isfinite(value):
        raise RangeError(f"not a time: {text!r}")
    if value < 0:
        raise RangeError(f"a time cannot be negative: {text!r}")
    return value


def to_ms(seconds: float) -> int:
    return round(seconds * 1000)


@dataclass(frozen=True)
class TimeRange:
    """A validated range, in whole milliseconds."""

    start_ms: int
    end_ms: int

    @property
    def start(self) -> float:
        return self.start_ms / 1000

    @property
    def end(self) -> float:
        return self.end_ms / 1000

    @property
    def duration(self) -> float:
        return (self.end_ms - self.start_ms) / 1000

    @property
    def start_text(self) -> str:
        return seconds_text(self.start)

    @property
    def end_text(self) -> str:
        return seconds_text(self.end)

    @property
    def key(self) -> str:
        """The range in file names and registry entries."""
        return f"{self.start_ms}-{self.end_ms}"

    def query(self) -> str:
        """``t=…&end=…`` as permalinks carry it."""
        return f"t={seconds_text(self.start)}&end={seconds_text(self.end)}"

    def quantised(
        self, limit_ms: int, max_ms: int | None = None, step_ms: int = CLIP_STEP_MS
    ) -> TimeRange:
        """The range widened to the ``step_ms`` grid: start down, end up (never past
        ``limit_ms``, the recording's end, nor ``max_ms`` past the start).

        Clips are cut on this grid so that ranges a millisecond apart share one cached cut: keyed
        by the millisecond, every request could name a range nobody cut before and miss the
        cache. Widening (not rounding) keeps every word that was asked for inside the clip.
        """
        start = self.start_ms - self.start_ms % step_ms
        end = min(-(-self.end_ms // step_ms) * step_ms, limit_ms)
        if max_ms is not None:
            end = min(end, start + max_ms)
        return TimeRange(start, max(end, start + 1))


def seconds_text(seconds: float) -> str:
    """Seconds as short as exact to the millisecond: 12, 12.5, 12.345."""
    return f"{seconds:.3f}".rstrip("0").rstrip(".") or "0"


def make_range(
    start: str | float | None,
    end: str | float | None,
    duration_s: float,
    max_length_s: float | None = None,
) -> TimeRange:
    """Validate a requested range against the recording's length and the allowed clip length.

    A missing end means "to the end of the recording"; a missing start means 0.
    """
    first = parse_time(start)
    last = parse_time(end)
    first = 0.0 if first is None else first
    limit_ms = to_ms(duration_s)
    start_ms = to_ms(first)
    end_ms = limit_ms if last is None else to_ms(last)
    if start_ms >= limit_ms:
        raise RangeError(
            f"start {seconds_text(first)} s is beyond the recording "
            f"({seconds_text(duration_s)} s long)"
        )
    if end_ms > limit_ms:
        raise RangeError(
            f"end {seconds_text(end_ms / 1000)} s is beyond the recording "
            f"({seconds_text(duration_s)} s long)"
        )
    if end_ms <= start_ms:
        raise RangeError(
            f"end ({seconds_text(end_ms / 1000)} s) must come after start "
            f"({seconds_text(start_ms / 1000)} s)"
        )
    if max_length_s is not None and end_ms - start_ms > to_ms(max_length_s):
        raise RangeError(
            f"a clip can be at most {seconds_text(max_length_s)} s long; "
            f"this range is {seconds_text((end_ms - start_ms) / 1000)} s"
        )
    return TimeRange(start_ms, end_ms)


def overlapping(segments: Iterable[T], span: TimeRange | None) -> list[T]:
    """The segments that overlap the range (all of them without a range), in order."""
    if span is None:
        return list(segments)
    return [seg for seg in segments if seg.end > span.start and seg.start < span.end]


def range_text(segments: Sequence[TimedText]) -> str:
    """The words of the segments as one paragraph."""
    return " ".join(" ".join(seg.text.split()) for seg in segments).strip()
