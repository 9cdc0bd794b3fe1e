"""How times and dates look on the pages."""

from __future__ import annotations

import math


def timestamp(seconds: float) -> str:
    """m:ss below an hour, h:mm:ss from an hour on (seconds rounded down)."""
    total = max(0, math.floor(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def seconds_param(seconds: float) -> str:
    """The ``t`` value of a link: whole seconds, rounded down so the moment is not skipped."""
    return str(max(0, math.floor(seconds)))
