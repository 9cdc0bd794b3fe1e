"""How the engine lays speech out for decoding: pure timeline arithmetic, no model.

The engine's results on real speech are checked in test_transcribe.py and test_languages.py;
these pin the rules that decide which audio is decoded together.
"""

from __future__ import annotations

import itertools

from workers.asr.engine import Word
from workers.asr.faster import layout
from workers.asr.faster.languages import script_of
from workers.asr.faster.layout import SEAM_S
from workers.asr.faster.packing import MAX_WORD_S, sane_runs
from workers.asr.speech import MAX_SPAN_S


def test_a_long_span_is_cut_at_pauses_into_pieces_that_fit_a_window() -> None:
    """
    GIVEN a 70 s span of speech with pauses every 10 s WHEN it is cut for decoding THEN every
    piece fits one window, the pieces tile the span without gaps, and each cut lies in a pause
    """
    regions = [(i * 10.0, i * 10.0 + 9.0) for i in range(7)]
    pieces = layout.pieces([(0.0, 69.0)], regions)
    assert all(end - start <= MAX_SPAN_S for start, end in pieces)
    assert pieces[0][0] == 0.0 and pieces[-1][1] == 69.0
    assert all(a[1] == b[0] for a, b in itertools.pairwise(pieces))
    for _start, end in pieces[:-1]:
        assert any(
            a_end <= end <= b_start for (_a, a_end), (b_start, _b) in itertools.pairwise(regions)
        )


def test_a_region_longer_than_a_window_is_cut_every_window() -> None:
    """GIVEN one 65 s region without a pause WHEN it is cut THEN pieces are at most a window long"""
    pieces = layout.pieces([(0.0, 65.0)], [(0.0, 65.0)])
    assert [round(end - start, 1) for start, end in pieces] == [MAX_SPAN_S, MAX_SPAN_S, 9.0]


def test_runs_join_one_language_and_far_runs_never_share_a_window() -> None:
    """
    GIVEN regions in Russian, English, Russian, then Russian again two minutes later
    WHEN they become runs, streams and windows THEN neighbouring regions of one language form one
    run, runs never overlap, each language is one stream, and the Russian run two minutes later
    gets a window of its own while the two near ones share one, a seam apart
    """
    regions = [(0.0, 4.0), (4.5, 8.0), (9.0, 15.0), (16.0, 20.0), (140.0, 150.0)]
    languages = ["ru", "ru", "en", "ru", "ru"]
    runs = layout.runs_of(regions, languages, 160.0)
    assert [language for _s, _e, language in runs] == ["ru", "en", "ru", "ru"]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(runs))
    streams = layout.streams(runs)
    assert [(language, len(spans)) for language, spans in streams] == [("ru", 3), ("en", 1)]
    placed, windows = layout.windows(streams[0][1])
    assert len(windows) == 2
    first, second = placed[0], placed[1]
    assert second[0] == first[0] + first[2] + SEAM_S  # joined a seam apart
    assert windows[0] == {"start": 0.0, "end": second[0] + second[2]}
    assert windows[1]["start"] == placed[2][0]


def test_the_script_of_a_text_tells_a_segment_decoded_in_the_wrong_language() -> None:
    """GIVEN English words decoded as Russian THEN their script is Latin, not Cyrillic"""
    assert script_of("And so my fellow Americans, ask not.") == "latin"
    assert script_of("На его месте должно быть я.") == "cyrillic"
    assert script_of("Қазақстан Республикасы") == "cyrillic"
    assert script_of("2026 — 15%") is None


def test_a_word_stretched_over_skipped_audio_is_shortened_and_the_segment_split_there() -> None:
    """
    GIVEN Whisper's words "The library hours" where "library" is timed 0.74–8.72 s because the
    model skipped the sentence said in between (seen on a live chunk)
    WHEN the words are tidied THEN "library" lasts at most MAX_WORD_S, ending where it ended, and
    the segment splits at the silence that opens before it, leaving that stretch uncovered
    """
    words = [Word(0.0, 0.74, " The", 0.9), Word(0.74, 8.72, " library", 0.8)]
    words.append(Word(8.72, 9.2, " hours", 0.9))
    runs = sane_runs(words)
    assert [[w.word for w in run] for run in runs] == [[" The"], [" library", " hours"]]
    library = runs[1][0]
    assert library.end == 8.72 and abs(library.end - library.start - MAX_WORD_S) < 1e-6
