"""The fast tier's own guard (tests/unit/conftest.py): it is what lets `make test-fast` promise
that no service is needed, so it is checked like any other rule."""

from __future__ import annotations

import socket

import pytest

from tests.unit.conftest import SERVICE_FIXTURES, NetworkUsed


@pytest.mark.parametrize("name", SERVICE_FIXTURES)
def test_a_service_fixture_fails_the_unit_test_that_asks_for_it(request, name):
    """
    GIVEN a unit test WHEN it asks for a fixture that needs a real service
    THEN it fails at once, naming the fixture and where such a test belongs (it never waits for
      Redis or Meilisearch to time out)
    """
    with pytest.raises(pytest.fail.Exception, match=f"`{name}` belongs in tests/integration"):
        request.getfixturevalue(name)


@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6])
def test_a_network_connection_is_refused_before_it_is_attempted(family):
    """
    GIVEN a unit test WHEN it opens a TCP connection (to Redis's port, say)
    THEN it is refused with NetworkUsed before any packet leaves, so no running service can
      make such a test pass by accident
    """
    host = "127.0.0.1" if family == socket.AF_INET else "::1"
    with socket.socket(family, socket.SOCK_STREAM) as sock, pytest.raises(NetworkUsed):
        sock.connect((host, 6379))
    with socket.socket(family, socket.SOCK_STREAM) as sock, pytest.raises(NetworkUsed):
        sock.connect_ex((host, 6379))


def test_local_sockets_stay_allowed():
    """GIVEN a unit test WHEN it uses a socket pair (as asyncio does) THEN that works"""
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"ping")
        assert right.recv(4) == b"ping"
