"""Transcript text formats for players and readers. WebVTT feeds the player's captions track;
SRT and timestamped plain text are the exports people paste into editors and subtitle tools."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Timed(Protocol):
    start: float
    end: float
    text: str


def vtt_time(seconds: float) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def _cue_text(text: str) -> str:
    # "-->" would end a cue's timing line early; & and < start markup in WebVTT.
    cleaned = " ".join(text.split()).replace("-->", "→")
    return cleaned.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(segments: Iterable[Timed]) -> str:
    lines = ["WEBVTT", ""]
    for number, seg in enumerate(segments, 1):
        text = _cue_text(seg.text)
        if not text or seg.end <= seg.start:
            continue
        lines += [str(number), f"{vtt_time(seg.start)} --> {vtt_time(seg.end)}", text, ""]
    return "\n".join(lines)


def srt_time(seconds: float) -> str:
    """SRT writes a comma before the milliseconds."""
    return vtt_time(seconds).replace(".", ",")


def to_srt(segments: Iterable[Timed]) -> str:
    blocks = []
    number = 0
    for seg in segments:
        # A blank line ends an SRT block, so the text is kept on one line.
        text = " ".join(seg.text.split())
        if not text or seg.end <= seg.start:
            continue
        number += 1
        blocks.append(f"{number}\n{srt_time(seg.start)} --> {srt_time(seg.end)}\n{text}\n")
    return "\n".join(blocks)


def to_text(segments: Iterable[Timed]) -> str:
    """One line per segment: ``[00:01:02.500 - 00:01:05.000] text``."""
    lines = []
    for seg in segments:
        text = " ".join(seg.text.split())
        if text:
            lines.append(f"[{vtt_time(seg.start)} - {vtt_time(seg.end)}] {text}")
    return "\n".join(lines) + ("\n" if lines else "")
