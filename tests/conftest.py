"""Shared test setup: free loopback ports and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from pytest_textual_snapshot import SVGImageExtension


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


SVGImageExtension.dirname = classmethod(_snapshot_folder)  # type: ignore[assignment,method-assign]
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
