"""Benchmark Roster's mail sending against a bare aiosmtplib sender, in the same run.

Both send N invitation emails to one loopback aiosmtpd server over the same number of SMTP
connections (SMTP_CONNECTIONS):

- Roster: the outbox sender (tui.service.mail.OutboxSender) on an SQLite database with N emails
  queued as an import commit leaves them; it claims them, renders each, sends it and records
  each outcome (sent) before its slot takes the next: timed from start until every email is
  recorded sent;
- bare: as many aiosmtplib connections, each sending the same messages (rendered beforehand)
  with `sendmail` one after another, and recording nothing.

Rounds alternate which goes first; the medians, their spread (lowest to highest) and the
ratio Roster / bare (the target is 0.9 or more) are printed.

    .venv/bin/python bench/mail.py [--emails 5000] [--rounds 5] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import aiosmtplib
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import free_port
from tests.mailing import learners, queue_invitations
from tui.service.db import OutboxMessage, open_database
from tui.service.mail import OutboxSender, open_transport
from tui.service.mail.outbox import claim_due
from tui.service.mail.render import Rendered, render_invitation
from tui.service.mail.transports import SMTP_CONNECTIONS
from tui.service.storage import database_path

if TYPE_CHECKING:
    from bench.ratios import Context, Measure

SENDER = "Acme Learning <learning@acme.example>"
PUBLIC_URL = "https://roster.example.org"
SECRET = b"bench-mail-secret-key-0123456789abcdef"
EMAILS = 5_000  # each round of bench/ratios.py's measure


@contextlib.contextmanager
def mail_server() -> Iterator[int]:
    """aiosmtpd on 127.0.0.1, accepting and discarding every message, in a process of its own
    (in this one it would share the senders' interpreter lock); its port."""
    port = free_port()
    command = [sys.executable, "-m", "aiosmtpd", "-n", "-u", "-l", f"127.0.0.1:{port}"]
    server = subprocess.Popen([*command, "-c", "aiosmtpd.handlers.Sink"])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def any_queued(watcher: sqlite3.Connection) -> bool:
    """Whether an email is still queued: one step down the outbox's due index, on a bare
    sqlite3 connection of the bench's own. Watching costs the sender next to nothing: a count
    of every row not sent, ten times a second, took a core's share from it on a machine of two,
    and the same one step through a SQLAlchemy session took 0.37 ms of the sender's process
    against 0.005 ms here."""
    return (
        watcher.execute("SELECT 1 FROM outbox WHERE status = 'queued' LIMIT 1").fetchone()
        is not None
    )


def unsent(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status != "sent")
            )
            or 0
        )


async def roster_round(sessions: sessionmaker[Session], url: str) -> float:
    """Seconds for the outbox sender to send and record every queued email."""
    sender = OutboxSender(
        sessions,
        open_transport(url, SMTP_CONNECTIONS),
        public_url=PUBLIC_URL,
        sender=SENDER,
        secret=SECRET,
        poll_interval=0.05,
    )
    watcher = sqlite3.connect(database_path(sessions.kw["bind"]) or "", isolation_level=None)
    start = time.perf_counter()
    running = asyncio.create_task(sender.run())
    while any_queued(watcher):
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - start
    watcher.close()
    await sender.stop()
    await running
    if left := unsent(sessions):
        raise SystemExit(f"the outbox sender left {left} emails unsent")
    return elapsed


async def bare_round(messages: list[Rendered], port: int) -> float:
    """Seconds for SMTP_CONNECTIONS aiosmtplib clients to send `messages` between them."""
    start = time.perf_counter()
    pending = iter(messages)

    async def connection() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await client.connect()
        for message in pending:
            await client.sendmail(message.sender, [message.recipient], message.data)
        await client.quit()

    await asyncio.gather(*(connection() for _ in range(SMTP_CONNECTIONS)))
    return time.perf_counter() - start


def rendered(sessions: sessionmaker[Session], count: int) -> list[Rendered]:
    """The queued emails as Roster writes them (claimed, then handed back untouched)."""
    from datetime import timedelta

    from tui.service.db import utcnow
    from tui.service.mail.outbox import release

    claims, _ = claim_due(sessions, "bench", count, timedelta(minutes=1), utcnow())
    release(sessions, ["bench"], utcnow())
    return [
        render_invitation(claim.outgoing, PUBLIC_URL, SENDER, secret=SECRET) for claim in claims
    ]


def ratio_measure(context: Context, stack: ExitStack) -> Measure:
    """bench/ratios.py's `mail` measure: a round is EMAILS emails queued (untimed), then sent
    by Roster's outbox sender, or rendered (untimed) and sent by bare aiosmtplib clients, each
    on a database of its own, to one loopback server. Values are messages per second; the
    peak is this bench process's high-water mark (both run in it)."""
    from bench.ratios import Measure, Reference, Sample

    port = stack.enter_context(mail_server())
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="roster-mail-")))
    url = f"smtp://127.0.0.1:{port}"
    databases = {
        name: open_database(f"sqlite:///{folder / f'{name}.db'}") for name in ("roster", "bare")
    }
    for sessions in databases.values():
        stack.callback(sessions.kw["bind"].dispose)
    rounds = iter(range(1_000_000))

    def peak_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def roster() -> Sample:
        sessions = databases["roster"]
        queue_invitations(sessions, learners(EMAILS, f"r{next(rounds)}.example.org"))
        return Sample(EMAILS / asyncio.run(roster_round(sessions, url)), peak_mb())

    def bare() -> Sample:
        sessions = databases["bare"]
        queue_invitations(sessions, learners(EMAILS, f"b{next(rounds)}.example.org"))
        messages = rendered(sessions, EMAILS)
        with sessions.begin() as session:  # the next round renders its own emails only
            session.execute(update(OutboxMessage).values(status="sent"))
        return Sample(EMAILS / asyncio.run(bare_round(messages, port)), peak_mb())

    return Measure(
        "mail",
        f"Roster's outbox sender, {EMAILS:,} emails, {SMTP_CONNECTIONS} connections",
        roster,
        [Reference(f"bare aiosmtplib, {SMTP_CONNECTIONS} connections", bare, 0.9)],
        rate=True,
    )


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--emails", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", type=Path, help="write a cProfile of Roster's rounds here")
    args = parser.parse_args()

    profile = cProfile.Profile() if args.profile else None
    roster: list[float] = []
    bare: list[float] = []
    # This process's CPU seconds per message, each way: on a loopback server that answers at
    # once, the sender whose process spends less CPU per message sends more per second.
    cpu: dict[str, list[float]] = {"roster": [], "bare": []}
    with mail_server() as port, tempfile.TemporaryDirectory(prefix="roster-bench-") as folder:
        url = f"smtp://127.0.0.1:{port}"
        sessions = open_database(f"sqlite:///{Path(folder) / 'roster.db'}")
        for number in range(args.rounds):
            queue_invitations(sessions, learners(args.emails, f"round{number}.example.org"))
            messages = rendered(sessions, args.emails)
            first_roster = number % 2 == 0
            for which in ("roster", "bare") if first_roster else ("bare", "roster"):
                used = cpu_seconds()
                if which == "roster":
                    if profile:
                        profile.enable()
                    roster.append(asyncio.run(roster_round(sessions, url)))
                    if profile:
                        profile.disable()
                else:
                    bare.append(asyncio.run(bare_round(messages, port)))
                cpu[which].append((cpu_seconds() - used) / args.emails)
            print(
                f"round {number + 1}: Roster {args.emails / roster[-1]:,.0f} msg/s, "
                f"bare {args.emails / bare[-1]:,.0f} msg/s",
                flush=True,
            )
        sessions.kw["bind"].dispose()
    if profile and args.profile:
        profile.dump_stats(args.profile)

    def rates(times: list[float]) -> str:
        per_second = sorted(args.emails / seconds for seconds in times)
        return (
            f"median {statistics.median(per_second):,.0f} msg/s "
            f"(spread {per_second[0]:,.0f}–{per_second[-1]:,.0f})"
        )

    print(f"{args.emails:,} emails, {SMTP_CONNECTIONS} connections, {args.rounds} rounds")
    print(f"Roster: {rates(roster)}")
    print(f"bare aiosmtplib: {rates(bare)}")
    ratio = statistics.median(bare) / statistics.median(roster)
    print(f"Roster / bare: {ratio:.2f}x (target >= 0.9x)")
    print(
        "CPU of this process per message: "
        + ", ".join(
            f"{which} {statistics.median(each) * 1000:.2f} ms" for which, each in cpu.items()
        )
    )


if __name__ == "__main__":
    main()
