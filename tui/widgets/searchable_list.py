"""A search field over an option list: type to filter (fuzzy), up/down to move, enter to choose."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.fuzzy import Matcher
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from tui.widgets.footer import HelpKeyInput


@dataclass(frozen=True)
class Item:
    """One choice: `id` comes back in messages; `detail` is searched too; a `reason` disables it."""

    id: int
    name: str
    detail: str = ""
    reason: str | None = None


class SearchableList(Vertical):
    DEFAULT_CSS = """
    SearchableList { height: auto; }
    SearchableList > Input { margin-bottom: 1; }
    SearchableList > OptionList { height: auto; max-height: 16; }
    """

    class Highlighted(Message):
        def __init__(self, item: Item | None) -> None:
            super().__init__()
            self.item = item

    class Chosen(Message):
        def __init__(self, item: Item) -> None:
            super().__init__()
            self.item = item

    def __init__(self, placeholder: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._placeholder = placeholder
        self._items: list[Item] = []
        self._shown: list[Item] = []

    def compose(self) -> ComposeResult:
        yield HelpKeyInput(placeholder=self._placeholder, id="search")
        yield OptionList(id="options")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @property
    def highlighted(self) -> Item | None:
        index = self.query_one(OptionList).highlighted
        return self._shown[index] if index is not None and index < len(self._shown) else None

    def set_items(self, items: list[Item]) -> None:
        self._items = items
        self._filter(self.query_one(Input).value)

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._filter(event.value)

    def _filter(self, query: str) -> None:
        options = self.query_one(OptionList)
        if query.strip():
            matcher = Matcher(query.strip())
            scored = [(matcher.match(f"{item.name} {item.detail}"), item) for item in self._items]
            self._shown = [item for score, item in sorted(scored, key=lambda s: -s[0]) if score > 0]
        else:
            self._shown = list(self._items)
        options.clear_options()
        options.add_options([self._option(item) for item in self._shown])
        first = next((i for i, item in enumerate(self._shown) if item.reason is None), None)
        options.highlighted = first
        self.post_message(self.Highlighted(self.highlighted))

    def _option(self, item: Item) -> Option:
        prompt = Text(item.name, style="bold" if item.reason is None else "dim")
        if item.detail:
            prompt.append(f"\n{item.detail}", style="dim")
        if item.reason:
            prompt.append(f"\nUnavailable: {item.reason}", style="italic")
        return Option(prompt, id=str(item.id), disabled=item.reason is not None)

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self.post_message(self.Highlighted(self.highlighted))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if (item := self.highlighted) is not None:
            self.post_message(self.Chosen(item))

    @on(Input.Submitted, "#search")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if (item := self.highlighted) is not None and item.reason is None:
            self.post_message(self.Chosen(item))

    def on_key(self, event: events.Key) -> None:
        # Up and down move through the list while typing in the search field.
        options = self.query_one(OptionList)
        if event.key == "down":
            options.action_cursor_down()
            event.prevent_default()
        elif event.key == "up":
            options.action_cursor_up()
            event.prevent_default()
