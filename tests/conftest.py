"""Shared test setup: free loopback ports and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from pytest_textual_snapshot import SVGImageExtension

# The tests never read or write the config file of whoever runs them (set before Roster's
# modules are imported: they find the file once).
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="roster-tests-config-")


@pytest.fixture(autouse=True)
def fresh_config_file() -> Iterator[None]:
    """Each test starts without a config file: one that changes a setting (the theme) leaves
    nothing behind for the next."""
    from tui.config_file import CONFIG_FILE

    CONFIG_FILE.unlink(missing_ok=True)
    yield
    CONFIG_FILE.unlink(missing_ok=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Inbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    port: int
    inbox: Inbox
    controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(port=free_port(), inbox=Inbox())
    server.start()
    yield server
    server.stop()


def _snapshot_folder(cls: type, *, test_location: object) -> str:
    """Snapshots live in the top-level snapshots/, one folder per test module."""
    module = Path(test_location.filepath).stem  # type: ignore[attr-defined]
    return str(Path(__file__).resolve().parent.parent / "snapshots" / module)


SVGImageExtension.dirname = classmethod(_snapshot_folder)
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")


def roster(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {}), "NO_COLOR": "1"},
    )
    assert result.returncode in (0, 1), result.stderr
    return result.stdout


def write_learners(path: Path, count: int, domain: str = "example.org") -> Path:
    lines = ["Full Name,Email,External ID"]
    lines += [f"Learner {n},learner{n}@{domain},X{n:06d}" for n in range(count)]
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


@pytest.fixture
def served(tmp_path: Path, smtp_server: SmtpServer) -> Iterator[tuple[str, str, Path]]:
    """`roster serve` on a free port over a fresh SQLite file; yields (url, token, database)."""
    database, token = seed_service_database(tmp_path)
    server, base = start_serve(f"sqlite:///{database}", free_port(), smtp_server.url)
    yield base, token, database
    server.terminate()
    server.wait(timeout=10)


def seed_service_database(tmp_path: Path) -> tuple[Path, str]:
    """A fresh SQLite file with Initech, its admin, the Onboarding program and its FY26
    contract of 500 seats; the file and the admin's token."""
    database = tmp_path / "service.db"
    url = f"sqlite:///{database}"
    org = json.loads(
        roster("admin", "create-org", "Initech", "--database-url", url, "--format", "json")
    )
    admin = json.loads(
        roster(
            "admin",
            "create-admin",
            "--org",
            "Initech",
            "--email",
            "lead@initech.example",
            "--database-url",
            url,
            "--format",
            "json",
        )
    )
    roster("admin", "create-program", "--org", str(org["id"]), "Onboarding", "--database-url", url)
    roster(
        "admin",
        "create-contract",
        "--org",
        "Initech",
        "--program",
        "Onboarding",
        "FY26",
        "--seats",
        "500",
        "--starts",
        "2020-01-01",
        "--database-url",
        url,
    )
    return database, str(admin["token"])


def start_serve(database_url: str, port: int, mail_url: str) -> tuple[subprocess.Popen[bytes], str]:
    """`roster serve` on 127.0.0.1:`port`, once it answers; the process and its URL."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--database-url",
            database_url,
            "--mail-url",
            mail_url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{base}/api/v1/me", timeout=1)
            break
        except httpx.TransportError:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "roster serve did not start"
            time.sleep(0.1)
    return server, base
