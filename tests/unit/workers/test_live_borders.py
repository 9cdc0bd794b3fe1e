"""Border reconciliation between live transcription windows (pure timeline arithmetic).

The windows' word times come from Whisper in test_live.py; here the rule itself is checked on
word timings shaped like the ones a CI run produced, so a regression shows without a stream.
"""

from __future__ import annotations

import itertools

from workers.asr.transcribe import TranscribedSegment, Word
from workers.live.text import Border, emit_words


def _segment(*words: tuple[float, float, str]) -> TranscribedSegment:
    ws = [Word(start, end, text, 0.9) for start, end, text in words]
    return TranscribedSegment(
        start=ws[0].start,
        end=ws[-1].end,
        text="".join(w.word for w in ws).strip(),
        words=ws,
        language="en",
    )


def test_a_new_word_that_starts_inside_the_last_emitted_word_is_moved_after_it() -> None:
    """
    GIVEN the previous window emitted words up to 38.485 s WHEN the next window's first new word
    is timed 38.335–38.90 s (its middle after 38.485) THEN it is emitted starting at 38.485 and no
    stored segment overlaps the previous one
    """
    border = Border(carry_from=38.3, text_until=38.485, last_word="flooding")
    found = [_segment((38.335, 38.9, " The"), (38.95, 39.4, " river"), (39.5, 40.1, " rose."))]
    emitted, until, last = emit_words(found, border, limit=45.0)
    assert [s.text for s in emitted] == ["The river rose."]
    assert emitted[0].start == 38.485 and emitted[0].words[0].start == 38.485
    assert until == 40.1 and last == "rose"


def test_words_already_emitted_are_dropped_and_words_near_the_window_end_are_held() -> None:
    """
    GIVEN a window that repeats the last emitted word and runs past the hold limit WHEN words are
    emitted THEN the repeated word is dropped, the words after the limit wait for the next window,
    and the emitted segments are in order without overlap
    """
    border = Border(carry_from=9.8, text_until=10.0, last_word="spring")
    found = [
        _segment((9.7, 10.0, " spring."), (10.2, 10.6, " Water"), (10.6, 11.0, " levels")),
        _segment((11.3, 11.8, " rose"), (12.9, 13.6, " sharply.")),
    ]
    emitted, until, last = emit_words(found, border, limit=13.0)
    assert [s.text for s in emitted] == ["Water levels", "rose"]
    assert until == 11.8 and last == "rose"
    for a, b in itertools.pairwise(emitted):
        assert b.start >= a.end
