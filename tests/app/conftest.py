"""The app against the embedded service on a temp data dir, driven with Pilot."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from tui.app import RosterApp
from tui.settings import Settings

HEADER = "Full Name,Email,External ID"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def app(data_dir: Path) -> RosterApp:
    return RosterApp(Settings(data_dir=data_dir))


def learner_file(folder: Path, *rows: str, name: str = "learners.csv") -> Path:
    path = folder / name
    path.write_bytes(("\r\n".join([HEADER, *rows]) + "\r\n").encode("utf-8-sig"))
    return path


async def until(pilot: Pilot[None], ready: Callable[[], bool], timeout: float = 20.0) -> None:
    """Let the app work (workers, the embedded service) until `ready()` holds."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; the screen is {pilot.app.screen!r}")
        await pilot.pause(0.05)


async def on_screen(pilot: Pilot[None], screen: type, timeout: float = 20.0) -> None:
    """Wait until `screen` is the current screen, mounted, with its first messages handled."""
    await until(
        pilot,
        lambda: isinstance(pilot.app.screen, screen) and pilot.app.screen.is_mounted,
        timeout,
    )
    await pilot.pause()


async def type_text(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*(" " if char == " " else char for char in text))


def text_of(pilot: Pilot[None], selector: str) -> str:
    return str(pilot.app.screen.query_one(selector, Static).content)


def invitations(data_dir: Path, program: str) -> list[tuple[str, str, str]]:
    """(email, status, email_status) of the program's invitations, from the database."""
    with sqlite3.connect(data_dir / "roster.db") as db:
        return db.execute(
            "SELECT l.email, i.status, i.email_status FROM invitations i "
            "JOIN learners l ON l.id = i.learner_id JOIN programs p ON p.id = i.program_id "
            "WHERE p.name = ? ORDER BY l.email",
            (program,),
        ).fetchall()


def outbox(data_dir: Path) -> list[Path]:
    folder = data_dir / "outbox" / "new"
    return sorted(folder.iterdir()) if folder.exists() else []
