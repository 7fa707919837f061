"""Mail after the admin logs out: `roster worker` sends the data directory's outbox, alongside
the app's own sender (each email once), and stops cleanly on SIGTERM; the invitation policy is
set with `roster admin set-invitation-policy`. Each command runs as its own process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.mailing import MailServer, Recorder, learners, outbox_states, queue_invitations
from tests.mailing import wait_until as wait_for
from tests.service.test_mail import RunningSender
from tests.test_operators import refused, run
from tui.service.db import open_database


def test_the_policy_command_answers_in_json_and_refuses_a_reminder_after_the_expiry(
    tmp_path: Path,
) -> None:
    def policy(*args: str) -> subprocess.CompletedProcess[str]:
        return run(
            "admin",
            "set-invitation-policy",
            "--org",
            "Acme",
            *args,
            "--format",
            "json",
            tmp_path=tmp_path,
        )

    assert run("admin", "create-org", "Acme", tmp_path=tmp_path).returncode == 0
    done = policy("--lifetime-days", "14", "--remind-after-days", "5")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "id": 1,
        "name": "Acme",
        "invitation_lifetime_days": 14,
        "remind_after_days": 5,
        "changed": True,
    }
    late = refused(policy("--lifetime-days", "5"))
    assert late["code"] == "invalid_input"
    assert "must come before the invitation expires" in late["message"]
    assert "--no-remind" in late["message"]
    assert refused(policy("--lifetime-days", "366", "--no-remind"))["code"] == "invalid_input"
    off = json.loads(policy("--lifetime-days", "5", "--no-remind").stdout)
    assert (off["invitation_lifetime_days"], off["remind_after_days"]) == (5, None)


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
