"""Fixtures the integration rooms share. (Service fixtures live in tests/conftest.py.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from archive.settings import Settings
from tests.support.corpus import corpus_site


@pytest.fixture(scope="module")
def site(settings: Settings) -> Iterator[TestClient]:
    """The app on the sample archive (tests/support/corpus.py), seeded once per module and
    emptied after it. A module that needs another site defines its own ``site``."""
    with corpus_site(settings) as client:
        yield client
