"""The keys: the key list within reach everywhere, destroying many asked twice, and Invite Learner
keeping every key however fast it comes."""

from __future__ import annotations

import pytest
from textual import events
from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.widgets import Button, Input
from textual.widgets._footer import FooterKey

from tests.app.conftest import connected, members_of, on_screen, type_text, until
from tui.app import RosterApp
from tui.screens import members
from tui.screens.bulk_progress import BulkProgress
from tui.screens.help import HelpScreen
from tui.screens.home import AdminHome
from tui.screens.invite_learner import InviteLearnerScreen, LeaveForm
from tui.screens.members import ConfirmRemoval
from tui.screens.pickers import ChooseProgram
from tui.screens.type_the_count import TypeTheCount
from tui.screens.users import UsersScreen
from tui.widgets.footer import Footer

pytestmark = pytest.mark.anyio


def help_key(pilot: Pilot[None]) -> FooterKey:
    """The footer's first key, as the admin sees it."""
    return pilot.app.screen.query_one(Footer).query(FooterKey).first()


def help_rows(pilot: Pilot[None]) -> list[str]:
    screen = pilot.app.screen
    assert isinstance(screen, HelpScreen)
    return [str(cell) for cell in screen.keys.columns[1].cells]


async def test_the_key_list_opens_from_every_screen_and_the_footer_always_names_its_key(
    app: RosterApp,
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        await on_screen(pilot, AdminHome)
        assert (help_key(pilot).key, help_key(pilot).region.right <= 80) == ("question_mark", True)
        await pilot.press("question_mark")
        await on_screen(pilot, HelpScreen)
        rows = help_rows(pilot)  # the screen's own keys, then the pages, then scrolling
        assert rows.index("Invite learners") < rows.index("Users") < rows.index("Scroll Up")
        assert "Users" in app.export_screenshot()  # in view at 80x24, not below the fold
        await pilot.press("question_mark")  # the same key closes it
        await on_screen(pilot, AdminHome)

        await pilot.press("i")  # a picker's search takes ? as the key list's key
        await until(pilot, lambda: bool(getattr(app.screen, "choices", None)))
        await pilot.press("question_mark")
        await on_screen(pilot, HelpScreen)
        await pilot.press("escape")
        await on_screen(pilot, ChooseProgram)
        assert app.screen.query_one("#search", Input).value == ""
        await pilot.press("escape")

        await pilot.press("u")  # in a learner's name, ? is text and F1 opens the list
        await on_screen(pilot, UsersScreen)
        app.start_single_invite()
        await on_screen(pilot, InviteLearnerScreen)
        await until(pilot, lambda: app.screen.query_one("#full_name", Input).has_focus)
        await pilot.press("question_mark")
        assert app.screen.query_one("#full_name", Input).value == "?"
        assert (help_key(pilot).key, help_key(pilot).region.right <= 80) == ("f1", True)
        await pilot.press("f1")
        await on_screen(pilot, HelpScreen)
        assert "Next field" in help_rows(pilot)


async def burst(pilot: Pilot[None], text: str) -> None:
    """`text` as a terminal sends a fast paste or fast typing: every key at once, none
    waiting for the one before it to be handled."""
    for character in text:
        key = "tab" if character == "\t" else _character_to_key(character)
        pilot.app.post_message(events.Key(key, character))
    await pilot.pause()


async def test_invite_learner_keeps_every_key_of_a_fast_paste_and_asks_before_leaving(
    app: RosterApp,
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        app.start_single_invite()
        await on_screen(pilot, InviteLearnerScreen)
        form = app.screen
        await until(pilot, lambda: form.query_one("#full_name", Input).has_focus)

        await burst(pilot, "Ada Lovelace\tada@example.org\tEMP-9")
        typed = [form.query_one(f"#{name}", Input).value for name in ("full_name", "email")]
        assert typed == ["Ada Lovelace", "ada@example.org"]
        assert form.query_one("#external_id", Input).value == "EMP-9"

        form.query_one("#full_name", Input).focus()  # a spreadsheet's row, pasted
        app.post_message(events.Paste("Bo Ray\tbo.ray@example.org"))
        await until(pilot, lambda: form.query_one("#email", Input).value == "bo.ray@example.org")
        assert form.query_one("#full_name", Input).value == "Bo Ray"

        await pilot.press("enter")  # every error under its field; the first takes the focus
        await until(pilot, lambda: form.query_one("#program-error").has_class("-shown"))
        assert form.query_one("#contract-error").has_class("-shown")
        assert form.query_one("#program").has_focus

        await pilot.press("escape")  # a filled form asks before it goes; Stay has the focus
        await on_screen(pilot, LeaveForm)
        await pilot.press("enter")
        await on_screen(pilot, InviteLearnerScreen)
        assert form.query_one("#full_name", Input).value == "Bo Ray"
        await pilot.click("#back")
        await on_screen(pilot, LeaveForm)
        await pilot.click("#leave")
        await on_screen(pilot, AdminHome)


async def test_removing_more_than_the_limit_asks_for_the_count(
    app: RosterApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(members, "LARGE", 10)  # the program's 20 members are many
    async with app.run_test(size=(80, 24)) as pilot:
        await connected(pilot)
        screen = await members_of(pilot, "Leadership Essentials")
        await until(pilot, lambda: screen.total == 20)
        await pilot.press("x")
        await on_screen(pilot, ConfirmRemoval)
        await pilot.click("#scope-1")  # All 20 members
        await on_screen(pilot, TypeTheCount)
        assert app.screen.query_one("#go-on", Button).disabled
        await type_text(pilot, "19")
        await pilot.press("enter")
        assert isinstance(app.screen, TypeTheCount)  # a wrong count removes no one
        assert "Type 20" in str(app.screen.query_one("#form-error").render())
        app.screen.query_one("#typed-count", Input).value = ""
        await type_text(pilot, "20")
        await pilot.press("enter")
        await on_screen(pilot, BulkProgress)
        dialog = app.screen
        assert isinstance(dialog, BulkProgress)
        await until(pilot, lambda: dialog.finished)
        await pilot.press("enter")
        await until(pilot, lambda: screen.total == 0)
