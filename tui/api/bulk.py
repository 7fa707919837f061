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
from typing import Any

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


# Members are removed a thousand at a time: each batch is one audit entry, and an entry names
# its learners up to a thousand (tui.service.audit.MAX_NAMED_LEARNERS).
MEMBER_BATCH = 1_000


def removed_so_far(total: wire.MemberRemoval, batch: wire.MemberRemoval) -> wire.MemberRemoval:
    """What the removal's batches did so far, and one more."""
    return wire.MemberRemoval(
        matched=total.matched + batch.matched,
        removed=total.removed + batch.removed,
        not_members=total.not_members + batch.not_members,
        last_id=batch.last_id,
    )


async def remove_in_batches(
    client: RosterClient,
    program_id: int,
    selection: wire.MemberSelection,
    batch: int = MEMBER_BATCH,
) -> AsyncGenerator[wire.MemberRemoval, None]:
    """Remove the members `selection` names from the program a batch at a time, as
    `act_in_batches` does: emails or learner ids as slices, `all_matching` by keyset; after
    each batch, what was done so far. Keyset batches go on until the service says none is left
    (a member another admin removed meanwhile makes a batch short without ending the list)."""
    total = wire.MemberRemoval(matched=0, removed=0)
    for field in ("emails", "learner_ids"):
        named: list[Any] | None = getattr(selection, field)
        if named is None:
            continue
        for start in range(0, len(named), batch):
            part = selection.model_copy(update={field: named[start : start + batch]})
            total = removed_so_far(total, await client.remove_members(program_id, part))
            yield total
        return
    after: int | None = None
    while True:
        next_batch = selection.model_copy(update={"after_id": after, "limit": batch})
        result = await client.remove_members(program_id, next_batch)
        total = removed_so_far(total, result)
        yield total
        if result.last_id is None:
            return
        after = result.last_id
