"""A resend from the app says what became of the emails (delivered, failed), not only that
they were queued: here from the completion dialog of an import whose emails failed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.conftest import (
    complete,
    learner_file,
    on_screen,
    text_of,
    to_preview,
    type_text,
    until,
)
from tests.mailing import MailServer, Recorder
from tui.app import RosterApp
from tui.screens.bulk_progress import BulkProgress
from tui.screens.invitations import ConfirmAction, InvitationsScreen
from tui.settings import Settings

pytestmark = pytest.mark.anyio

REFUSED = {"bo@example.org", "dee@example.org"}


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    """Refuses for good the addresses in REFUSED while they are there."""
    refused = set(REFUSED)

    def refuse(address: str) -> str | None:
        address = address.strip("<>")
        return f"550 5.1.1 <{address}>: mailbox unavailable" if address in refused else None

    server = MailServer(Recorder(refuse=refuse)).start()
    server.refused = refused  # type: ignore[attr-defined]
    yield server
    server.stop()


async def test_the_failed_emails_of_an_import_are_resent_from_its_dialog_with_their_outcome(
    data_dir: Path, tmp_path: Path, mail_server: MailServer
) -> None:
    app = RosterApp(Settings(data_dir=data_dir, mail_url=mail_server.url))
    path = learner_file(
        tmp_path, "Ann Lee,ann@example.org,", "Bo Ray,bo@example.org,", "Dee Fox,dee@example.org,"
    )
    async with app.run_test(size=(100, 40)) as pilot:
        await to_preview(pilot, path)
        said = await complete(pilot)
        assert "2 failed." in said
        await until(
            pilot, lambda: "press s to send them again" in text_of(pilot, "#completion-text")
        )

        mail_server.refused.discard("bo@example.org")  # type: ignore[attr-defined]
        await pilot.press("s")
        await on_screen(pilot, BulkProgress)
        await until(pilot, lambda: "2 of 2 invitations resent" in text_of(pilot, "#bulk-counts"))
        await until(
            pilot, lambda: text_of(pilot, "#bulk-emails") == "2 emails: 1 delivered, 1 failed."
        )
        # One invitation on the Invitations page: queued first, then its outcome.
        await pilot.press("enter")  # the bulk dialog closes
        await pilot.press("enter")  # and the completion dialog
        await pilot.press("v")
        await on_screen(pilot, InvitationsScreen)
        await pilot.press("slash")
        await type_text(pilot, "ann@example.org")
        await pilot.press("enter")
        await until(pilot, lambda: "<ann@example.org>" in text_of(pilot, "#invitation-detail"))
        await pilot.press("s")
        await on_screen(pilot, ConfirmAction)
        await pilot.press("enter")  # This one

        def notified(text: str) -> bool:
            return any(text in notice.message for notice in app._notifications)

        await until(pilot, lambda: notified("1 of 1 invitation resent. 1 email: 1 queued."))
        await until(pilot, lambda: notified("1 email: 1 delivered."))
    delivered = [to for message in mail_server.handler.received for to in message.recipients]
    assert sorted(delivered) == ["ann@example.org", "ann@example.org", "bo@example.org"]
