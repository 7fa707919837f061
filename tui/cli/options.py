"""What a command reads before it runs: its settings, checked first, and its file limits."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tui.outcome import Failure

if TYPE_CHECKING:
    from tui.intake.limits import Limits
    from tui.settings import Settings


class BadArguments(Exception):
    """Arguments argparse accepts but the command cannot: told as argparse tells its own
    (usage, then `roster: error: ...`, exit status 2)."""


def load_settings(options: argparse.Namespace) -> Settings:
    """The settings, checked before anything runs; a bad one is a Failure naming it."""
    from tui.config_file import SettingsProblem
    from tui.settings import load_settings as load

    flags = {
        name: getattr(options, name)
        for name in ("api_url", "token", "data_dir", "database_url", "mail_url")
        if getattr(options, name, None) is not None
    }
    try:
        return load(flags)
    except SettingsProblem as problem:
        raise Failure("bad_setting", problem.message, **problem.details) from None


def batch_settings(options: argparse.Namespace) -> Settings:
    """The settings of a one-shot command, its memory allocator set up first: before polars is
    imported, so that it gives back what it frees at once."""
    from tui.memory import configure_batch_allocator

    configure_batch_allocator()
    return load_settings(options)


def intake_limits() -> Limits:
    """The file limits as the settings give them, read without loading the settings machinery:
    `roster check` starts fast."""
    from tui.config_file import SettingsProblem
    from tui.config_file import intake_limits as read_limits

    try:
        return read_limits()
    except SettingsProblem as problem:
        raise Failure("bad_setting", problem.message, **problem.details) from None
