"""Who may do what: every route of the app against anonymous users, wrong roles, CSRF, tokens."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from api.app import create_app
from tests.support.factory import make_user
from tests.support.staff import LOGIN_CSRF, sign_in

# Everything the public may reach. Any other route must refuse an anonymous request: a new
# route that forgets its protection fails this test until it is protected or listed here.
PUBLIC = {
    ("GET", "/"),
    ("GET", "/search"),
    ("GET", "/search/help"),
    ("GET", "/r/{recording_id}"),
    ("GET", "/r/{recording_id}/captions.vtt"),
    ("GET", "/recordings"),
    ("GET", "/bodies"),
    ("GET", "/bodies/{slug}"),
    ("GET", "/years/{year}"),
    ("GET", "/r/{recording_id}/quote.json"),
    ("GET", "/r/{recording_id}/clip.json"),
    ("GET", "/r/{recording_id}/clip"),
    ("GET", "/r/{recording_id}/clip.{fmt}"),
    ("GET", "/r/{recording_id}/clip-status.json"),
    ("GET", "/r/{recording_id}/transcript.{fmt}"),
    ("POST", "/api/v1/verify"),
    ("GET", "/embed/{recording_id}"),
    ("GET", "/oembed"),
    ("GET", "/api/v1/recordings"),
    ("GET", "/api/v1/recordings/{recording_id}/transcript"),
    ("GET", "/api/v1/bodies"),
    ("GET", "/api/v1/speakers"),
    ("GET", "/api/v1/dumps/latest"),
    ("GET", "/api/v1/dumps/{name}/{filename}"),
    ("GET", "/feeds/recordings.atom"),
    ("GET", "/feeds/bodies/{slug}.atom"),
    ("GET", "/search.atom"),
    ("GET", "/live/{recording_id}/index.m3u8"),
    ("GET", "/live/{recording_id}/{run}/{name}"),
    ("GET", "/r/{recording_id}/live.json"),
    ("GET", "/alerts/new"),
    ("POST", "/alerts"),
    ("GET", "/alerts/confirm/{token}"),
    ("POST", "/alerts/confirm/{token}"),
    ("GET", "/alerts/unsubscribe/{token}"),
    ("POST", "/alerts/unsubscribe/{token}"),
    ("GET", "/alerts/manage/{token}"),
    ("POST", "/alerts/manage/{token}"),
    ("GET", "/media/{recording_id}/{which}"),
    ("HEAD", "/media/{recording_id}/{which}"),
    ("GET", "/api/v1/search"),
    ("GET", "/api/v1/recordings/{recording_id}"),
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("HEAD", "/openapi.json"),
    ("GET", "/docs"),
    ("HEAD", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("HEAD", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("HEAD", "/redoc"),
    ("GET", "/staff/login"),
    ("POST", "/staff/login"),
}
PARAMS = {
    "recording_id": "999999",
    "job_id": "999999",
    "user_id": "999999",
    "token_id": "999999",
    "revision_id": "999999",
    "idx": "0",
    "upload_id": "0" * 32,
    "which": "playable",
    "slug": "nobody",
    "year": "2026",
    "fmt": "mp4",
    "name": "nothing",
    "filename": "SHA256SUMS",
    "token": "0" * 32,
    "run": "0",
    "session_id": "999999",
    "alert_id": "999999",
}


def all_routes(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    routes = []
    for route in iter_route_contexts(app.routes):
        for method in sorted(route.methods or []):
            routes.append((method, route.path))
    return routes


def concrete(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda m: PARAMS[m.group(1)], path)


def is_admin_route(path: str) -> bool:
    return path.startswith("/staff/admin/")


@pytest.fixture()
def app(archive):  # type: ignore[no-untyped-def]
    return create_app(archive)


def test_every_route_denies_anonymous_users_and_wrong_roles(app, staff):
    """
    GIVEN every route of the app (enumerated, not listed by hand)
    WHEN each non-public one is called anonymously, with a wrong token, and with the editor's and
    admin's tokens
    THEN anonymous and wrong-token calls are refused (401, or 303 to the login form for pages),
    editors are refused the admin routes (403), and the right role is let through
    """
    routes = all_routes(app)
    protected = [(m, p) for m, p in routes if (m, p) not in PUBLIC]
    assert ("POST", "/staff/uploads") in protected and ("GET", "/staff/admin/audit") in protected
    assert len(protected) >= 40
    client = TestClient(app)
    for method, path in protected:
        url = concrete(path)
        anonymous = client.request(method, url, follow_redirects=False)
        if anonymous.status_code == 303:
            assert method == "GET" and anonymous.headers["location"].startswith("/staff/login")
        else:
            assert anonymous.status_code == 401, (method, path, anonymous.status_code)
        forged = client.request(
            method, url, headers={"Authorization": "Bearer ashyq_wrong"}, follow_redirects=False
        )
        assert forged.status_code in (401, 303), (method, path, forged.status_code)
        as_editor = client.request(
            method,
            url,
            headers={"Authorization": f"Bearer {staff.editor.token}"},
            follow_redirects=False,
        )
        as_admin = client.request(
            method,
            url,
            headers={"Authorization": f"Bearer {staff.admin.token}"},
            follow_redirects=False,
        )
        assert as_admin.status_code not in (401, 403), (method, path, as_admin.text)
        if is_admin_route(path):
            assert as_editor.status_code == 403, (method, path, as_editor.status_code)
        else:
            assert as_editor.status_code not in (401, 403), (method, path, as_editor.text)


def test_every_state_changing_route_refuses_a_session_without_its_csrf_token(app, staff):
    """
    GIVEN an admin signed in with a session cookie (so role checks pass)
    WHEN every non-public POST, PUT and DELETE route of the app is called without the token
    THEN each is refused with 403 and the CSRF message
    """
    client = TestClient(app)
    sign_in(client, staff.admin)
    unsafe = [
        (m, p) for m, p in all_routes(app) if (m, p) not in PUBLIC and m not in ("GET", "HEAD")
    ]
    assert len(unsafe) >= 25
    for method, path in unsafe:
        answer = client.request(method, concrete(path), data={"x": "1"}, follow_redirects=False)
        assert answer.status_code == 403, (method, path, answer.status_code)
        assert "security token" in answer.text, (method, path)


def test_state_changing_forms_need_the_sessions_csrf_token(app, staff):
    """
    GIVEN a signed-in editor (session cookie)
    WHEN a form is posted without the CSRF token, with another value, or with the right one
    THEN the first two are refused with 403 and change nothing; the third works
    """
    client = TestClient(app)
    csrf = sign_in(client, staff.editor)
    for data in ({"name": "x"}, {"name": "x", "csrf_token": "forged"}):
        refused = client.post("/staff/tokens", data=data)
        assert refused.status_code == 403
        assert "security token" in refused.text
    refused = client.post("/staff/logout", follow_redirects=False)
    assert refused.status_code == 403
    made = client.post("/staff/tokens", data={"name": "nightly", "csrf_token": csrf})
    assert made.status_code == 200 and 'id="new-token"' in made.text
    header = client.post(
        "/staff/uploads",
        json={"filename": "a.mp4", "size": 10, "title": "t", "body": "b", "date": "2026-01-01"},
    )
    assert header.status_code == 403


def test_login_form_refuses_a_post_without_its_own_token(app, staff):
    """GIVEN no login-form cookie WHEN credentials are posted THEN 403, no session cookie"""
    client = TestClient(app)
    answer = client.post(
        "/staff/login",
        data={"email": staff.editor.email, "password": staff.editor.password, "csrf_token": "x"},
        follow_redirects=False,
    )
    assert answer.status_code == 403 and "ashyq_session" not in answer.cookies


def test_session_cookie_flags_and_logout(app, staff):
    """
    GIVEN the site served over https
    WHEN an editor signs in
    THEN the cookie is HttpOnly, Secure and SameSite=Lax; staff pages are neither cached nor
    framed; signing out ends the session
    """
    client = TestClient(app, base_url="https://testserver")
    form = client.get("/staff/login")
    token = LOGIN_CSRF.search(form.text).group(1)
    answer = client.post(
        "/staff/login",
        data={"email": staff.editor.email, "password": staff.editor.password, "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "ashyq_session" in v
    )
    assert (
        "HttpOnly" in cookie
        and "Secure" in cookie
        and "SameSite=lax" in cookie.replace("SameSite=Lax", "SameSite=lax")
    )
    page = client.get("/staff/recordings")
    assert page.status_code == 200 and staff.editor.email in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text).group(1)
    client.post("/staff/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert client.get("/staff/recordings", follow_redirects=False).status_code == 303


def login_attempts(app, account, client: tuple[str, int]):
    """A function trying ``account``'s login with a password from ``client``: the status."""
    browser = TestClient(app, client=client)

    def attempt(password: str) -> int:
        token = LOGIN_CSRF.search(browser.get("/staff/login").text).group(1)
        return browser.post(
            "/staff/login",
            data={"email": account.email, "password": password, "csrf_token": token},
            follow_redirects=False,
        ).status_code

    return attempt


def test_failed_logins_lock_out_the_guesser_not_the_account(archive):
    """
    GIVEN a limit of 3 failures per (account, client) and a backstop of 6 per account
    WHEN a stranger tries 3 wrong passwords, then 10 more, for an editor's account
    THEN the stranger's 4th attempt is refused with 429 even with the right password, and the
      13 attempts leave one login_throttled audit row, not ten; the editor, from their own
      address, still signs in
    """
    from archive import audit
    from archive.db import session_scope

    limits = {"login_max_failures": 3, "login_max_failures_per_account": 6}
    app = create_app(archive.model_copy(update=limits))
    account = make_user(archive, "editor")
    stranger = login_attempts(app, account, ("192.0.2.66", 1))
    assert [stranger("wrong password") for _ in range(3)] == [401, 401, 401]
    assert stranger(account.password) == 429
    assert {stranger("wrong password") for _ in range(10)} == {429}
    with session_scope(archive.db_url) as session:
        throttled = audit.entries(session, action="login_throttled", user_email=account.email)
    assert [(e.ip, e.user_email) for e in throttled] == [("192.0.2.66", account.email)]
    editor = login_attempts(app, account, ("198.51.100.20", 1))
    assert editor(account.password) == 303


def test_guessing_one_account_from_many_clients_meets_the_backstop(archive):
    """
    GIVEN a limit of 3 failures per (account, client) and a backstop of 6 per account
    WHEN three clients try 2 wrong passwords each, and a fourth then tries the right one
    THEN every guess is answered 401 and the fourth client is refused with 429
    """
    limits = {"login_max_failures": 3, "login_max_failures_per_account": 6}
    app = create_app(archive.model_copy(update=limits))
    account = make_user(archive, "editor")
    guesses = [
        login_attempts(app, account, (f"192.0.2.{n}", 1))("wrong password")
        for n in (1, 1, 2, 2, 3, 3)
    ]
    assert guesses == [401] * 6
    assert login_attempts(app, account, ("192.0.2.4", 1))(account.password) == 429


def test_personal_tokens_are_shown_once_stored_hashed_and_revocable(app, archive, staff):
    """
    GIVEN an editor who makes a token on the tokens page
    WHEN it is used as a bearer token, then revoked
    THEN it opens the staff API until revoked; the page never shows it again; the database
    holds only its hash
    """
    from sqlalchemy import select

    from archive.access.accounts import digest
    from archive.db import session_scope
    from archive.models import ApiToken

    client = TestClient(app)
    csrf = sign_in(client, staff.editor)
    made = client.post("/staff/tokens", data={"name": "import", "csrf_token": csrf})
    secret = re.search(r'<code id="new-token">([^<]+)</code>', made.text).group(1)
    assert secret not in client.get("/staff/tokens").text
    with session_scope(archive.db_url) as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
        assert row is not None and secret not in (row.token_hash, row.prefix)
        token_id = row.id
    api = TestClient(app)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/sources", headers=bearer).status_code == 200
    revoked = client.post(f"/staff/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 200
    assert api.get("/api/v1/sources", headers=bearer).status_code == 401
