"""The question `roster` asks at a terminal before it changes invitations: answered at the
keyboard while the command waits, and Ctrl-C at it ends the command at once, as anywhere else."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

QUESTION = b"Continue? [y/N] "


class Terminal:
    """`roster ARGS` with a terminal of its own: what it writes there, and the keys typed."""

    def __init__(self, data_dir: Path, *args: str, output: Path | None = None) -> None:
        """With `output`, standard output goes to that file instead (`> file`)."""
        self.screen, terminal = pty.openpty()
        env = {**os.environ, "ROSTER_DATA_DIR": str(data_dir), "NO_COLOR": "1"}
        with open(output or os.devnull, "wb") as file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tui", *args],
                stdin=terminal,
                stdout=file if output else terminal,
                stderr=terminal,
                env=env,
                close_fds=True,
            )
        os.close(terminal)
        self.seen = b""

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *_: object) -> None:
        if self.process.poll() is None:  # a command that did not end: never left behind
            self.process.kill()
            self.process.wait()
        os.close(self.screen)

    def wait_for(self, text: bytes, timeout: float = 60, in_file: Path | None = None) -> None:
        """Until the terminal (or the file `in_file`) shows `text`."""
        deadline = time.monotonic() + timeout
        while text not in (in_file.read_bytes() if in_file else self.seen):
            assert time.monotonic() < deadline, self.seen.decode(errors="replace")
            if select.select([self.screen], [], [], 0.1)[0]:
                self.seen += os.read(self.screen, 4096)

    def type(self, keys: bytes) -> None:
        os.write(self.screen, keys)

    def interrupt(self) -> None:
        """Ctrl-C: the terminal sends SIGINT to the command."""
        self.process.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 30) -> int:
        """The exit status, once everything written is read."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if select.select([self.screen], [], [], 0.1)[0]:
                try:
                    more = os.read(self.screen, 4096)
                except OSError:  # the command ended and its terminal closed
                    break
                if not more:
                    break
                self.seen += more
        return self.process.wait(timeout=max(deadline - time.monotonic(), 1))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    seeded = subprocess.run(
        [sys.executable, "-m", "tui", "programs"],
        env={**os.environ, "ROSTER_DATA_DIR": str(data)},
        capture_output=True,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    return data


def test_the_question_is_answered_at_the_terminal(data_dir: Path) -> None:
    with Terminal(data_dir, "invitations", "revoke", "1") as terminal:
        terminal.wait_for(QUESTION)
        assert b"Revoke: revoke 1 invitation" in terminal.seen
        terminal.type(b"n\n")
        assert terminal.finish() == 2
    assert b"Nothing was changed." in terminal.seen


def test_ctrl_c_at_the_question_ends_the_command(data_dir: Path) -> None:
    with Terminal(data_dir, "invitations", "revoke", "1") as terminal:
        terminal.wait_for(QUESTION)
        terminal.interrupt()
        assert terminal.finish() == 130
    assert b"roster: interrupted." in terminal.seen


def test_ctrl_c_at_the_question_with_the_output_in_a_file(data_dir: Path, tmp_path: Path) -> None:
    # The question goes where input() puts it, to standard output; the answer is still read
    # from the terminal, and Ctrl-C still ends the command cleanly.
    output = tmp_path / "revoked.json"
    revoke = ["invitations", "revoke", "1", "--format", "json"]
    with Terminal(data_dir, *revoke, output=output) as terminal:
        terminal.wait_for(QUESTION, in_file=output)
        terminal.interrupt()
        assert terminal.finish() == 130
    assert b"roster: interrupted." in terminal.seen
    assert b"Fatal Python error" not in terminal.seen
