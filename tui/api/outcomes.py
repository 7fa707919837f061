"""What became of the emails a resend or a reminder queued: delivered, failed, or still queued.

A resend or a reminder only queues emails; the sender delivers them afterwards, or fails. Who
acted follows them with `follow_emails` until every one has settled or `FOLLOW_FOR` seconds
have passed, and says the outcome, never the intention.

Invitations acted on by id are followed by id. A filter's are followed as its pending
invitations (the only ones a resend or reminder changes): whatever of them is still queued or
being retried, and what failed, counted against the number changed.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from tui.api.client import RosterClient
from tui.text import plural
from tui.wire import models as wire

FOLLOW_FOR = 60.0  # seconds
POLL = 0.5
PAGE = 500  # ids a request
WAITING = ("created", "queued", "retrying")


@dataclass(frozen=True)
class EmailOutcome:
    """Of `changed` invitations emailed again: how many emails were delivered, failed, or are
    still queued (or being retried)."""

    changed: int
    delivered: int
    failed: int
    queued: int

    @property
    def settled(self) -> bool:
        return self.queued == 0

    def text(self) -> str:
        """ "Emails: 3 delivered, 1 failed." or "Emails: 4 queued." """
        parts = []
        if self.delivered:
            parts.append(f"{self.delivered:,} delivered")
        if self.failed:
            parts.append(f"{self.failed:,} failed")
        if self.queued:
            parts.append(f"{self.queued:,} still queued" if parts else f"{self.queued:,} queued")
        return f"{plural(self.changed, 'email')}: {', '.join(parts) or 'none sent'}."


def queued(changed: int) -> EmailOutcome:
    """Right after the action: every email it made is queued, none delivered yet."""
    return EmailOutcome(changed, 0, 0, changed)


async def email_outcome(
    client: RosterClient, selection: wire.InvitationSelection, changed: int
) -> EmailOutcome:
    """Where the emails of the `changed` invitations of `selection` are now."""
    counts: Counter[str] = Counter()
    if selection.ids is not None:
        for start in range(0, len(selection.ids), PAGE):
            page = await client.invitations(
                status="pending", ids=selection.ids[start : start + PAGE], limit=PAGE
            )
            counts.update(invitation.email_status for invitation in page.items)
        waiting = sum(counts[status] for status in WAITING)
        return EmailOutcome(changed, counts["sent"], counts["failed"], waiting)
    # A filter: its pending invitations, whatever their email did before the action (the
    # action moved those it changed out of any email status the filter named).
    for status in (*WAITING, "failed"):
        page = await client.invitations(
            selection.program_id,
            "pending",
            selection.q,
            limit=1,
            email_status=status,
            import_id=selection.import_id,
            contract_id=selection.contract_id,
        )
        counts[status] = page.total
    waiting = min(sum(counts[status] for status in WAITING), changed)
    failed = min(counts["failed"], changed - waiting)
    return EmailOutcome(changed, changed - waiting - failed, failed, waiting)


async def follow_emails(
    client: RosterClient,
    selection: wire.InvitationSelection,
    changed: int,
    on_update: Callable[[EmailOutcome], None] | None = None,
    *,
    follow_for: float = FOLLOW_FOR,
    poll: float = POLL,
) -> EmailOutcome:
    """Poll until the emails of the `changed` invitations of `selection` have all settled or
    `follow_for` seconds have passed; `on_update` hears each change. The last outcome."""
    deadline = time.monotonic() + follow_for
    last = queued(changed)
    while True:
        now = await email_outcome(client, selection, changed)
        if now != last and on_update is not None:
            on_update(now)
        last = now
        if now.settled or time.monotonic() >= deadline:
            return now
        await asyncio.sleep(poll)
