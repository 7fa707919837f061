"""The footer every screen shows: the help key first, so that 80 columns always show it.

`?` opens the key list unless the focused field may hold `?` as text (a name, a message, a
note): there `?` types, and F1 opens the key list; the footer names whichever key works. A
single-line field whose text never holds a `?` (a search, a file's path) is a
`HelpKeyInput`: there `?` opens the key list too. A pasted `?` is text in any field: a paste is
not a key.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Footer as TextualFooter
from textual.widgets import Input, TextArea
from textual.widgets._footer import FooterKey


class HelpKeyInput(Input):
    """A single-line field whose text never holds `?` (a search, a file's path, a count): `?`
    there opens the key list. A pasted `?` is still text."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character != "?" and super().check_consume_key(key, character)


def question_mark_is_text(focused: Widget | None) -> bool:
    """True when `?` typed into `focused` is text: a text area, or a field that takes it."""
    if isinstance(focused, TextArea):
        return True
    return isinstance(focused, Input) and not isinstance(focused, HelpKeyInput)


class Footer(TextualFooter):
    """Textual's footer, with the key that opens the key list first."""

    DEFAULT_CSS = """
    Footer FooterKey.-help-key { padding-right: 1; }
    """

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            key = "f1" if question_mark_is_text(self.screen.focused) else "question_mark"
            yield FooterKey(
                key,
                self.app.get_key_display(Binding(key, "help")),
                "Keys",
                "app.help",
                classes="-help-key",
                tooltip="Every key of this screen",
            ).data_bind(compact=TextualFooter.compact)
        yield from super().compose()
