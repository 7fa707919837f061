"""The audit record: every change, who made it, in the same transaction as the change.

Entries are append-only and chained per organization: each holds the hash of the one before
it, and the organization keeps the newest hash and the count (`Organization.audit_head`,
`audit_count`). `verify` walks the chain and names the first entry that was changed or
removed, the newest ones included.

Writers of one organization take their turn: on PostgreSQL the organization's row is locked
(`FOR UPDATE`) for the rest of the transaction, on SQLite the write transaction already
holds the database's one write lock. Each change writes one entry, at its end, so the turn
is held only until its commit; a million-row import writes one entry with its counts.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from tui.service.db import Admin, AuditEntry, Organization, utcnow

GENESIS: Final = "0" * 64
# An entry names its learners (emails) when there are at most this many; beyond it, the count
# and the filter that chose them.
MAX_NAMED_LEARNERS: Final = 1000
AUTOMATIC: Final = "automatic"

# Every action the record knows, in the words `roster audit --action` takes.
ACTIONS: Final = (
    "import.committed",
    "invitation.created",
    "invitation.resent",
    "invitation.reminded",
    "invitation.revoked",
    "member.removed",
    "learner.updated",
    "program.created",
    "program.edited",
    "program.archived",
    "program.synced",
    "program.restored",
    "contract.created",
    "contract.edited",
    "contract.archived",
    "contract.restored",
    "admin.added",
    "admin.changed",
    "admin.removed",
    "admin.token_rotated",
    "policy.changed",
    "organization.sender_changed",
)


@dataclass(frozen=True)
class Actor:
    """Who made a change: an admin (through the API), an operator (the `roster admin`
    commands, on the database itself) or Roster on its own (an automatic reminder)."""

    name: str
    admin_id: int | None = None

    @classmethod
    def admin(cls, admin: Admin) -> Actor:
        return cls(admin.email, admin.id)

    @classmethod
    def operator(cls) -> Actor:
        try:
            login = getpass.getuser()
        except (KeyError, OSError):  # no name for this uid, as in some containers
            login = "unknown"
        return cls(f"operator ({login})")


AUTOMATIC_ACTOR: Final = Actor(AUTOMATIC)


def _digest(entry: AuditEntry) -> str:
    """The entry's hash: its fields and the hash before it, as canonical JSON."""
    fields = {
        "organization_id": entry.organization_id,
        "seq": entry.seq,
        "at": entry.at.isoformat(timespec="microseconds"),
        "admin_id": entry.admin_id,
        "actor": entry.actor,
        "action": entry.action,
        "program_id": entry.program_id,
        "contract_id": entry.contract_id,
        "count": entry.count,
        "learners": entry.learners,
        "reason": entry.reason,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(
    session: Session,
    organization_id: int,
    actor: Actor,
    action: str,
    *,
    program_id: int | None = None,
    contract_id: int | None = None,
    count: int = 0,
    learners: list[str] | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append an entry to the organization's record, in the caller's transaction: it commits
    with the change or not at all. Call it last in the transaction (see the module's note)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    organization = session.scalars(
        select(Organization).where(Organization.id == organization_id).with_for_update()
    ).one()
    if learners is not None and len(learners) > MAX_NAMED_LEARNERS:
        learners = None
    entry = AuditEntry(
        organization_id=organization_id,
        seq=organization.audit_count + 1,
        # Stored naive, to the microsecond, on both databases: the hash is of what is stored.
        at=(at or utcnow()).replace(tzinfo=None),
        admin_id=actor.admin_id,
        actor=actor.name,
        action=action,
        program_id=program_id,
        contract_id=contract_id,
        count=count,
        learners=learners,
        reason=reason or None,
        details=details or None,
        prev_hash=organization.audit_head or GENESIS,
    )
    entry.hash = _digest(entry)
    organization.audit_head = entry.hash
    organization.audit_count = entry.seq
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class Verdict:
    """What `verify` found: the entries checked, and the first break in the chain (None: the
    record is whole)."""

    checked: int
    broken_at: int | None = None  # the seq of the first entry changed or missing
    problem: str | None = None


def verify(session: Session, organization_id: int, batch: int = 5000) -> Verdict:
    """Walk the organization's chain from its first entry; name the first that was changed
    (its hash no longer matches), removed (a gap in the sequence, or a link that does not
    hold) or cut off the end (fewer entries than the organization counts)."""
    organization = session.get_one(Organization, organization_id)
    previous, expected, checked = GENESIS, 1, 0
    last_seq = 0
    while True:
        entries = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.organization_id == organization_id, AuditEntry.seq > last_seq)
            .order_by(AuditEntry.seq)
            .limit(batch)
        ).all()
        if not entries:
            break
        for entry in entries:
            if entry.seq != expected:
                return Verdict(checked, expected, f"entry {expected} is missing: it was removed")
            if entry.prev_hash != previous:
                return Verdict(
                    checked,
                    entry.seq,
                    f"entry {entry.seq} does not follow entry {entry.seq - 1}: "
                    "an entry before it was changed or replaced",
                )
            if _digest(entry) != entry.hash:
                return Verdict(checked, entry.seq, f"entry {entry.seq} was changed")
            previous, expected, checked = entry.hash, expected + 1, checked + 1
            last_seq = entry.seq
        session.expunge_all()
    if checked < organization.audit_count:
        return Verdict(
            checked,
            checked + 1,
            f"entries {checked + 1} to {organization.audit_count} are missing: "
            "the newest entries were removed",
        )
    if organization.audit_head not in (None, previous) and checked:
        return Verdict(checked, checked, f"entry {checked} was changed")
    return Verdict(checked)
