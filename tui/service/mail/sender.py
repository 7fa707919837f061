"""The outbox sender: claims due invitation emails, delivers them, records each outcome.

Each email moves queued -> sent | failed, or back to queued with a later `next_attempt_at`. The
sender keeps three promises:

- An outcome is in the database as soon as the server has answered: a sending slot starts its
  next message only once its previous outcome is committed (outcomes are committed together,
  group commit, for speed). So a crash repeats at most the `concurrency` messages in flight, and
  a graceful `stop()` repeats none.
- What it claims it holds under a short lease it renews, and only as much as it will send soon;
  `stop()` hands back whatever it still holds, and a sender starting on this host takes back the
  rows of one that was killed.
- A 5xx reply fails the email at once; a transient failure is retried with capped, jittered
  backoff until `retry_window` after the email was queued.

Every `remind_interval` it also queues the automatic reminders that fall due
(tui.service.reminders): whatever sends mail, the embedded app, `roster serve` or `roster
worker`, reminds too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from tui.service.db import database_busy, utcnow
from tui.service.mail.outbox import (
    Claim,
    Outcome,
    claim_due,
    dead_holders,
    record_outcomes,
    release,
    renew_leases,
)
from tui.service.mail.render import UndeliverableAddress, check_sender, render_invitation
from tui.service.mail.transports import (
    DeliveryError,
    PermanentFailure,
    ServerUnavailable,
    TransientFailure,
    Transport,
)
from tui.service.reminders import REMINDER_SCAN_INTERVAL, queue_due_reminders
from tui.service.storage import StorageFault, database_damaged, database_path, storage_fault
from tui.text import plural

log = logging.getLogger("roster.mail")
T = TypeVar("T")

# Sending slots: the most emails delivered but not yet recorded, so the most a crash can repeat.
# Twice the SMTP connections (SMTP_CONNECTIONS), so that while some slots wait for their outcome
# to be committed, others keep every connection busy.
DEFAULT_CONCURRENCY = 32
# How long the recorder may wait for more outcomes before committing those it has. A commit
# costs the sender's process about 1.5 ms of CPU whatever it holds: 2 ms gave commits of 7
# outcomes (0.22 ms a message), 10 ms gives commits of 16, half the slots (0.10 ms), and the
# slots not waiting keep every connection busy meanwhile (bench/mail.py).
GROUP_COMMIT_WAIT = 0.010


def this_host() -> str:
    """This host as a holder's name starts: the host name, and on Linux the pid namespace, so
    containers sharing a host name never judge each other's processes."""
    host = socket.gethostname().replace(":", "_")
    with contextlib.suppress(OSError):
        host += "/" + os.readlink("/proc/self/ns/pid").strip("pid:[]")
    return host


class OutboxSender:
    """Drains the outbox with `concurrency` sending slots until `stop()`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        transport: Transport,
        *,
        public_url: str,
        sender: str,
        secret: bytes,
        concurrency: int = DEFAULT_CONCURRENCY,
        lease: timedelta | float = timedelta(seconds=30),
        retry_window: timedelta | float = timedelta(hours=24),
        base_delay: float = 2.0,
        max_delay: float = 300.0,
        poll_interval: float = 2.0,
        stop_timeout: float = 10.0,
        remind_interval: float = REMINDER_SCAN_INTERVAL,
    ) -> None:
        check_sender(sender)  # a bad mail_from setting fails now, not at every email
        self.sessions = sessions
        self.transport = transport
        self.public_url = public_url
        self.sender = sender
        self.secret = secret  # the service's secret key: it makes the learners' links
        self.concurrency = concurrency
        self.lease = _duration(lease)
        self.retry_window = _duration(retry_window)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.poll_interval = poll_interval
        self.stop_timeout = stop_timeout
        self.remind_interval = remind_interval
        # Enough to keep every slot busy between claims, little enough to send well within
        # the lease: claimed rows wait for no one.
        self.claim_batch = 4 * concurrency
        self.host = this_host()
        self.holder = f"{self.host}:{os.getpid()}:{secrets.token_hex(4)}"

        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._finished = asyncio.Event()
        self._wanted = asyncio.Event()  # the feeder should claim: notified, or slots need work
        self._more_due = True  # the last claim was full, or mail was queued since
        self._resume_at = 0.0  # monotonic time before which claiming waits (server down)
        self._remind_at = 0.0  # monotonic time of the next look for reminders due
        self._queue: asyncio.Queue[Claim | None] = asyncio.Queue()
        self._held: set[int] = set()  # outbox ids claimed and not yet recorded
        self._unrecorded: list[tuple[Outcome, asyncio.Future[None]]] = []
        self._sending = 0  # slots waiting for the server's answer
        self._to_record = asyncio.Event()
        self._database_thread = ThreadPoolExecutor(1, thread_name_prefix="roster-outbox")
        self._database_work: set[asyncio.Future[Any]] = set()
        # Why sending is paused (a full disk, read-only storage), for the admin; None: it is not.
        self.paused: str | None = None

    # The life cycle: run() until stop().

    async def run(self) -> None:
        """Deliver until `stop()` (or until cancelled, which stops the same way)."""
        self._loop = asyncio.get_running_loop()
        slots = [asyncio.create_task(self._slot()) for _ in range(self.concurrency)]
        helpers = [asyncio.create_task(self._recorder()), asyncio.create_task(self._renewer())]
        try:
            await self._release_dead_holders()
            await self._feed()
        finally:
            await self._shut_down(slots, helpers)

    async def stop(self) -> None:
        """Stop claiming, let the deliveries in flight finish (within `stop_timeout`) and record
        them, hand back every row still held, close the transport; `run()` then returns."""
        self._stopping = True
        if self._loop is None:  # never ran: nothing claimed
            await self.transport.close()
            self._database_thread.shutdown(wait=False)
            return
        self._wanted.set()
        await self._finished.wait()

    def notify(self) -> None:
        """Mail was queued: claim it now rather than at the next poll. Safe from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # run() claims everything due when it starts
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._on_notify)

    def _on_notify(self) -> None:
        self._more_due = True
        self._wanted.set()

    async def _shut_down(
        self, slots: list[asyncio.Task[None]], helpers: list[asyncio.Task[None]]
    ) -> None:
        self._stopping = True
        # What is queued here was never started: it is handed back below with the rest.
        while not self._queue.empty():
            self._queue.get_nowait()
        for _ in slots:
            self._queue.put_nowait(None)
        _, late = await asyncio.wait(slots, timeout=self.stop_timeout)
        for task in late:  # their outcome is unknown: the rows go back as they are
            task.cancel()
        await asyncio.gather(*slots, return_exceptions=True)
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        # A claim still committing in its thread would otherwise hold rows after the release.
        await asyncio.gather(*self._database_work, return_exceptions=True)
        try:
            released = 0
            if self._held:  # nothing claimed, nothing to hand back (and no write lock needed)
                released = await self._database(release, self.sessions, [self.holder], utcnow())
            log.info("outbox: stopped; %d emails handed back", released)
        except Exception as error:
            self._failed("could not hand back claimed emails; their lease will run out", error)
        await self.transport.close()
        self._database_thread.shutdown(wait=False)
        self._finished.set()

    async def _release_dead_holders(self) -> None:
        try:
            dead = await self._database(dead_holders, self.sessions, self.host)
            released = await self._database(release, self.sessions, dead, utcnow())
        except Exception as error:
            self._failed("could not check for emails held by dead processes", error)
            return
        if released:
            log.warning("outbox: took back %d emails held by stopped processes", released)

    # Claiming: the feeder keeps the slots supplied.

    async def _feed(self) -> None:
        while not self._stopping:
            await self._queue_reminders()
            wait = await self._claim()
            if wait > 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wanted.wait(), wait)
            self._wanted.clear()

    async def _claim(self) -> float:
        """Claim due emails if the slots need them; how long to wait before looking again."""
        if self._queue.qsize() >= self.concurrency:
            return self.poll_interval  # a slot asks for more as the queue runs low
        paused = self._resume_at - time.monotonic()
        if paused > 0:
            return paused
        now = utcnow()
        try:
            claims, next_due = await self._database(
                claim_due, self.sessions, self.holder, self.claim_batch, self.lease, now
            )
        except Exception as error:
            self._failed("could not claim emails; trying again", error)
            return self.poll_interval
        if claims:  # written: the storage takes writes again
            self._resume()
        for claim in claims:
            self._held.add(claim.outgoing.outbox_id)
            self._queue.put_nowait(claim)
        self._more_due = next_due is None
        if next_due is None:
            return 0.0
        return min(self.poll_interval, max((next_due - utcnow()).total_seconds(), 0.01))

    async def _queue_reminders(self) -> None:
        """Queue the automatic reminders due, every `remind_interval` (the feeder wakes at
        least every `poll_interval`)."""
        if time.monotonic() < self._remind_at:
            return
        self._remind_at = time.monotonic() + self.remind_interval
        try:
            queued = await self._database(queue_due_reminders, self.sessions, utcnow())
        except Exception as error:
            self._failed("could not queue the reminders due; trying again", error)
            return
        if queued:
            log.info("outbox: queued %s", plural(queued, "automatic reminder"))
            self._more_due = True

    async def _renewer(self) -> None:
        period = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(period)
            if not self._held:
                continue
            try:
                await self._database(
                    renew_leases,
                    self.sessions,
                    self.holder,
                    list(self._held),
                    utcnow() + self.lease,
                )
            except Exception as error:
                self._failed("could not renew the lease on claimed emails", error)

    # Sending: each slot delivers one email at a time.

    async def _slot(self) -> None:
        while (claim := await self._queue.get()) is not None:
            if self._more_due and self._queue.qsize() < self.concurrency:
                self._wanted.set()
            outcome = await self._attempt(claim)
            await self._record(outcome)

    async def _attempt(self, claim: Claim) -> Outcome:
        try:
            message = render_invitation(
                claim.outgoing, self.public_url, self.sender, secret=self.secret
            )
            self._sending += 1
            try:
                await self.transport.send(claim.outgoing.outbox_id, message)
            finally:
                self._sending -= 1
        except DeliveryError as failure:
            return self._after_failure(claim, failure)
        except UndeliverableAddress as error:
            return self._after_failure(claim, PermanentFailure(str(error)))
        except Exception as error:  # a transport's bug must not lose the email: retry it
            fault = storage_fault(error)
            if fault is not None:  # a file transport's disk (the Maildir outbox) is full
                folder = os.path.dirname(str(getattr(error, "filename", "") or ""))
                self._pause(fault, folder or "the outbox")
                reason = self.paused or fault.title
                # Every email would fail the same way now: claim no more for a while.
                self._resume_at = max(self._resume_at, time.monotonic() + self._pause_delay())
                retry_at = utcnow() + timedelta(seconds=self._pause_delay())
                return Outcome(claim, "queued", reason, retry_at)
            log.exception("outbox: unexpected failure sending email %s", claim.outgoing.outbox_id)
            return self._after_failure(claim, TransientFailure(f"{type(error).__name__}: {error}"))
        return Outcome(claim, "sent")

    def _after_failure(self, claim: Claim, failure: DeliveryError) -> Outcome:
        now = utcnow()
        give_up_at = claim.queued_at + self.retry_window
        if failure.permanent or now >= give_up_at:
            log.warning("outbox: email %s failed: %s", claim.outgoing.outbox_id, failure.reason)
            return Outcome(claim, "failed", failure.reason)
        delay = self.backoff(claim.attempts + 1)
        if isinstance(failure, ServerUnavailable):
            # Every email would fail the same way now: claim no more until this one is due.
            self._resume_at = max(self._resume_at, time.monotonic() + delay)
        # The last try falls at the end of the window, so a window shorter than the backoff
        # still gets its try there.
        retry_at = min(now + timedelta(seconds=delay), give_up_at)
        return Outcome(claim, "queued", failure.reason, retry_at)

    def backoff(self, attempt: int) -> float:
        """Seconds before try `attempt + 1`: doubling from `base_delay`, capped at `max_delay`,
        with jitter so that emails failed together are not retried together."""
        delay = min(self.max_delay, self.base_delay * 2 ** min(attempt - 1, 32))
        return random.uniform(delay / 2, delay)

    # Recording: outcomes committed together, each slot waiting for its own.

    async def _record(self, outcome: Outcome) -> None:
        future = asyncio.get_running_loop().create_future()
        self._unrecorded.append((outcome, future))
        self._to_record.set()
        await future

    async def _recorder(self) -> None:
        while True:
            await self._to_record.wait()
            await self._gather_outcomes()
            self._to_record.clear()
            batch, self._unrecorded = self._unrecorded, []
            if batch:
                await self._commit([outcome for outcome, _ in batch])
            for outcome, future in batch:
                self._held.discard(outcome.claim.outgoing.outbox_id)
                if not future.done():
                    future.set_result(None)

    async def _gather_outcomes(self) -> None:
        """Wait a moment (GROUP_COMMIT_WAIT) for more outcomes while emails are being sent:
        a commit costs several emails' worth of CPU, so one commit for many keeps the
        throughput up."""
        wanted = max(1, self.concurrency // 2)
        if len(self._unrecorded) >= wanted or not self._sending:
            return
        waited = False

        def enough() -> None:
            nonlocal waited
            waited = True
            self._to_record.set()

        timer = asyncio.get_running_loop().call_later(GROUP_COMMIT_WAIT, enough)
        while len(self._unrecorded) < wanted and self._sending and not waited:
            self._to_record.clear()
            await self._to_record.wait()
        timer.cancel()

    async def _commit(self, outcomes: list[Outcome]) -> None:
        """Commit the outcomes, trying again while the database refuses (locked, restarting):
        the slots wait rather than send what could not be recorded."""
        delay = 0.05
        while True:
            try:
                await self._database(record_outcomes, self.sessions, outcomes, utcnow())
                if not any(outcome.error == self.paused for outcome in outcomes):
                    self._resume()
                return
            except Exception as error:
                self._failed(f"could not record {len(outcomes)} outcomes; trying again", error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _database(self, function: Callable[..., T], *args: Any) -> T:
        """Run a transaction on the sender's database thread. One thread: the sender's own
        transactions never wait for each other's write lock. If the caller is cancelled, the
        transaction still finishes, and the shutdown waits for it."""
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(self._database_thread, function, *args)
        self._database_work.add(work)
        work.add_done_callback(self._database_work.discard)
        return await asyncio.shield(work)

    # Pausing on a storage fault, and resuming once writes succeed again.

    def _failed(self, what: str, error: Exception) -> None:
        """A database step failed: a storage fault pauses sending (one line in the log, not a
        traceback per try); anything else is logged as before."""
        fault = storage_fault(error)
        if fault is None:
            _log_failure(what, error)
            return
        path = database_path(self.sessions.kw["bind"])
        self._pause(fault, str(path) if path else "the database")

    def _pause(self, fault: StorageFault, where: str) -> None:
        reason = f"paused: {PAUSE_REASONS[fault.code]} ({where}); resumes by itself once fixed"
        if self.paused != reason:
            log.warning("outbox: sending %s", reason)
        self.paused = reason

    def _resume(self) -> None:
        if self.paused is not None:
            log.info("outbox: sending resumed (was %s)", self.paused)
            self.paused = None

    def _pause_delay(self) -> float:
        """How long an email held back by a pause waits before its next try."""
        return max(self.poll_interval, 5.0)


# What a storage fault did to the mail, for the admin's status.
PAUSE_REASONS = {
    "disk_full": "disk full",
    "read_only": "storage read-only",
    "file_too_large": "file size limit reached",
    "io_error": "disk I/O error",
}


def _duration(value: timedelta | float) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


def _log_failure(what: str, error: Exception) -> None:
    """A busy database is an expected, passing state: one line; a damaged one, one line with
    SQLite's words (the same at every try); anything else: the traceback."""
    damaged = database_damaged(error)
    if database_busy(error):
        log.warning("outbox: %s (the database is busy)", what)
    elif damaged is not None:
        log.error("outbox: %s (the database is damaged: %s)", what, damaged)
    else:
        log.error("outbox: %s", what, exc_info=error)
