"""Storage faults are named for what they are, and nothing they leave behind grows: a full
database answers disk_full (never database_busy) and drops the import with its chunks, an import
whose client died is abandoned after an hour, and the outbox sender pauses on a full disk, says
so, and resumes by itself."""

from __future__ import annotations

import asyncio
import errno
import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tests.mailing import email_statuses, learners, queue_invitations, wait_until
from tests.service.conftest import SECRET, Service, batch, count, make_org, start
from tui.service.app import create_app
from tui.service.db import (
    CLOCK,
    ImportChunk,
    Invitation,
    database_busy,
    make_engine,
    open_database,
    pin_clock,
    utcnow,
)
from tui.service.mail import OutboxSender, open_transport
from tui.service.mail.render import Rendered
from tui.service.storage import (
    DISK_FULL,
    FILE_TOO_LARGE,
    IO_ERROR,
    READ_ONLY,
    database_damaged,
    storage_fault,
)
from tui.wire.models import STORAGE_FAULT_CODES


def test_each_fault_is_its_own_and_none_is_a_busy_database(tmp_path: Path) -> None:
    path = tmp_path / "small.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x BLOB)").connection.commit()
    full = sqlite3.connect(path)
    full.execute("PRAGMA max_page_count = 3")
    with pytest.raises(sqlite3.OperationalError) as raised:
        full.execute("INSERT INTO t VALUES (zeroblob(100000))")
    wrapped = OperationalError("INSERT", {}, raised.value)
    assert str(raised.value) == "database or disk is full"
    assert (storage_fault(wrapped), database_busy(wrapped)) == (DISK_FULL, False)

    read_only = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as refused:
        read_only.execute("INSERT INTO t VALUES (1)")
    assert storage_fault(OperationalError("INSERT", {}, refused.value)) == READ_ONLY

    locked = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    assert (storage_fault(locked), database_busy(locked)) == (None, True)
    assert database_damaged(locked) is None
    assert storage_fault(OSError(errno.ENOSPC, "No space left on device")) == DISK_FULL
    assert storage_fault(OSError(errno.EROFS, "Read-only file system")) == READ_ONLY
    assert storage_fault(OSError(errno.EFBIG, "File too large")) == FILE_TOO_LARGE
    assert storage_fault(OSError(errno.EIO, "Input/output error")) == IO_ERROR
    assert {DISK_FULL.code, READ_ONLY.code, FILE_TOO_LARGE.code, IO_ERROR.code} == set(
        STORAGE_FAULT_CODES
    )


def raised_through_sqlalchemy(path: Path, statement: str) -> Exception:
    """What SQLAlchemy raises for `statement` on the database at `path`, as the service sees it."""
    engine = make_engine(f"sqlite:///{path}", lock_timeout=0.05)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(statement)
    except Exception as error:  # the error is what is under test
        return error
    finally:
        engine.dispose()
    raise AssertionError(f"{statement!r} raised nothing")


def test_a_damaged_database_is_neither_busy_nor_a_storage_fault(tmp_path: Path) -> None:
    """A malformed file, a file that is no database, a table or column missing: SQLite's words,
    and no retry helps. A lock held elsewhere stays busy; a statement SQLite cannot read stays
    Roster's own mistake."""
    path = tmp_path / "roster.db"
    with sqlite3.connect(path) as made:
        made.execute("CREATE TABLE learners (email TEXT)")
        made.executemany("INSERT INTO learners VALUES (?)", [("x" * 100,)] * 2000)
    malformed = tmp_path / "malformed.db"
    pages = bytearray(path.read_bytes())
    pages[8192 : 8192 + 64] = b"\xff" * 64  # the header of the table's second page
    malformed.write_bytes(bytes(pages))
    not_a_database = tmp_path / "notes.db"
    not_a_database.write_bytes(b"these are no pages of a database\n" * 200)
    for where, statement, said in (
        (path, "SELECT * FROM invitations", "no such table: invitations"),
        (path, "SELECT full_name FROM learners", "no such column: full_name"),
        (malformed, "SELECT * FROM learners", "database disk image is malformed"),
        (not_a_database, "SELECT * FROM learners", "file is not a database"),
    ):
        error = raised_through_sqlalchemy(where, statement)
        assert database_damaged(error) == said
        assert (storage_fault(error), database_busy(error)) == (None, False)

    assert database_damaged(raised_through_sqlalchemy(path, "SELEC 1")) is None
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        locked = raised_through_sqlalchemy(path, "INSERT INTO learners VALUES ('y')")
    finally:
        holder.execute("ROLLBACK")
    assert str(locked.__cause__) == "database is locked"
    assert (database_damaged(locked), database_busy(locked)) == (None, True)


@pytest.fixture
def small_service(tmp_path: Path) -> Iterator[Service]:
    """The API over a SQLite database that may grow by only a few hundred kilobytes more."""
    sessions = open_database(f"sqlite:///{tmp_path / 'roster.db'}")
    acme, globex = make_org(sessions, "Acme"), make_org(sessions, "Globex")
    engine = sessions.kw["bind"]
    engine.dispose()
    with sqlite3.connect(tmp_path / "roster.db") as connection:
        pages = connection.execute("PRAGMA page_count").fetchone()[0]

    @event.listens_for(engine, "connect")
    def _limit(connection: Any, _record: Any) -> None:
        connection.execute(f"PRAGMA max_page_count = {pages + 60}")

    with TestClient(create_app(sessions, secret=SECRET)) as http:
        yield Service(sessions, acme, globex, http)
    engine.dispose()


def test_a_full_database_answers_disk_full_and_drops_the_import(small_service: Service) -> None:
    service, acme = small_service, small_service.acme
    import_id = start(service, acme, "big").json()["id"]
    answer = None
    for seq in range(40):  # chunks until the database is full
        answer = service.http.put(
            f"/api/v1/imports/{import_id}/chunks/{seq}",
            headers=service.as_(acme),
            json=batch(200, start=seq * 200),
        )
        if answer.status_code != 200:
            break
    assert answer is not None and answer.status_code == 507, answer and answer.text
    problem = answer.json()
    assert problem["code"] == "disk_full"
    assert "roster.db ran out of space" in problem["detail"]
    assert "The import was dropped" in problem["detail"]
    assert problem["path"].endswith("roster.db")
    status = service.http.get(f"/api/v1/imports/{import_id}", headers=service.as_(acme)).json()
    assert (status["status"], status["chunks"]) == ("abandoned", 0)
    assert count(service, ImportChunk) == 0
    commit = service.http.post(
        f"/api/v1/imports/{import_id}/commit", headers=service.as_(acme), json={"rows": 1}
    )
    assert (commit.status_code, commit.json()["code"]) == (409, "import_abandoned")


def test_a_client_gives_up_an_import_and_a_committed_one_stays(service: Service) -> None:
    acme = service.acme
    import_id = start(service, acme, "given-up").json()["id"]
    path = f"/api/v1/imports/{import_id}"
    service.http.put(f"{path}/chunks/0", headers=service.as_(acme), json=batch(5))
    given_up = service.http.delete(path, headers=service.as_(acme))
    assert (given_up.status_code, given_up.json()["status"]) == (200, "abandoned")
    assert count(service, ImportChunk) == 0
    assert service.http.delete(path, headers=service.as_(globex_of(service))).status_code == 404

    done = start(service, acme, "done").json()["id"]
    service.http.put(f"/api/v1/imports/{done}/chunks/0", headers=service.as_(acme), json=batch(3))
    service.http.post(f"/api/v1/imports/{done}/commit", headers=service.as_(acme), json={"rows": 3})
    kept = service.http.delete(f"/api/v1/imports/{done}", headers=service.as_(acme))
    assert (kept.status_code, kept.json()["code"]) == (409, "import_committed")


def globex_of(service: Service) -> Any:
    return service.globex


def test_an_import_idle_for_an_hour_is_abandoned_with_its_chunks(service: Service) -> None:
    acme = service.acme
    now = utcnow()
    try:
        pin_clock(now)
        killed = start(service, acme, "killed").json()["id"]
        service.http.put(
            f"/api/v1/imports/{killed}/chunks/0", headers=service.as_(acme), json=batch(5)
        )
        pin_clock(now + timedelta(minutes=40))
        slow = start(service, acme, "slow").json()["id"]
        service.http.put(
            f"/api/v1/imports/{slow}/chunks/0", headers=service.as_(acme), json=batch(5, 10)
        )
        pin_clock(now + timedelta(minutes=61))
        start(service, acme, "next")  # a new import abandons those idle for an hour
    finally:
        pin_clock(None)
    assert CLOCK.pinned is None
    states = {
        item["id"]: (item["status"], item["chunks"])
        for item in service.http.get("/api/v1/imports", headers=service.as_(acme)).json()["items"]
    }
    assert states[killed] == ("abandoned", 0)
    assert states[slow] == ("open", 1)


class FullDiskOutbox:
    """A file transport whose disk is full until `room` is set."""

    def __init__(self) -> None:
        self.room = threading.Event()
        self.sent: list[int] = []

    async def send(self, outbox_id: int, message: Rendered) -> None:
        if not self.room.is_set():
            raise OSError(errno.ENOSPC, "No space left on device", "/data/outbox/tmp/1")
        self.sent.append(outbox_id)

    async def close(self) -> None:
        return


def test_mail_pauses_on_a_full_disk_says_so_and_resumes_by_itself(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sessions: sessionmaker[Session] = open_database(f"sqlite:///{tmp_path / 'roster.db'}")
    transport = FullDiskOutbox()
    sender = OutboxSender(
        sessions,
        open_transport(f"maildir://{tmp_path / 'outbox'}"),
        public_url="https://roster.example.org",
        sender="Acme Learning <learning@acme.example>",
        secret=SECRET,
        poll_interval=0.05,
    )
    sender.transport = transport
    sender._pause_delay = lambda: 0.2  # type: ignore[method-assign]
    queue_invitations(sessions, learners(5))
    loop = asyncio.new_event_loop()
    running = loop.create_task(sender.run())
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        wait_until(lambda: sender.paused is not None, what="the sender to pause")
        assert sender.paused is not None and sender.paused.startswith("paused: disk full")
        assert "resumes by itself" in sender.paused
        wait_until(lambda: email_statuses(sessions)["retrying"] == 5, what="reasons recorded")
        with sessions() as session:
            reasons = set(session.scalars(select(Invitation.email_error)))
        assert reasons == {sender.paused}
        assert transport.sent == []

        transport.room.set()  # space is back
        wait_until(lambda: email_statuses(sessions)["sent"] == 5, what="the emails to go out")
        wait_until(lambda: sender.paused is None, what="the sender to resume")
    finally:

        async def stop() -> None:
            await sender.stop()
            await running

        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=60)
        loop.close()
        sessions.kw["bind"].dispose()
    assert sorted(transport.sent) == sorted(set(transport.sent)) and len(transport.sent) == 5
