"""The app a screen runs in, typed: screens reach `RosterApp` through this one cast."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.dom import DOMNode

if TYPE_CHECKING:
    from tui.app import RosterApp


def roster_app(node: DOMNode) -> RosterApp:
    """`node.app` as the RosterApp it is (tui.app imports the screens, so not the reverse)."""
    return cast("RosterApp", node.app)
