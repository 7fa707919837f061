"""A long commit shows its phase and counts on the import's GET, and ends even when the client
that asked for it is gone (real HTTP: uvicorn on a port, a raw socket for the client)."""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.service.conftest import LiveService, Org, batch
from tui.service import commit_progress
from tui.service.commit_progress import CommitProgress
from tui.wire import models as wire


def held_commit(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Batches of 3, and the first commit to write its first batch of invitations stops there
    (`reached`) until the test has looked (`release`)."""
    monkeypatch.setattr(commit_progress, "BATCH_ROWS", 3)
    reached, release = threading.Event(), threading.Event()
    advance = CommitProgress.advance

    def gated(self: CommitProgress, phase: wire.CommitPhase, done: int, total: int) -> None:
        advance(self, phase, done, total)
        if phase == "invitations" and done == 3 and not reached.is_set():
            reached.set()
            release.wait(30)

    monkeypatch.setattr(CommitProgress, "advance", gated)
    return reached, release


def uploaded(http: httpx.Client, org: Org, key: str) -> int:
    """An import of 10 learners into Leadership on the unlimited contract, uploaded, no email."""
    started = http.post(
        "/imports",
        headers={"Idempotency-Key": key},
        json={
            "program_id": org.programs["Leadership"],
            "contract_id": org.contracts["Unlimited"],
            "send_emails": False,
            "file_name": "learners.csv",
        },
    )
    import_id: int = started.json()["id"]
    assert http.put(f"/imports/{import_id}/chunks/0", json=batch(10)).status_code == 200
    return import_id


def test_the_import_shows_its_commit_phase_and_finishes_after_the_client_left(
    live_service: LiveService, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, org = live_service, live_service.acme
    reached, release = held_commit(monkeypatch)
    with httpx.Client(base_url=live.url + "/api/v1", headers=live.headers()) as http:
        import_id = uploaded(http, org, "progress")

        # The commit asked over a raw socket, which the client then closes without an answer.
        url = urlsplit(live.url)
        body = json.dumps({"rows": 10}).encode()
        client = socket.create_connection((url.hostname or "", url.port or 80))
        client.sendall(
            f"POST /api/v1/imports/{import_id}/commit HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: Bearer {org.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        assert reached.wait(30), "the commit never wrote its first invitations"
        running = http.get(f"/imports/{import_id}").json()
        assert running["status"] == "open"
        assert running["progress"] == {"phase": "invitations", "done": 3, "total": 10}
        listed = http.get("/imports").json()["items"][0]
        assert listed["progress"] == {"phase": "invitations", "done": 3, "total": 10}
        client.close()
        release.set()

        deadline = time.monotonic() + 30
        while (status := http.get(f"/imports/{import_id}").json())["status"] == "open":
            assert time.monotonic() < deadline, "the commit did not end"
            time.sleep(0.05)
        assert status["status"] == "committed"
        assert status["invited"] == 10
        assert status["progress"] is None


def test_a_second_commit_of_a_running_import_waits_for_it_and_changes_nothing(
    live_service: LiveService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that gave up waiting and retried: its commit of the same import waits for the
    first and answers its outcome, never a second commit over it ("0 invited, 10 skipped")."""
    from sqlalchemy import create_engine, text

    live, org = live_service, live_service.acme
    reached, release = held_commit(monkeypatch)
    answers: list[httpx.Response] = []

    def commit(import_id: int) -> None:
        with httpx.Client(base_url=live.url + "/api/v1", headers=live.headers()) as other:
            answers.append(
                other.post(f"/imports/{import_id}/commit", json={"rows": 10}, timeout=60)
            )

    with httpx.Client(base_url=live.url + "/api/v1", headers=live.headers()) as http:
        import_id = uploaded(http, org, "twice")
        first = threading.Thread(target=commit, args=(import_id,))
        first.start()
        assert reached.wait(30), "the commit never wrote its first invitations"
        second = threading.Thread(target=commit, args=(import_id,))
        second.start()
        engine = live.sessions.kw["bind"]
        if engine.dialect.name == "postgresql":  # the retry is waiting on a lock, not done
            # A connection of its own (the service's pool is the service's), each query its own
            # transaction: pg_stat_activity is a snapshot taken once per transaction.
            watcher = create_engine(
                engine.url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
            )
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            deadline = time.monotonic() + 30
            with watcher.connect() as connection:
                while not connection.execute(text(waiting)).scalar():
                    assert time.monotonic() < deadline, f"the retry never waited: {answers}"
                    time.sleep(0.02)
            watcher.dispose()
        release.set()
        first.join(60)
        second.join(60)

        assert [answer.status_code for answer in answers] == [200, 200]
        assert [answer.json()["invited"] for answer in answers] == [10, 10]
        status = http.get(f"/imports/{import_id}").json()
        assert status["invited"] == 10
        assert not any(status["skipped"].values())
