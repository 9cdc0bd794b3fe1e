"""The progress line of a job: percent, elapsed, time left — counting only work done now."""

from __future__ import annotations

from workers.ingest.eta import Eta, clock


class Clock:
    """A hand-moved clock, so the arithmetic is checked exactly."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_time_left_comes_from_the_rate_since_the_first_report():
    """
    GIVEN a job resumed at 50% (its stored chunks) that then does 10% in 60 s
    WHEN its progress line is written
    THEN it shows 60% with 1:00 elapsed, and 4:00 left (40% at 10% a minute, not at 60%)
    """
    now = Clock()
    eta = Eta(now)
    assert eta.note(0.5) == "50% 0:00"
    now.now += 60
    assert eta.note(0.6) == "60% 1:00 ETA 4:00"
    now.now += 240
    assert eta.note(1.0) == "100% 5:00"


def test_long_durations_stay_short_enough_for_the_stage_column():
    assert clock(59.6) == "1:00"
    assert clock(3 * 3600 + 5 * 60 + 10) == "3h05"
    assert len("transcribe: 13/18 72% 2h05 ETA 1h10") <= 40
