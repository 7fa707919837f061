"""What Invite Learner says once the invitation exists: its own words for one invitation, from
the service's answer, never an import's counts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from textual.content import Content

from tui.screens.invite_learner import invitation_text
from tui.wire import models as wire


def invitation(**changed: Any) -> wire.Invitation:
    values: dict[str, Any] = {
        "id": 41,
        "program_id": 1,
        "program_name": "Inclusive Hiring",
        "contract_id": 2,
        "contract_name": "Enterprise [2026]",
        "learner_id": 3,
        "email": "zoe.walker@example.org",
        "full_name": "Zoe [b]Walker",
        "external_id": None,
        "status": "pending",
        "email_status": "sent",
        "import_id": None,
        "created_at": datetime(2026, 4, 1, 9, tzinfo=UTC),
        "expires_at": datetime(2026, 5, 1, 9, tzinfo=UTC),
    }
    return wire.Invitation(**(values | changed))


def shown(text: Content) -> str:
    return text.plain


def test_a_sent_invitation_names_the_learner_the_program_and_the_contract() -> None:
    text = shown(invitation_text(invitation(), sent=True))
    # Brackets in names are the learner's own text, not markup.
    assert "Zoe [b]Walker <zoe.walker@example.org> is invited to Inclusive Hiring" in text
    assert "on the contract Enterprise [2026]" in text
    assert text.endswith("The invitation email was sent.")
    assert "import" not in text.lower()


def test_a_failed_email_says_why_and_how_to_send_it_again() -> None:
    failed = invitation(email_status="failed", email_error="550 mailbox unavailable")
    text = shown(invitation_text(failed, sent=True))
    assert "The invitation email failed: 550 mailbox unavailable" in text
    assert "roster invitations resend 41" in text


def test_an_email_still_queued_says_roster_keeps_sending_it() -> None:
    queued = invitation(email_status="retrying", email_error="connection refused")
    text = shown(invitation_text(queued, sent=True))
    assert "still queued (connection refused): Roster keeps sending it" in text


def test_without_the_email_it_says_none_was_sent() -> None:
    text = shown(invitation_text(invitation(email_status="created"), sent=False))
    assert "No email was sent" in text
    assert "was sent." not in text
