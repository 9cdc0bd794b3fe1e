"""Rate limits on every costly public path, the verify upload cap, /healthz details, security
headers, API token expiry and revocation, and absurd range numbers (the "Hardening" issue,
items 7, 8, 9 and 11)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.guards.ratelimit import KeyCache, RateLimitMiddleware
from api.guards.security_headers import secure_headers
from archive.access import accounts
from archive.access.accounts import digest
from archive.db import session_scope
from archive.models import ApiToken, User
from archive.text.ranges import RangeError, parse_time
from tests.support.factory import indexed_recording, make_user, tone

TEMPLATES = Path(__file__).resolve().parents[3] / "web" / "templates"
HUGE = "1" * 5000


def _limiter(app) -> RateLimitMiddleware:  # type: ignore[no-untyped-def]
    layer = app.middleware_stack
    while not isinstance(layer, RateLimitMiddleware):
        layer = layer.app
    return layer


def test_pages_media_oembed_and_login_count_against_the_limit_and_unknown_keys_too(settings):
    """
    GIVEN an app limited to 6 requests a minute per address
    WHEN one address asks for the HTML search, a recording page, a media file, oEmbed and the
      login form, then sends unknown API keys (one of them twice, then ten new ones)
    THEN each of those answers counts down the same allowance, the help page and the static
      files do not; an unknown key is counted too (then refused with 429, not 401); a key asked
      about again costs no second database lookup, and new keys no more lookups than the
      address's limit; the key cache keeps at most its size
    """
    limited = settings.model_copy(update={"rate_limit_per_minute": 6})
    with TestClient(create_app(limited)) as client:
        paths = ["/search?q=budget", "/r/999999", "/media/999999/original", "/oembed?url=x"]
        answers = [client.get(p) for p in [*paths, "/staff/login"]]
        remaining = [a.headers.get("x-ratelimit-remaining") for a in answers]
        assert remaining == ["5", "4", "3", "2", "1"]
        assert "x-ratelimit-remaining" not in client.get("/search/help").headers
        assert client.get("/static/style.css").status_code == 200
        made_up = "ashyq_" + uuid.uuid4().hex
        first = client.get("/api/v1/bodies", headers={"X-API-Key": made_up})
        assert first.status_code == 401 and first.json()["error"] == "invalid_api_key"
        limiter = _limiter(client.app)
        lookups = limiter.key_lookups
        again = client.get("/api/v1/bodies", headers={"X-API-Key": made_up})
        assert again.status_code == 429 and again.json()["error"] == "rate_limited"
        assert limiter.key_lookups == lookups  # answered from the cache, and counted
        others = [
            client.get("/api/v1/bodies", headers={"X-API-Key": f"ashyq_{uuid.uuid4().hex}"})
            for _ in range(10)
        ]
        assert {a.status_code for a in others} == {429}
        assert limiter.key_lookups == 6  # lookups per address are limited like requests
        assert client.get("/r/999999").status_code == 429
    cache = KeyCache(size=3)
    for n in range(5):
        cache.put(f"digest{n}", None)
    assert len(cache) == 3 and cache.get("digest0") == (False, None)
    assert cache.get("digest4") == (True, None)


def _multipart(payload: bytes, boundary: str = "ashyqboundary") -> tuple[bytes, dict[str, str]]:
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="c.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + payload
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, {"content-type": f"multipart/form-data; boundary={boundary}"}


def test_verify_refuses_uploads_over_the_cap_with_and_without_a_length(settings):
    """
    GIVEN verify capped at 4000 bytes
    WHEN a 1000-byte file, a 5000-byte file, and a 5000-byte body sent in chunks without a length
      are posted
    THEN the small one is checked (200, not verified); both big ones get 413 with a JSON code
    """
    capped = settings.model_copy(update={"verify_max_bytes": 4000})
    with TestClient(create_app(capped)) as client:
        small = client.post("/api/v1/verify", files={"file": ("c.mp4", b"x" * 1000)})
        assert small.status_code == 200 and small.json()["verified"] is False
        big = client.post("/api/v1/verify", files={"file": ("c.mp4", b"x" * 5000)})
        assert big.status_code == 413 and big.json()["error"] == "too_large"
        body, headers = _multipart(b"y" * 5000)
        chunks = (body[i : i + 512] for i in range(0, len(body), 512))
        chunked = client.post("/api/v1/verify", content=chunks, headers=headers)
        assert chunked.status_code == 413 and chunked.json()["error"] == "too_large"


def test_healthz_gives_details_only_to_staff_and_this_machine(settings, staff):
    """
    GIVEN the archive's services running
    WHEN /healthz is asked by a remote client, by the loopback, by the loopback relaying for a
      proxy (X-Forwarded-For), and by a remote staff member with a token
    THEN the remote client and the proxied one get only {"status": "ok"}; the loopback and staff
      get each component's details and the watched sources
    """
    app = create_app(settings)
    with TestClient(app, client=("203.0.113.7", 5000)) as remote:
        assert remote.get("/healthz").json() == {"status": "ok"}
        bearer = {"Authorization": f"Bearer {staff.editor.token}"}
        detailed = remote.get("/healthz", headers=bearer).json()
        assert detailed["database"]["ok"] and "sources" in detailed
    with TestClient(app, client=("127.0.0.1", 5000)) as local:
        assert local.get("/healthz").json()["broker"]["backend"] == "redis"
        proxied = local.get("/healthz", headers={"X-Forwarded-For": "203.0.113.7"})
        assert proxied.json() == {"status": "ok"}


def test_pages_get_a_script_policy_referrer_policy_and_hsts_over_https(settings):
    """
    GIVEN the app, and the templates on disk
    WHEN a page is fetched over http and over https
    THEN the page has CSP script-src 'self' (with frame-ancestors 'none') and
      Referrer-Policy same-origin, HSTS only over https; a response with its own policy (media's
      sandbox) keeps it; no template holds an inline script or an inline event handler
    """
    with TestClient(create_app(settings)) as client:
        page = client.get("/recordings")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in page.headers
    with TestClient(create_app(settings), base_url="https://testserver") as secure:
        assert secure.get("/recordings").headers["strict-transport-security"].startswith("max-")
    sandbox = [(b"content-type", b"text/html"), (b"content-security-policy", b"sandbox")]
    kept = dict(secure_headers(sandbox, https=False))
    assert kept[b"content-security-policy"] == b"sandbox"
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=", re.IGNORECASE)
    for template in TEMPLATES.rglob("*.html"):
        assert not inline.search(template.read_text()), template


def test_a_start_or_end_of_thousands_of_digits_is_a_400(settings, tmp_path):
    """
    GIVEN a published recording
    WHEN its clip record and quote are asked for with a start or end thousands of digits long
      (plain, and as the hours of a clock time)
    THEN each clip answer is 400 with a message; the quote, which ignores a bad t, answers 200
    """
    rec = indexed_recording(settings, ["hello"], media=tone(tmp_path))
    for bad in (HUGE, f"{HUGE}:00:00", f"1:{HUGE}:00"):
        try:
            parse_time(bad)
        except RangeError:
            pass
        else:
            raise AssertionError(f"{bad[:10]}… parsed")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        for query in (
            {"start": f"{HUGE}:00:00", "end": "1"},
            {"start": "0", "end": HUGE},
            {"start": "0", "end": f"{HUGE}:00:00"},
        ):
            answer = client.get(f"/r/{rec}/clip.json", params=query)
            assert answer.status_code == 400, answer.text[:200]
            assert answer.json()["error"] == "invalid_parameter"
        quote = client.get(f"/r/{rec}/quote.json", params={"t": f"{HUGE}:00:00"})
        assert quote.status_code == 200 and quote.json()["start"] == 0, quote.text[:200]


def test_api_tokens_can_expire_and_a_new_password_revokes_them(settings):
    """
    GIVEN an editor with a personal token
    WHEN they make a second token that expires after 30 days, the second one's time passes,
      and later their password is changed
    THEN the new token carries its expiry and works until then, and is refused after; the
      password change revokes the first token too
    """
    account = make_user(settings, "editor")
    bearer = {"Authorization": f"Bearer {account.token}"}
    with TestClient(create_app(settings), follow_redirects=False) as client:
        made = client.post("/staff/tokens", data={"name": "nightly", "days": "30"}, headers=bearer)
        assert made.status_code == 200
        secret = re.search(r'<code id="new-token">([^<]+)</code>', made.text).group(1)
        fresh = {"Authorization": f"Bearer {secret}"}
        assert client.get("/staff/tokens", headers=fresh).status_code == 200
        with session_scope(settings.db_url) as session:
            row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
            left = row.expires_at - datetime.now(UTC)  # the column reads back aware (UTCDateTime)
            assert timedelta(days=29, hours=23) < left <= timedelta(days=30)
            row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        assert client.get("/staff/tokens", headers=fresh).status_code == 303  # to the login form
        assert client.get("/staff/tokens", headers=bearer).status_code == 200
        with session_scope(settings.db_url) as session:
            user = session.scalar(select(User).where(User.email == account.email))
            accounts.set_password(user, "a brand new password")
        assert client.get("/staff/tokens", headers=bearer).status_code == 303
