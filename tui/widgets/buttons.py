"""Changing a button's label so that the button is sized to it."""

from __future__ import annotations

from textual.content import ContentText
from textual.widgets import Button


def relabel(button: Button, label: ContentText) -> None:
    """Set `button`'s label and lay it out again. Textual's label does not ask for a layout, so
    a button keeps the width of its first label: a longer one ("Close" becoming "Close (emails
    go on)") wraps and shows its first line only."""
    button.label = label
    button.refresh(layout=True)
