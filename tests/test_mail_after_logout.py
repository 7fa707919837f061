"""Mail after the admin logs out: `roster worker` sends the data directory's outbox, alongside
the app's own sender (each email once), and stops cleanly on SIGTERM, as its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.mailing import MailServer, Recorder, learners, outbox_states, queue_invitations
from tests.mailing import wait_until as wait_for
from tests.service.test_mail import RunningSender
from tui.service.db import open_database


def test_roster_worker_sends_the_data_directory_s_mail_alongside_the_app_each_email_once(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    sessions = open_database(f"sqlite:///{data / 'roster.db'}")
    server = MailServer(Recorder(delay=0.02)).start()
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "tui", "worker", "--mail-url", server.url],
        env={**os.environ, "ROSTER_DATA_DIR": str(data), "XDG_CONFIG_HOME": str(tmp_path)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    app_sender: RunningSender | None = None
    try:
        queue_invitations(sessions, learners(3))
        wait_for(lambda: outbox_states(sessions) == {"sent": 3}, what="the worker's emails")
        # The app's sender joins: one email at a time, so the worker takes its share.
        app_sender = RunningSender(sessions, server.url, concurrency=1, poll_interval=0.05)
        queue_invitations(sessions, learners(60, "example.net"))
        wait_for(lambda: outbox_states(sessions) == {"sent": 63}, what="every email")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    finally:
        if app_sender is not None:
            app_sender.stop()
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        log.close()
        server.stop()
        sessions.kw["bind"].dispose()
    assert Counter(server.handler.message_ids().values()) == {1: 63}
    assert "Roster mail worker stopped." in (tmp_path / "worker.log").read_text()
