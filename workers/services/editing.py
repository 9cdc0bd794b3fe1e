"""Transcript corrections: every edit is a revision that replaces a range of segments, and only
the segments it touched are re-indexed.

A revision stores the range as it was (``before``) and as it became (``after``). A text fix or a
speaker change replaces n segments by n; a split replaces 1 by 2 and a merge 2 by 1, which
renumbers the segments after it (segment ids are ``{recording}-{idx}``), so those are rewritten
and re-indexed too, and the id that no longer exists leaves the index. Reverting applies the same
replacement the other way, provided nothing later changed the range.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from archive.models import Recording, Segment, SegmentRevision, User, segment_id, utcnow
from archive.settings import Settings
from workers import indexing

FIELDS = (
    "start",
    "end",
    "text",
    "language",
    "words",
    "avg_logprob",
    "speaker_id",
    "reviewed",
    "unintelligible",
)
# Revisions stored before a field existed lack it: its value then.
SINCE = {"unintelligible": False}
# Segments may end a little after the media's reported duration (container rounding).
TOLERANCE_S = 0.5
SHOWN_PRECISION_S = 0.006


class EditRefused(ValueError):
    """The edit is invalid or conflicts with later edits; nothing was changed."""


def snapshot(segment: Segment) -> dict[str, Any]:
    return {name: getattr(segment, name) for name in FIELDS}


def _segments(session: Session, recording_id: int) -> list[Segment]:
    return list(
        session.scalars(
            select(Segment).where(Segment.recording_id == recording_id).order_by(Segment.idx)
        )
    )


def _check(recording: Recording, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if not str(row["text"]).strip() and not row.get("unintelligible"):
            raise EditRefused("a segment's text must not be empty")
        start, end = float(row["start"]), float(row["end"])
        if not 0 <= start < end:
            raise EditRefused("a segment must start before it ends, at 0 s or later")
        if end > recording.duration_s + TOLERANCE_S:
            raise EditRefused(
                f"a segment cannot end after the recording ({recording.duration_s:.1f} s)"
            )


def _replace(
    settings: Settings,
    session: Session,
    recording: Recording,
    idx_from: int,
    count: int,
    rows: list[dict[str, Any]],
) -> None:
    """Replace segments ``idx_from … idx_from+count-1`` by ``rows``, commit, then re-index."""
    _check(recording, rows)
    current = _segments(session, recording.id)
    old_total = len(current)
    tail = [snapshot(s) for s in current[idx_from + count :]]
    if len(rows) == count:
        touched = current[idx_from : idx_from + count]
        for segment, row in zip(touched, rows, strict=True):
            for name in FIELDS:
                setattr(segment, name, {**SINCE, **row}[name])
        gone: list[str] = []
    else:
        for segment in current[idx_from:]:
            session.expunge(segment)
        session.execute(
            delete(Segment).where(Segment.recording_id == recording.id, Segment.idx >= idx_from)
        )
        session.flush()
        touched = []
        for offset, row in enumerate([*rows, *tail]):
            idx = idx_from + offset
            segment = Segment(id=segment_id(recording.id, idx), recording_id=recording.id, idx=idx)
            for name in FIELDS:
                setattr(segment, name, {**SINCE, **row}[name])
            session.add(segment)
            touched.append(segment)
        new_total = idx_from + len(rows) + len(tail)
        gone = [segment_id(recording.id, idx) for idx in range(new_total, old_total)]
    recording.updated_at = utcnow()
    session.flush()
    session.expire(recording, ["segments"])
    session.commit()
    indexing.index_segments(settings, session, recording, touched, gone=gone, alert=False)


def _revise(
    settings: Settings,
    session: Session,
    recording: Recording,
    user: User | None,
    action: str,
    idx_from: int,
    count: int,
    rows: list[dict[str, Any]],
    reverts: int | None = None,
) -> SegmentRevision:
    current = _segments(session, recording.id)
    if idx_from < 0 or idx_from + count > len(current) or count < 1:
        raise EditRefused("no such segment")
    before = [snapshot(s) for s in current[idx_from : idx_from + count]]
    revision = SegmentRevision(
        recording_id=recording.id,
        user_id=user.id if user else None,
        user_email=user.email if user else None,
        action=action,
        idx_from=idx_from,
        before=before,
        after=rows,
        reverts=reverts,
    )
    session.add(revision)
    _replace(settings, session, recording, idx_from, count, rows)
    return revision


def _segment(session: Session, recording: Recording, idx: int) -> Segment:
    segment = session.scalar(
        select(Segment).where(Segment.recording_id == recording.id, Segment.idx == idx)
    )
    if segment is None:
        raise EditRefused(f"segment {idx} does not exist")
    return segment


def update_segment(
    settings: Settings,
    session: Session,
    recording: Recording,
    user: User | None,
    idx: int,
    *,
    text: str | None = None,
    start: float | None = None,
    end: float | None = None,
    reviewed: bool | None = None,
) -> SegmentRevision | None:
    """Fix text and/or timing (which marks the segment human-reviewed), or set reviewed status.
    None when nothing would change."""
    row = snapshot(_segment(session, recording, idx))
    new = dict(row)
    if text is not None:
        new["text"] = " ".join(text.split())
        # Staff typing what an unintelligible stretch says makes it an ordinary segment.
        new["unintelligible"] = row["unintelligible"] and not new["text"]
    # The form shows times to the hundredth: a value within that of the stored one is unchanged.
    if start is not None and abs(float(start) - row["start"]) > SHOWN_PRECISION_S:
        new["start"] = round(float(start), 3)
    if end is not None and abs(float(end) - row["end"]) > SHOWN_PRECISION_S:
        new["end"] = round(float(end), 3)
    corrected = any(new[k] != row[k] for k in ("text", "start", "end"))
    new["reviewed"] = True if corrected else (row["reviewed"] if reviewed is None else reviewed)
    if new == row:
        return None
    action = "edit" if corrected else "review"
    return _revise(settings, session, recording, user, action, idx, 1, [new])


def _split_time(row: dict[str, Any], at_char: int) -> float:
    """When the second part starts: the first timed word found at or after the cut, else a
    time proportional to the characters."""
    text, cursor = row["text"], 0
    for start, _end, word, *_ in row["words"] or []:
        token = str(word).strip()
        found = text.find(token, cursor) if token else -1
        if found < 0:
            continue
        if found >= at_char:
            return float(start)
        cursor = found + len(token)
    share = at_char / max(len(text), 1)
    return row["start"] + (row["end"] - row["start"]) * share


def split_segment(
    settings: Settings,
    session: Session,
    recording: Recording,
    user: User | None,
    idx: int,
    at_char: int,
) -> SegmentRevision:
    row = snapshot(_segment(session, recording, idx))
    first, second = row["text"][:at_char].strip(), row["text"][at_char:].strip()
    if not first or not second:
        raise EditRefused("put the cursor between two words to split a segment")
    cut = round(_split_time(row, at_char), 3)
    if not row["start"] < cut < row["end"]:
        cut = round((row["start"] + row["end"]) / 2, 3)
    words = row["words"] or []
    head = {**row, "text": first, "end": cut, "words": [w for w in words if w[0] < cut]}
    tail = {**row, "text": second, "start": cut, "words": [w for w in words if w[0] >= cut]}
    return _revise(settings, session, recording, user, "split", idx, 1, [head, tail])


def merge_with_next(
    settings: Settings, session: Session, recording: Recording, user: User | None, idx: int
) -> SegmentRevision:
    a = snapshot(_segment(session, recording, idx))
    try:
        b = snapshot(_segment(session, recording, idx + 1))
    except EditRefused as exc:
        raise EditRefused("the last segment has no next segment to merge with") from exc
    merged = {
        **a,
        "text": f"{a['text']} {b['text']}".strip(),
        "start": min(a["start"], b["start"]),
        "end": max(a["end"], b["end"]),
        "words": [*(a["words"] or []), *(b["words"] or [])],
        "reviewed": a["reviewed"] and b["reviewed"],
        "language": a["language"] or b["language"],
        "unintelligible": a["unintelligible"] and b["unintelligible"],
    }
    return _revise(settings, session, recording, user, "merge", idx, 2, [merged])


def assign_speaker(
    settings: Settings,
    session: Session,
    recording: Recording,
    user: User | None,
    idx_from: int,
    idx_to: int,
    speaker_id: int | None,
) -> SegmentRevision | None:
    """Name the speaker of segments idx_from…idx_to (inclusive); None clears it."""
    if idx_to < idx_from:
        raise EditRefused("the range ends before it starts")
    current = _segments(session, recording.id)[idx_from : idx_to + 1]
    if len(current) != idx_to - idx_from + 1:
        raise EditRefused("no such segment")
    rows = [{**snapshot(s), "speaker_id": speaker_id} for s in current]
    if all(s.speaker_id == speaker_id for s in current):
        return None
    return _revise(settings, session, recording, user, "speaker", idx_from, len(rows), rows)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in ("text", "start", "end", "speaker_id", "reviewed"))


def revert(
    settings: Settings, session: Session, revision: SegmentRevision, user: User | None
) -> SegmentRevision:
    """Undo a revision, as a new revision; refused when later edits changed the same range."""
    if revision.reverted_at is not None:
        raise EditRefused("this revision was already reverted")
    recording = session.get(Recording, revision.recording_id)
    assert recording is not None
    current = _segments(session, recording.id)
    span = current[revision.idx_from : revision.idx_from + len(revision.after)]
    if len(span) != len(revision.after) or not all(
        _same(snapshot(s), row) for s, row in zip(span, revision.after, strict=True)
    ):
        raise EditRefused("later edits changed these segments; revert those first")
    revision.reverted_at = utcnow()
    return _revise(
        settings,
        session,
        recording,
        user,
        "revert",
        revision.idx_from,
        len(revision.after),
        list(revision.before),
        reverts=revision.id,
    )
