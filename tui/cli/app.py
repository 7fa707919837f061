"""`roster` without a command: the app, on the settings the commands use."""

from __future__ import annotations

import argparse

from tui.cli.options import load_settings
from tui.outcome import Exit


def open_app(options: argparse.Namespace) -> int:
    from tui.memory import configure_allocators

    settings = load_settings(options)
    configure_allocators()
    from tui.app import RosterApp

    app = RosterApp(settings)
    app.run()
    return app.return_code or Exit.OK
