"""Elapsed time and time left for a job's progress line ("42% 1:05 ETA 1:30").

The rate is measured from the first fraction reported, not from zero: a job resumed after a
crash starts at the fraction its stored chunks already cover, and counting those as done in no
time would promise an end far too early. The text fits the job's 40-character stage column.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def clock(seconds: float) -> str:
    """``M:SS`` below an hour, ``HhMM`` above (short enough for the stage column)."""
    seconds = max(0, round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}"
    return f"{seconds // 60}:{seconds % 60:02d}"


class Eta:
    """Started when the work starts; ``note(fraction)`` says how far, how long, how long left."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._started = now()
        self._first: tuple[float, float] | None = None

    def note(self, fraction: float) -> str:
        now = self._now()
        if self._first is None:
            self._first = (now, fraction)
        first_at, first_fraction = self._first
        elapsed = now - self._started
        text = f"{fraction:.0%} {clock(elapsed)}"
        gained = fraction - first_fraction
        if gained > 0.001 and fraction < 1.0:
            left = (now - first_at) * (1.0 - fraction) / gained
            text += f" ETA {clock(left)}"
        return text
