"""Keep the fast tier fast and honest: a unit test may neither use a service fixture nor open a
network connection, so `make test-fast` passes with Meilisearch, Redis, Whisper and Chromium
all absent, and a test that quietly starts needing one fails here instead of being slow there.

Service fixtures are overridden with ones that fail at once, naming the fixture; fixtures of
tests/conftest.py that depend on them (``archive`` on ``settings``) resolve to these overrides
too. Every TCP/UDP connect is refused for the duration of a test; Unix sockets stay allowed.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

SERVICE_FIXTURES = (
    "meili",
    "redis_url",
    "database_url",
    "model_dir",
    "settings",
    "archive",
    "worker",
    "web",
    "browser",
    "smtp",
    "staff",
    "staff_token",
)
WHERE = "tests/integration (or tests/browser)"


def _refusing(name: str) -> Callable[[], None]:
    def fixture() -> None:
        pytest.fail(f"the fast tier uses no services: `{name}` belongs in {WHERE}", pytrace=False)

    fixture.__name__ = name
    fixture.__doc__ = f"Refuses: unit tests may not use the `{name}` service fixture."
    return pytest.fixture(name=name)(fixture)


for _name in SERVICE_FIXTURES:
    globals()[_name] = _refusing(_name)


class NetworkUsed(AssertionError):
    """A unit test tried to reach another process over the network."""


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse every internet-family connect (Redis, Meilisearch, HTTP, SMTP) during a test."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise NetworkUsed(f"the fast tier opens no connections (tried {address!r}): {WHERE}")

    def connect(sock: socket.socket, address: object) -> None:
        check(sock, address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: object) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
