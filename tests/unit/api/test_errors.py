"""The API's one error table: each domain error becomes its status, as JSON for machine paths and
as the error page for people, with the error's own message."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from api.errors import REFUSALS
from archive.alerts import InvalidAlert, TooManySignUps
from archive.settings import Settings
from archive.text.ranges import RangeError
from search import QueryError, SearchUnavailable
from workers.services.editing import EditRefused
from workers.services.publishing import NotAllowed
from workers.services.submit import InvalidRequest
from workers.services.uploads import OffsetMismatch, UploadRefused, UploadTooLarge

CASES = [
    (QueryError("add at least one word"), 400, "invalid_parameter", "add at least one word"),
    (RangeError("not a time: 'x'"), 400, "invalid_parameter", "not a time: 'x'"),
    (InvalidRequest("unknown body"), 400, "invalid_parameter", "unknown body"),
    (InvalidAlert("not an address"), 400, "invalid_parameter", "not an address"),
    (TooManySignUps("slow down"), 400, "invalid_parameter", "slow down"),
    (EditRefused("the segment changed"), 409, "http_error", "the segment changed"),
    (NotAllowed("delete it first"), 409, "http_error", "delete it first"),
    (UploadTooLarge("a.mp4: 9 bytes, over the maximum of 8"), 413, "too_large", None),
    (OffsetMismatch("offset 3 does not match the 5 bytes received"), 409, "http_error", None),
    (OffsetMismatch("another chunk is being written"), 409, "http_error", None),
    # The kind decides, never the words: a file named "offset…" over the maximum is not a 409.
    (UploadRefused("offset.mp4: the file is empty (0 bytes)"), 400, "invalid_parameter", None),
    (UploadTooLarge("offset 9.mp4 is over the maximum"), 413, "too_large", None),
    (SearchUnavailable("connection refused"), 503, "unavailable", "search is unavailable"),
]


def _raising(error: Exception):  # type: ignore[no-untyped-def]
    def fail() -> None:
        raise error

    return fail


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from api.app import create_app

    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("archive")))
    for number, (error, *_rest) in enumerate(CASES):
        app.add_api_route(f"/errors/{number}.json", _raising(error))
        app.add_api_route(f"/errors/{number}", _raising(error))
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(("number", "case"), list(enumerate(CASES)))
def test_a_domain_error_is_answered_as_json_with_its_status_and_code(client, number, case):
    """GIVEN a route that lets a service's refusal rise WHEN a client asks a .json path THEN
    the table's status, the code of that status and the message (or the table's)"""
    error, status, code, detail = case
    answer = client.get(f"/errors/{number}.json")
    assert answer.status_code == status
    assert answer.json() == {"error": code, "detail": detail or str(error)}


@pytest.mark.parametrize(("number", "case"), list(enumerate(CASES)))
def test_a_domain_error_is_answered_as_the_error_page_for_people(client, number, case):
    """GIVEN the same refusal WHEN a browser asks a page THEN the error page, same status"""
    error, status, _code, detail = case
    answer = client.get(f"/errors/{number}", headers={"accept": "text/html"})
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert "<h1>Error</h1>" in answer.text
    assert str(escape(detail or str(error))) in answer.text


def test_every_domain_error_of_the_table_is_tested():
    assert {type(case[0]) for case in CASES} >= set(REFUSALS)


def test_an_unexpected_error_stays_a_500(tmp_path):
    """GIVEN an error nobody mapped WHEN it rises THEN it is not disguised as a refusal"""
    from api.app import create_app

    app = create_app(Settings(data_dir=tmp_path))

    def boom() -> None:
        raise ValueError("a bug")

    app.add_api_route("/boom.json", boom)
    assert TestClient(app, raise_server_exceptions=False).get("/boom.json").status_code == 500
