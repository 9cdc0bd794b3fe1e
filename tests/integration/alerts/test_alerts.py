"""Email alerts against a real SMTP server (aiosmtpd), real Meilisearch and database: double
opt-in, one mail per new moment, never a second for the same moment, unsubscribe without login,
delivery after the mail server comes back, nothing about withdrawn recordings, daily digests."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from archive.db import session_scope
from archive.models import Alert, AlertDelivery, OutboxMessage, OutboxState, Recording
from search.meili.client import master_client
from search.meili.indexer import index_recording
from tests.conftest import clean_archive
from tests.support.corpus import Rec, seed
from tests.support.factory import make_recording, make_segments
from tests.support.smtp import parts
from workers.alerts import evaluate as alerts
from workers.alerts import outbox


@pytest.fixture()
def site(settings, smtp):
    from api.app import create_app

    clean_archive(settings)
    smtp.inbox.messages.clear()
    # The app queues each confirmation for a worker; these tests send with the outbox sweep
    # themselves, so the queue goes where no worker listens (the session's worker, started by
    # another module, would race them for the message).
    unheard = settings.model_copy(update={"broker_url": None})
    with TestClient(create_app(unheard)) as client:
        yield client


def railway(n: int, body: str = "senate", **extra) -> Rec:
    return Rec(
        f"Transport committee {n}",
        body,
        datetime(2026, 3, 1 + n).date(),
        [("en", f"Item {n} on the agenda."), ("en", "The railway funding was approved today.")],
        **extra,
    )


def link(text: str, kind: str) -> str:
    """The path of the first ``/alerts/<kind>/…`` link, or for "r" the first moment link."""
    pattern = r"https?://\S+/r/\d+\?t=\d+" if kind == "r" else rf"https?://\S+/{kind}/\S+"
    found = re.search(pattern, text)
    assert found, text
    parts_ = urlsplit(found.group(0))
    return parts_.path + (f"?{parts_.query}" if parts_.query else "")


def subscribe(
    site, smtp, settings, address: str, *, frequency: str = "immediate", lang: str = "en", **filters
) -> None:
    """Subscribe to "railway" through the form and confirm through the confirmation mail's link."""
    query = "railway"
    answer = site.post(
        "/alerts",
        params={"q": query, "lang": lang, **filters},
        data={"email": address, "frequency": frequency},
    )
    assert answer.status_code == 200, answer.text
    english = lang == "en"  # other languages' wording changes as the catalogs are translated
    assert "Check your inbox" in answer.text or not english
    outbox.flush_outbox(settings)
    [confirm] = smtp.inbox.wait_for(address, 1)
    text, html = parts(confirm)
    assert query in text and query in html
    page = site.post(link(text, "alerts/confirm"))
    assert page.status_code == 200 and ("Your alert is on" in page.text or not english)
    smtp.inbox.messages.remove(confirm)


def owed(settings) -> int:
    with session_scope(settings.db_url) as session:
        return session.scalar(select(func.count()).select_from(AlertDelivery))


def test_confirmed_alert_mails_each_new_moment_once(site, smtp, settings):
    """
    GIVEN an alert for "railway" in the Senate, subscribed and confirmed through the mail's link
    WHEN a Senate recording saying "railway" is indexed and evaluated, then evaluated and
      indexed again
    THEN exactly one multipart mail arrives, in English, whose deep link opens the recording at
      the moment; the second evaluation owes nothing and sends nothing
    """
    subscribe(site, smtp, settings, "ann@example.org", body="senate")
    [mazhilis, senate] = seed(settings, [railway(1, "mazhilis"), railway(2, "senate")])
    assert alerts.evaluate_batch(settings, mazhilis.id) == []  # filtered out by body
    queued = alerts.evaluate_batch(settings, senate.id)
    assert len(queued) == 1
    assert outbox.flush_outbox(settings) == 1
    [mail] = smtp.inbox.wait_for("ann@example.org", 1)
    assert mail["Subject"] == "1 new moment for “railway”"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = parts(mail)
    assert "Transport committee 2" in text and "Senate" in text
    assert "<mark>" not in html and "railway funding" in html
    deep = link(text, "r")
    # "railway" is the second word of the segment (the corpus times each word 0.5 s).
    assert deep == f"/r/{senate.id}?t={int(senate.segment_starts[1] + 0.5)}"
    opened = site.get(deep)
    assert opened.status_code == 200
    assert f'id="seg-{senate.id}-1" class="seg current"' in opened.text

    assert alerts.evaluate_batch(settings, senate.id) == []
    with session_scope(settings.db_url) as session:
        rec = session.get(Recording, senate.id)
        index_recording(master_client(settings), settings.meili_index, rec)
    assert alerts.evaluate_batch(settings, senate.id) == []
    assert outbox.flush_outbox(settings) == 0
    time.sleep(0.5)
    assert len(smtp.inbox.to("ann@example.org")) == 1
    assert owed(settings) == 1


def test_withdrawn_recordings_are_never_alerted(site, smtp, settings):
    """
    GIVEN a confirmed alert for "railway"
    WHEN an unpublished and a deleted recording saying it are evaluated, and a published one is
      withdrawn after it was matched but before its mail went out
    THEN no mail is sent: the first two owe nothing, the third message is dropped
    """
    subscribe(site, smtp, settings, "bob@example.org")
    hidden, deleted, later = seed(
        settings, [railway(1, published=False), railway(2, deleted=True), railway(3)]
    )
    assert alerts.evaluate_batch(settings, hidden.id) == []
    assert alerts.evaluate_batch(settings, deleted.id) == []
    [queued] = alerts.evaluate_batch(settings, later.id)
    with session_scope(settings.db_url) as session:
        session.get(Recording, later.id).published = False
    assert outbox.send_one(settings, queued) == OutboxState.dropped
    time.sleep(0.5)
    assert smtp.inbox.to("bob@example.org") == []


def test_mail_waits_while_the_smtp_server_is_down(site, smtp, settings):
    """
    GIVEN a confirmed alert and a matching new recording
    WHEN the SMTP server is down at send time and comes back later
    THEN the message stays pending with the error and a later retry time, and the outbox sweep
      delivers it (once) after the server returns
    """
    subscribe(site, smtp, settings, "cat@example.org")
    [rec] = seed(settings, [railway(1)])
    smtp.stop()
    try:
        [queued] = alerts.evaluate_batch(settings, rec.id)
        assert outbox.send_one(settings, queued) == OutboxState.pending
        assert outbox.flush_outbox(settings) == 0
    finally:
        smtp.start()
    with session_scope(settings.db_url) as session:
        row = session.get(OutboxMessage, queued)
        assert row.attempts == 1 and row.last_error
        assert "Connection refused" in row.last_error or "Errno" in row.last_error
    deadline = time.monotonic() + 30
    while outbox.flush_outbox(settings) == 0 and time.monotonic() < deadline:
        time.sleep(0.3)
    [mail] = smtp.inbox.wait_for("cat@example.org", 1)
    assert "railway" in mail["Subject"]
    assert outbox.flush_outbox(settings) == 0
    with session_scope(settings.db_url) as session:
        assert session.get(OutboxMessage, queued).state == OutboxState.sent


def test_unsubscribe_needs_no_login(site, smtp, settings):
    """
    GIVEN a confirmed alert and its first alert mail
    WHEN the mail's unsubscribe link is opened (a page with one button) and the button pressed
    THEN the alert is stopped and later matches mail nothing; the link alone (GET, as mail
      scanners do) stops nothing, and the RFC 8058 header names the same URL
    """
    subscribe(site, smtp, settings, "dan@example.org")
    first, second = seed(settings, [railway(1), railway(2)])
    alerts.evaluate_batch(settings, first.id)
    outbox.flush_outbox(settings)
    [mail] = smtp.inbox.wait_for("dan@example.org", 1)
    text, _html = parts(mail)
    path = link(text, "alerts/unsubscribe")
    assert path in mail["List-Unsubscribe"]
    page = site.get(path)
    assert page.status_code == 200 and "<form" in page.text
    assert alerts.evaluate_batch(settings, second.id) != []  # a GET stopped nothing
    done = site.post(path)
    assert done.status_code == 200 and "Unsubscribed" in done.text
    third = seed_more(settings)
    assert alerts.evaluate_batch(settings, third) == []
    # The message queued before unsubscribing is not sent either.
    outbox.flush_outbox(settings)
    time.sleep(0.5)
    assert len(smtp.inbox.to("dan@example.org")) == 1
    assert site.get("/alerts/unsubscribe/not-a-token").status_code == 404


def seed_more(settings) -> int:
    """One more matching recording next to what is already there (seed() adds bodies)."""
    from archive.models import Body

    with session_scope(settings.db_url) as session:
        body = session.scalar(select(Body).where(Body.slug == "senate"))
        rec = make_recording(
            session,
            body,
            sha256="f" * 64,
            title="Later",
            recorded_on=date(2026, 4, 1),
            duration_s=5,
        )
        make_segments(session, rec, [(0, 2, "Railway again.")], words=None)
        session.refresh(rec)
        index_recording(master_client(settings), settings.meili_index, rec)
        return rec.id


def test_daily_digest_collects_the_day_in_the_subscriber_language(site, smtp, settings):
    """
    GIVEN a daily alert subscribed from the Russian UI
    WHEN two matching recordings are evaluated, and digests are made now and again an hour later
    THEN nothing is mailed at evaluation; the first digest is one mail holding both moments
      with the body's Russian name and Content-Language ru; the second digest sends nothing
    """
    subscribe(site, smtp, settings, "eve@example.org", frequency="daily", lang="ru")
    one, two = seed(settings, [railway(1), railway(2)])
    assert alerts.evaluate_batch(settings, one.id) == []
    assert alerts.evaluate_batch(settings, two.id) == []
    now = datetime.now(UTC)
    [digest] = alerts.queue_digests(settings, now)
    assert outbox.send_one(settings, digest) == OutboxState.sent
    assert alerts.queue_digests(settings, now + timedelta(hours=1)) == []
    [mail] = smtp.inbox.wait_for("eve@example.org", 1)
    assert mail["Content-Language"] == "ru"
    text, _html = parts(mail)
    assert "Transport committee 1" in text and "Transport committee 2" in text
    assert "Сенат" in text and "Senate" not in text
    assert text.count(f"/r/{one.id}?t=") == 1 and text.count(f"/r/{two.id}?t=") == 1


def test_subscribing_needs_an_address_and_words(site, settings):
    """GIVEN the form WHEN the address is not one, or there is no query THEN 400, nothing saved"""
    bad = site.post("/alerts", params={"q": "railway", "lang": "en"}, data={"email": "nope"})
    assert bad.status_code == 400 and "valid email" in bad.text
    empty = site.post("/alerts", params={"lang": "en"}, data={"email": "a@example.org"})
    assert empty.status_code == 400
    with session_scope(settings.db_url) as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    form = site.get("/alerts/new", params={"q": "railway", "body": "senate", "lang": "en"})
    assert form.status_code == 200
    assert 'action="/alerts?q=railway&amp;body=senate"' in form.text


def test_subscribers_of_the_same_search_each_get_their_mail(site, smtp, settings):
    """
    GIVEN two addresses subscribed to the same search, and one to it in another body
    WHEN a matching recording is evaluated (one search serves the two)
    THEN each of the two gets one mail; the third none
    """
    subscribe(site, smtp, settings, "fay@example.org")
    subscribe(site, smtp, settings, "gus@example.org")
    subscribe(site, smtp, settings, "hal@example.org", body="mazhilis")
    [rec] = seed(settings, [railway(1)])
    assert len(alerts.evaluate_batch(settings, rec.id)) == 2
    assert outbox.flush_outbox(settings) == 2
    for address in ("fay@example.org", "gus@example.org"):
        assert len(smtp.inbox.wait_for(address, 1)) == 1
    assert smtp.inbox.to("hal@example.org") == []


def sign_up(site, address: str, word: str) -> int:
    """Post the sign-up form for ``word``; the answer's status."""
    answer = site.post("/alerts", params={"q": word, "lang": "en"}, data={"email": address})
    return answer.status_code


def test_a_mailbox_gets_few_confirmations_however_its_address_is_written(site, smtp, settings):
    """
    GIVEN one mailbox
    WHEN it is subscribed to five searches within the hour, written each time with other letter
      case or another +tag
    THEN only the first three confirmation mails are queued, and only their three alerts saved,
      and the page answers the same for all five (no mail bomb, and nothing told about the
      mailbox); the subject never carries the query, which whoever subscribes chooses
    """
    written = [
        "ivy@example.org",
        "IVY@Example.org",
        "ivy+a@example.org",
        "Ivy+b@EXAMPLE.ORG",
        "ivy+c@example.org",
    ]
    spam = ("railway", "budget", "tax", "school", "CALL +7 700 000 0000 NOW")
    assert [sign_up(site, a, w) for a, w in zip(written, spam, strict=True)] == [200] * 5
    outbox.flush_outbox(settings)
    time.sleep(0.5)
    mails = [m for m in smtp.inbox.messages if m["To"].lower().startswith("ivy")]
    assert len(mails) == 3
    assert {m["Subject"] for m in mails} == {"Confirm your Ashyq alert"}
    with session_scope(settings.db_url) as session:
        boxes = session.scalars(select(OutboxMessage.recipient)).all()
        saved = session.scalars(select(Alert.query).order_by(Alert.id)).all()
    assert boxes == ["ivy@example.org"] * 3
    assert saved == ["railway", "budget", "tax"]


def test_one_client_and_all_clients_together_get_capped_sign_ups(site, smtp, settings):
    """
    GIVEN caps of 2 confirmations per client and 3 overall within the hour
    WHEN one client signs up three strangers, then two other clients one stranger each
    THEN the first client's third and the last client's sign-up are refused with 429 and save
      nothing: three confirmation mails in all
    """
    from api.app import create_app

    capped = settings.model_copy(
        update={
            "broker_url": None,
            "alert_confirmations_per_client": 2,
            "alert_confirmations_per_hour": 3,
        }
    )
    with TestClient(create_app(capped), client=("203.0.113.5", 1)) as one:
        assert [sign_up(one, f"v{n}@example.org", "railway") for n in range(3)] == [200, 200, 429]
        refused = one.post(
            "/alerts", params={"q": "railway", "lang": "en"}, data={"email": "v9@example.org"}
        )
        assert refused.status_code == 429 and "try again in an hour" in refused.text
    # One IPv6 host holds a whole /64: its addresses count as one client.
    with TestClient(create_app(capped), client=("2001:db8::1", 1)) as other:
        assert sign_up(other, "w1@example.org", "railway") == 200
    with TestClient(create_app(capped), client=("2001:db8::2", 1)) as same_net:
        assert sign_up(same_net, "w2@example.org", "railway") == 429
    with TestClient(create_app(capped), client=("198.51.100.7", 1)) as third:
        assert sign_up(third, "w3@example.org", "railway") == 429
    with session_scope(settings.db_url) as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 3
        emails = session.scalars(select(Alert.email).order_by(Alert.email)).all()
    assert emails == ["v0@example.org", "v1@example.org", "w1@example.org"]
    assert outbox.flush_outbox(settings) == 3


def test_opening_the_confirmation_link_does_not_confirm(site, smtp, settings):
    """
    GIVEN a confirmation mail
    WHEN its link is opened (as a mail scanner does), then the page's button is pressed
    THEN the GET shows a page with a POST button and leaves the alert unconfirmed; the POST
      confirms it
    """
    assert sign_up(site, "jo@example.org", "railway") == 200
    outbox.flush_outbox(settings)
    [mail] = smtp.inbox.wait_for("jo@example.org", 1)
    path = link(parts(mail)[0], "alerts/confirm")
    opened = site.get(path)
    assert opened.status_code == 200
    assert f'<form method="post" action="{path}">' in opened.text
    with session_scope(settings.db_url) as session:
        assert session.scalar(select(Alert.confirmed_at)) is None
    assert "Your alert is on" in site.post(path).text
    with session_scope(settings.db_url) as session:
        assert session.scalar(select(Alert.confirmed_at)) is not None
    assert "already on" in site.get(path).text


def test_the_manage_link_changes_or_stops_every_alert_of_the_address(site, smtp, settings):
    """
    GIVEN two confirmed alerts of one address, one of another, and a mail to the first address
    WHEN its "all your alerts" link is opened, one alert made daily and the other stopped
    THEN the page lists only that address's alerts; the changes hold; another address's alert
      cannot be touched with this link
    """
    subscribe(site, smtp, settings, "joy@example.org")
    subscribe(site, smtp, settings, "joy@example.org", body="senate")
    subscribe(site, smtp, settings, "kim@example.org")
    [rec] = seed(settings, [railway(1)])
    alerts.evaluate_batch(settings, rec.id)
    outbox.flush_outbox(settings)
    # Both of joy's alerts match the same moment: she hears of it once.
    [mail] = smtp.inbox.wait_for("joy@example.org", 1)
    text, html = parts(mail)
    manage = link(text, "alerts/manage")
    assert manage.split("/")[-1] in html
    page = site.get(manage)
    assert page.status_code == 200 and "joy@example.org" in page.text
    assert "kim@example.org" not in page.text
    with session_scope(settings.db_url) as session:
        from archive.models import Alert

        ids = {a.email + str(a.filters): a.id for a in session.scalars(select(Alert))}
    first, second = ids["joy@example.org{}"], ids["joy@example.org{'body': 'senate'}"]
    other = ids["kim@example.org{}"]
    moved = site.post(manage, data={"alert_id": first, "action": "daily"}, follow_redirects=False)
    assert moved.status_code == 303
    assert site.post(manage, data={"alert_id": second, "action": "stop"}).status_code == 200
    assert site.post(manage, data={"alert_id": other, "action": "stop"}).status_code == 404
    with session_scope(settings.db_url) as session:
        from archive.models import Alert

        assert session.get(Alert, first).frequency == "daily"
        assert session.get(Alert, second).unsubscribed_at is not None
        assert session.get(Alert, other).unsubscribed_at is None


def test_a_refused_address_is_kept_as_failed_and_can_be_retried(site, smtp, settings):
    """
    GIVEN a subscription for an address the mail server refuses for good (550)
    WHEN its confirmation is sent, `ashyq outbox` run, then `ashyq outbox --retry-failed`
    THEN the message is kept as failed with the server's answer (no endless retries), the CLI
      shows it, and the retry puts it back in line to be tried once more
    """
    from tests.support.helpers import ashyq

    answer = site.post(
        "/alerts", params={"q": "railway", "lang": "en"}, data={"email": "refused@example.org"}
    )
    assert answer.status_code == 200
    assert outbox.flush_outbox(settings) == 0
    with session_scope(settings.db_url) as session:
        [row] = session.scalars(select(OutboxMessage))
        assert row.state == OutboxState.failed and "550" in row.last_error

    def outbox_cli(*args: str) -> str:
        done = ashyq(settings, "outbox", *args, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    shown = outbox_cli()
    assert re.search(r"failed\s*│\s*1", shown) and "refused@example.org" in shown
    assert "1 message(s) put back in line" in outbox_cli("--retry-failed")
    assert outbox.flush_outbox(settings) == 0
    with session_scope(settings.db_url) as session:
        row = session.get(OutboxMessage, row.id)
        assert row.state == OutboxState.failed and row.attempts == 2


def test_a_batch_of_segments_is_evaluated_on_its_own(site, smtp, settings):
    """
    GIVEN a confirmed alert and a recording whose two segments both say "railway"
    WHEN its segments are evaluated as two batches (as live chunks would be), the second first
    THEN each batch mails only its own moment; evaluating the whole recording after owes nothing
    """
    subscribe(site, smtp, settings, "max@example.org")
    rec = Rec(
        "Rail chunks",
        "senate",
        datetime(2026, 6, 1).date(),
        [("en", "Railway news first."), ("en", "More railway news.")],
    )
    [rec] = seed(settings, [rec])
    assert len(alerts.evaluate_batch(settings, rec.id, segment_ids=[f"{rec.id}-1"])) == 1
    outbox.flush_outbox(settings)
    [first] = smtp.inbox.wait_for("max@example.org", 1)
    assert "More railway news." in parts(first)[0] and "Railway news first." not in parts(first)[0]
    assert len(alerts.evaluate_batch(settings, rec.id, segment_ids=[f"{rec.id}-0"])) == 1
    outbox.flush_outbox(settings)
    second = smtp.inbox.wait_for("max@example.org", 2)[1]
    assert "Railway news first." in parts(second)[0]
    assert alerts.evaluate_batch(settings, rec.id) == []


def test_publishing_a_withdrawn_recording_evaluates_alerts(site, smtp, settings, worker):
    """
    GIVEN a confirmed alert for "railway" and an unpublished recording saying it
    WHEN staff publish the recording (workers.services.publishing)
    THEN the worker evaluates the alerts against it: one moment is owed to the subscriber
    """
    from workers.services import publishing

    subscribe(site, smtp, settings, "cat@example.org")
    [hidden] = seed(settings, [railway(4, published=False)])
    assert owed(settings) == 0
    with session_scope(settings.db_url) as session:
        publishing.publish(settings, session, session.get(Recording, hidden.id))
    deadline = time.monotonic() + 60
    while owed(settings) == 0 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert owed(settings) == 1


def test_link_secrets_are_stored_only_as_digests_and_every_mailed_link_works(site, smtp, settings):
    """
    GIVEN a confirmed alert and then a mail of a new moment to its subscriber
    WHEN the database is read and the links of both mails are followed
    THEN no secret a mail carries is stored, only its SHA-256, each mail carrying its own; the
      first mail's link still works, the second mail's unsubscribes, a made-up one is a 404
    """
    import hashlib

    from archive.models import AlertLink

    assert sign_up(site, "ana@example.org", "railway") == 200
    outbox.flush_outbox(settings)
    [confirm] = smtp.inbox.wait_for("ana@example.org", 1)
    confirm_path = link(parts(confirm)[0], "alerts/confirm")
    assert "Your alert is on" in site.post(confirm_path).text
    smtp.inbox.messages.remove(confirm)
    [rec] = seed(settings, [railway(1)])
    assert len(alerts.evaluate_batch(settings, rec.id)) == 1
    assert outbox.flush_outbox(settings) == 1
    [moment] = smtp.inbox.wait_for("ana@example.org", 1)
    stop = link(parts(moment)[0], "alerts/unsubscribe")
    secrets_mailed = [confirm_path.rsplit("/", 1)[1], stop.rsplit("/", 1)[1]]
    assert secrets_mailed[0] != secrets_mailed[1]
    with session_scope(settings.db_url) as session:
        stored = set(session.scalars(select(AlertLink.token_hash)))
    assert stored == {hashlib.sha256(s.encode()).hexdigest() for s in secrets_mailed}
    assert "already on" in site.get(confirm_path).text
    assert site.get("/alerts/manage/" + "x" * 43).status_code == 404
    assert site.post(stop).status_code == 200
    with session_scope(settings.db_url) as session:
        assert session.scalar(select(Alert.unsubscribed_at)) is not None
