"""Bulk actions on invitations a batch at a time, so that whoever runs one can show how far along
it is and stop it between batches.

Marked invitations go as slices of their ids. A filter goes by keyset (`after_id` and `limit`,
see `wire.InvitationSelection`): the service finds each batch itself, so no id of a filter of a
million invitations comes to the app, and a batch that leaves the filter (revoked ones are no
longer pending) does not move the next one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncGenerator

from tui.api.client import RosterClient
from tui.wire import models as wire

# Each batch is one request and one transaction on the service: a few tens of milliseconds of
# the database's write lock, so the mail sender and other admins get their turn in between, and
# a million invitations move the progress bar in 500 steps.
BATCH = 2_000


def added(total: wire.BulkResult, batch: wire.BulkResult) -> wire.BulkResult:
    """What the batches did so far, and one more."""
    left = Counter(total.left)
    left.update(batch.left)
    return wire.BulkResult(
        matched=total.matched + batch.matched,
        changed=total.changed + batch.changed,
        left=dict(left),
        last_id=batch.last_id,
    )


async def act_in_batches(
    client: RosterClient, action: str, selection: wire.InvitationSelection, batch: int = BATCH
) -> AsyncGenerator[wire.BulkResult, None]:
    """Resend, remind or revoke (`action`) what `selection` names, a batch at a time; after each
    batch, what was done so far. The caller may stop iterating between batches: every batch is
    then either done or untouched, and the total it last got says which were done."""
    total = wire.BulkResult(matched=0, changed=0)
    if selection.ids is not None:
        for start in range(0, len(selection.ids), batch):
            part = selection.model_copy(update={"ids": selection.ids[start : start + batch]})
            total = added(total, await client.bulk(action, part))
            yield total
        return
    after: int | None = None
    while True:
        next_batch = selection.model_copy(update={"after_id": after, "limit": batch})
        result = await client.bulk(action, next_batch)
        total = added(total, result)
        yield total
        if result.last_id is None or result.matched < batch:
            return
        after = result.last_id
