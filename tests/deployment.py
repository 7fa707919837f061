"""A shared deployment on one machine, from real parts: a PostgreSQL cluster started from the
system's binaries, `roster serve --no-sender` replicas and `roster worker` processes, and an SMTP
server that counts the Message-IDs it receives. Used by the tests and by bench/scale.py."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import create_engine, func, select, text

from tests.conftest import free_port
from tests.mailing import wait_until

ROSTER = [sys.executable, "-m", "tui"]


def postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


@dataclass
class PostgresCluster:
    """A throwaway PostgreSQL cluster in a temporary folder, trusting local connections."""

    binaries: Path
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="roster-pg-")))
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        """The admin URL (database postgres)."""
        return f"postgresql+psycopg://roster@127.0.0.1:{self.port}/postgres"

    def _run_as(self) -> list[str]:
        # initdb refuses root: the cluster then runs as the postgres user.
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def start(self, *settings: str) -> PostgresCluster:
        """Start it; `settings` are extra `-c name=value` server settings."""
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        data = self.folder / "data"
        subprocess.run(
            [
                *self._run_as(),
                str(self.binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                "roster",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -F"
        options += "".join(f" -c {setting}" for setting in settings)
        subprocess.run(
            [
                *self._run_as(),
                str(self.binaries / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "-l",
                str(self.folder / "log"),
                "start",
            ],
            check=True,
            capture_output=True,
        )
        return self

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = f"roster_{uuid.uuid4().hex[:12]}"
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        engine.dispose()
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        subprocess.run(
            [
                *self._run_as(),
                str(self.binaries / "pg_ctl"),
                "-D",
                str(self.folder / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


# Roster's Message-ID names the outbox row: <roster-{outbox id}.invitation-{id}@roster.invalid>.
MESSAGE_ID = re.compile(rb"^Message-ID: <roster-(\d+)\.", re.MULTILINE)


@dataclass
class MessageCounter:
    """An aiosmtpd handler that keeps only how many times each outbox row's email arrived."""

    received: Counter[int] = field(default_factory=Counter)
    total: int = 0

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        found = MESSAGE_ID.search(envelope.original_content or b"")
        assert found, "an email without Roster's Message-ID"
        self.received[int(found[1])] += 1
        self.total += 1
        return "250 Message accepted for delivery"


@dataclass
class CountingMailServer:
    handler: MessageCounter = field(default_factory=MessageCounter)
    port: int = field(default_factory=free_port)
    controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> CountingMailServer:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None


# Every replica and worker of a deployment holds the same secret key (the learners' links).
SECRET_KEY = "deployment-tests-secret-key-0123456789ab"


@dataclass
class RosterProcess:
    """A `roster` subprocess, its output in a log file."""

    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, args: list[str], log: Path, env: dict[str, str] | None = None) -> RosterProcess:
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*ROSTER, *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={
                    **os.environ,
                    "PYTHONUNBUFFERED": "1",
                    "ROSTER_SECRET_KEY": SECRET_KEY,
                    **(env or {}),
                },
            )
        return cls(process, log)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def end(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 60) -> int:
        if self.alive():
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def start_replica(database_url: str, folder: Path) -> tuple[str, RosterProcess]:
    """`roster serve --no-sender` on a free port; its URL once it answers."""
    port = free_port()
    served = RosterProcess.start(
        [
            "serve",
            "--no-sender",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--database-url",
            database_url,
        ],
        folder / f"serve-{port}.log",
        {"ROSTER_DATA_DIR": str(folder / "data")},
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert served.alive(), served.output()
        try:
            httpx.get(f"{url}/api/v1/me", timeout=1)
        except httpx.TransportError:
            return False
        return True

    wait_until(answers, what=f"roster serve on port {port}")
    return url, served


def start_worker(
    database_url: str, mail_url: str, folder: Path, name: str, lease: float = 30
) -> tuple[str, RosterProcess]:
    """`roster worker`; the holder name it claims emails under, once it has started."""
    worker = RosterProcess.start(
        ["worker", "--database-url", database_url, "--mail-url", mail_url, "--lease", str(lease)],
        folder / f"worker-{name}.log",
        {"ROSTER_DATA_DIR": str(folder / "data")},
    )
    started = re.compile(r"^Roster mail worker (\S+) ", re.MULTILINE)

    def holder() -> str | None:
        assert worker.alive(), worker.output()
        found = started.search(worker.output())
        return found[1] if found else None

    wait_until(holder, what=f"roster worker {name}")
    return str(holder()), worker


def write_learners(path: Path, numbers: range) -> Path:
    """A learner file: one row per number, with an email and External ID made of it."""
    lines = ["Full Name,Email,External ID"]
    lines += [f"Learner {n},learner{n}@example.org,X{n:07d}" for n in numbers]
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


@dataclass
class DeploymentRun:
    """What a run of `run_deployment` saw, for a test to judge or a benchmark to print."""

    learners: int
    imports: list[dict[str, Any]]  # each `roster import --format json` document
    import_exits: list[int]
    seconds: float  # from the imports' start to their end (every email sent or failed)
    killed: str  # the holder name of the worker killed midway
    held_at_kill: set[int]  # the outbox rows it held when it died
    received: Counter[int]  # outbox row -> times its email arrived
    outbox_rows: set[int]
    outbox_states: Counter[str]
    still_claimed: int
    invitations_per_learner: Counter[int]  # invitations -> how many learners have that many
    survivor_exits: list[int]  # the other workers', stopped with SIGTERM


def run_deployment(
    database_url: str,
    folder: Path,
    mail: CountingMailServer,
    learners: int,
    *,
    replicas: int = 2,
    workers: int = 3,
    lease: float = 5,
    kill_at: float = 1 / 3,
) -> DeploymentRun:
    """Migrate a fresh PostgreSQL database, start `replicas` API replicas without a sender and
    `workers` mail workers, import `learners` learners through the replicas (one import each,
    at once), SIGKILL the first worker once `kill_at` of the emails arrived, and wait for the
    imports to finish (they wait for every email)."""
    from tui.service import admin as operator
    from tui.service.db import Invitation, OutboxMessage, open_database

    migrated = subprocess.run(
        [*ROSTER, "migrate", "--database-url", database_url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    sessions = open_database(database_url, migrate=False)
    with sessions.begin() as session:
        organization = operator.create_organization(session, "Initech")
        _, token = operator.create_admin(session, organization, "lead@initech.example")
        program = operator.create_program(session, organization, "Onboarding")
        operator.create_contract(session, organization, "Unlimited", [program])
    started = [start_worker(database_url, mail.url, folder, str(n), lease) for n in range(workers)]
    served = [start_replica(database_url, folder) for _ in range(replicas)]
    try:
        share = -(-learners // replicas)
        runs = []
        for n, (url, _) in enumerate(served):
            numbers = range(n * share, min((n + 1) * share, learners))
            path = write_learners(folder / f"learners-{n}.csv", numbers)
            runs.append(
                RosterProcess.start(
                    [
                        "import",
                        str(path),
                        "--program",
                        "Onboarding",
                        "--contract",
                        "Unlimited",
                        "--yes",
                        "--format",
                        "json",
                    ],
                    folder / f"import-{n}.json",
                    {"ROSTER_API_URL": url, "ROSTER_TOKEN": token},
                )
            )
        begin = time.monotonic()
        deadline = 120 + learners / 200  # a generous bound, not a pace

        def going(enough: int) -> bool:
            assert all(run.alive() or run.process.returncode == 0 for run in runs), [
                run.output()[-2000:] for run in runs
            ]
            return mail.handler.total >= enough

        wait_until(lambda: going(int(learners * kill_at)), deadline, "emails to start arriving")
        killed, victim = started[0]
        victim.end(signal.SIGKILL)
        with sessions() as session:
            held = set(
                session.scalars(
                    select(OutboxMessage.id).where(
                        OutboxMessage.claimed_by == killed, OutboxMessage.status == "queued"
                    )
                )
            )
        wait_until(lambda: not any(run.alive() for run in runs), deadline, "the imports")
        seconds = time.monotonic() - begin
        survivors = [worker.end(signal.SIGTERM) for _, worker in started[1:]]
        with sessions() as session:
            outbox = list(
                session.execute(
                    select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.claimed_by)
                )
            )
            per_learner = session.scalars(
                select(func.count()).select_from(Invitation).group_by(Invitation.learner_id)
            )
        return DeploymentRun(
            learners=learners,
            imports=[_document(run.output()) for run in runs],
            import_exits=[run.process.returncode for run in runs],
            seconds=seconds,
            killed=killed,
            held_at_kill=held,
            received=Counter(mail.handler.received),
            outbox_rows={row.id for row in outbox},
            outbox_states=Counter(row.status for row in outbox),
            still_claimed=sum(row.claimed_by is not None for row in outbox),
            invitations_per_learner=Counter(per_learner),
            survivor_exits=survivors,
        )
    finally:
        for _, process in [*served, *started]:
            process.end(signal.SIGKILL)
        sessions.kw["bind"].dispose()


def _document(output: str) -> dict[str, Any]:
    """The JSON document a `roster import --format json` printed (its progress went to the
    same log, on other lines)."""
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            document: dict[str, Any] = json.loads(line)
            return document
    raise AssertionError(f"no JSON document in: {output[-2000:]}")
