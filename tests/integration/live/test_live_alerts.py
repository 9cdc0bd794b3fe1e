"""Live captures alert subscribers: the words of a live chunk, once searchable, reach the mailbox of
whoever saved a search for them — through the real web app (sign-up, confirmation), a real HLS
broadcast, a Celery worker with beat (Redis), Whisper, Meilisearch and an aiosmtpd server.

Its own module: the worker must send mail to the test SMTP server, and no other module's worker
may take the capture or the evaluation.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from archive.db import session_scope
from archive.models import LiveState
from archive.settings import Settings
from tests.support.factory import make_body, make_recording, make_segments
from tests.support.live_env import LiveEnv, module_live_env
from tests.support.live_source import Broadcast
from tests.support.smtp import parts
from workers import indexing
from workers.celery_app import EVALUATE_ALERTS
from workers.services.live_control import stop_live

pytestmark = pytest.mark.whisper

WORD = "hospital"  # said in the broadcast's third sentence


live_env = module_live_env("live-alerts", broker_db=2, live_give_up_s=30.0)


def link(text: str, marker: str) -> str:
    return next(word for word in text.split() if marker in word)


def confirmed_alert(env: LiveEnv, smtp, address: str, query: str) -> None:  # type: ignore[no-untyped-def]
    """Sign up for an immediate alert on the public page and confirm it from the mail."""
    answer = env.client.post(
        "/alerts",
        params={"q": query, "lang": "en"},
        data={"email": address, "frequency": "immediate"},
    )
    assert answer.status_code == 200 and "Check your inbox" in answer.text, answer.text
    [confirmation] = smtp.inbox.wait_for(address, 1, timeout=60)
    confirm = urlsplit(link(parts(confirmation)[0], "/alerts/confirm/")).path
    assert "Your alert is on" in env.client.post(confirm, headers={"Accept-Language": "en"}).text


def test_a_live_chunk_alerts_a_subscriber_within_a_minute_of_its_words_being_searchable(
    live_env: LiveEnv, broadcast: Broadcast, smtp
):  # type: ignore[no-untyped-def]
    """
    GIVEN a confirmed immediate alert for "hospital"
    WHEN a live broadcast that says "hospital" is captured
    THEN a mail with those words and a link to the moment reaches the subscriber within a minute
      of the words becoming searchable, while the broadcast is still live;
    WHEN the capture is stopped and finalized (the whole recording indexed again)
    THEN the subscriber gets no second mail for the same moment
    """
    env, address = live_env, "live-watcher@example.org"
    smtp.inbox.messages.clear()
    confirmed_alert(env, smtp, address, WORD)

    source = broadcast(color="teal")  # 84 s: the capture is stopped long before its end
    session_id = env.capture(source, body="mazhilis", title="Water committee", chunk_s=5)
    live = env.wait_live(session_id, lambda s: s.recording_id, 60, "no recording was created")
    recording_id = live.recording_id
    env.wait_searchable(WORD, recording_id, timeout=240)
    searchable = time.monotonic()
    [_confirmation, alert] = smtp.inbox.wait_for(address, 2, timeout=60)
    took = time.monotonic() - searchable
    print(f"the alert arrived {took:.1f} s after {WORD!r} became searchable")
    assert env.recording(live).status == "live", "the capture was already finalized"
    assert WORD in alert["Subject"].lower()
    text, html = parts(alert)
    assert WORD in text.lower() and "Water committee" in text and "Water committee" in html
    moment = link(text, f"/r/{recording_id}?t=")
    at = int(moment.rsplit("=", 1)[1])
    assert abs(at - source.speech.word_at[WORD]) <= 3, (at, source.speech.word_at)

    stop_live(env.settings, session_id)
    env.wait_live(session_id, lambda s: s.state == LiveState.ended, 600, "not finalized")
    time.sleep(8)  # the evaluation queued by the final re-index, and the outbox sweep (30 s beat)
    assert len(smtp.inbox.to(address)) == 2, [m["Subject"] for m in smtp.inbox.to(address)]


def queued_evaluations(settings: Settings) -> list[list]:
    """The arguments of every evaluation task waiting in a filesystem broker's queue."""
    found = []
    for path in sorted((settings.broker_dir / "queue").glob("*.msg")):
        message = json.loads(path.read_text())
        if message["headers"]["task"] == EVALUATE_ALERTS:
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            found.append(args)
    return found


def test_indexing_a_live_chunk_queues_its_evaluation_only_while_the_recording_is_public(
    archive: Settings, tmp_path: Path
):
    """
    GIVEN a live recording with a new chunk's segments, and a broker no worker reads
    WHEN they are indexed while staff have withdrawn the recording THEN nothing is searchable and
      no evaluation is queued (nobody is told of what the public cannot see);
    WHEN they are indexed once it is published THEN exactly one evaluation is queued, for those
      segments alone
    """
    settings = archive.model_copy(update={"broker_url": None, "data_dir": tmp_path})
    with session_scope(settings.db_url) as session:
        body = make_body(session, "senat")
        recording = make_recording(session, body, status="live", published=False)
        spans = [(i, i + 1, f"the reservoir level {i}") for i in range(2)]
        rows = make_segments(session, recording, spans)
        assert indexing.index_segments(settings, session, recording, rows) == 0
        assert queued_evaluations(settings) == []
        recording.published = True
        assert indexing.index_segments(settings, session, recording, rows[1:]) == 1
        assert queued_evaluations(settings) == [[recording.id, [f"{recording.id}-1"]]]
