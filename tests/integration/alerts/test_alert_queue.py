"""Alerts have a queue of their own (``ashyq.alerts``), served in ``ashyq up`` by a one-slot
worker of its own: an evaluation and its mail never wait behind the main worker's jobs, which may
hold every slot for a whole transcription or broadcast."""

from __future__ import annotations

import subprocess
import time

from fastapi.testclient import TestClient

from archive.db import session_scope
from archive.models import Recording
from archive.settings import env_for_children
from tests.conftest import REPO, clean_archive, stop_group, worker_argv
from tests.integration.alerts.test_alerts import railway, subscribe
from tests.support.corpus import seed
from tests.support.smtp import parts
from workers.celery_app import ALERT_QUEUE


def test_an_alert_is_mailed_by_the_alerts_worker_while_no_main_worker_is_free(
    settings, smtp, tmp_path
):
    """
    GIVEN a confirmed alert for "railway", an embedded broker of this test's own, and a worker
      that serves only the alerts queue (as `ashyq up` runs it), no worker on the main queue (its
      slots all busy)
    WHEN staff publish a recording saying "railway" (indexing queues the evaluation)
    THEN the evaluation is routed to the alerts queue and the moment is mailed within a minute
    """
    from api.app import create_app
    from workers.services import publishing

    clean_archive(settings)
    smtp.inbox.messages.clear()
    own = settings.model_copy(update={"broker_url": None, "data_dir": tmp_path})
    with TestClient(create_app(own)) as site:
        subscribe(site, smtp, own, "dana@example.org")
    [hidden] = seed(own, [railway(5, published=False)])
    log = tmp_path / "alerts-worker.log"
    argv = worker_argv(ALERT_QUEUE, concurrency=1, name="alerts")
    env = env_for_children(own)
    proc = subprocess.Popen(
        argv,
        env=env,
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while b" ready." not in log.read_bytes():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        with session_scope(own.db_url) as session:
            publishing.publish(own, session, session.get(Recording, hidden.id))
        [mail] = smtp.inbox.wait_for("dana@example.org", 1, timeout=60)
    finally:
        stop_group(proc)
    text, _html = parts(mail)
    assert "railway" in mail["Subject"] and f"/r/{hidden.id}?t=" in text
    assert "ashyq.evaluate_alerts" in log.read_text() and "ashyq.send_mail" in log.read_text()
