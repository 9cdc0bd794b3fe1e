"""Fixtures of the live-capture tests: the broadcasts' speech, spoken once per run, and the
test's broadcasts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.live_source import SENTENCES, Broadcast, LiveSource, Speech, make_speech


@pytest.fixture(scope="session")
def speeches(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Speech]:
    """``speeches(count)``: the first ``count`` sentences as one speech, made once per run (each
    sentence is spoken once for all of them)."""
    folder = tmp_path_factory.mktemp("speeches")
    made: dict[int, Speech] = {}

    def speech(count: int = len(SENTENCES)) -> Speech:
        if count not in made:
            made[count] = make_speech(folder / str(count), count, parts=folder / "sentences")
        return made[count]

    return speech


@pytest.fixture()
def broadcast(speeches: Callable[[int], Speech], tmp_path: Path) -> Iterator[Broadcast]:
    """``broadcast(count, color=…)``: a live HLS broadcast (not started) of the first ``count``
    sentences, as long as the test needs (most wait for its end); closed after the test."""
    made: list[LiveSource] = []

    def make(count: int = len(SENTENCES), color: str = "navy") -> LiveSource:
        source = LiveSource(speeches(count), tmp_path / f"source-{len(made)}", color=color)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()
