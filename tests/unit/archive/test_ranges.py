"""Ranges as people type them: parsed, validated and made canonical (whole milliseconds)."""

from __future__ import annotations

import pytest

from archive.text.ranges import RangeError, make_range, overlapping, parse_time, range_text


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("83.5", 83.5),
        ("1:23.5", 83.5),
        ("0:01:23.500", 83.5),
        ("1:23,5", 83.5),
        ("7", 7.0),
        (" 2:00 ", 120.0),
        ("1:00:00", 3600.0),
        ("", None),
        (None, None),
    ],
)
def test_times_in_every_spelling(text, seconds):
    assert parse_time(text) == seconds


@pytest.mark.parametrize("text", ["abc", "-1", "nan", "inf", "1:2:3:4", "1:75:00", "1e400"])
def test_what_is_not_a_time(text):
    with pytest.raises(RangeError):
        parse_time(text)


def test_spellings_of_one_moment_name_one_range():
    """Clips are cached and registered by range: equal moments must give equal keys."""
    a = make_range("83.5", "1:40", 200)
    b = make_range("1:23.5000001", "100", 200)
    assert a == b and a.key == "83500-100000" and a.query() == "t=83.5&end=100"


@pytest.mark.parametrize(
    ("start", "end", "cap", "message"),
    [
        ("5", "5", None, "must come after start"),
        ("6", "2", None, "must come after start"),
        ("0", "201", None, "beyond the recording"),
        ("200", None, None, "beyond the recording"),
        ("0", "11", 10, "at most 10 s long; this range is 11 s"),
    ],
)
def test_ranges_that_cannot_be_served(start, end, cap, message):
    with pytest.raises(RangeError, match=message):
        make_range(start, end, 200, cap)


def test_open_end_runs_to_the_end_of_the_recording():
    assert make_range("10", None, 12.3456).end_ms == 12346


def test_overlapping_segments_and_their_text():
    class Seg:
        def __init__(self, start: float, end: float, text: str) -> None:
            self.start, self.end, self.text = start, end, text

    segs = [Seg(0, 2, "One  two."), Seg(3, 5, "Three."), Seg(6, 8, "Four.")]
    picked = overlapping(segs, make_range("1.5", "3.01", 10))
    assert range_text(picked) == "One two. Three."
    assert overlapping(segs, make_range("2", "3", 10)) == []  # the gap between them
    assert overlapping(segs, None) == segs
