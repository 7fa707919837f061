"""The audit record's chain: an entry changed, removed, or cut off the end is named by
`verify`, on both databases."""

from __future__ import annotations

from sqlalchemy import delete, text, update

from tests.service.conftest import Service
from tui.service import audit
from tui.service.db import AuditEntry


def _three_entries(service: Service) -> None:
    with service.sessions.begin() as session:
        for n, action in enumerate(("program.created", "invitation.revoked", "member.removed")):
            audit.record(
                session,
                service.acme.id,
                audit.Actor("owner@acme.example", None),
                action,
                count=n + 1,
                learners=[f"l{n}@example.com"],
                reason="left the company" if n == 2 else None,
            )
        # Another organization's chain is its own.
        audit.record(session, service.globex.id, audit.AUTOMATIC_ACTOR, "invitation.reminded")


def _verdict(service: Service) -> audit.Verdict:
    with service.sessions() as session:
        return audit.verify(session, service.acme.id)


def test_a_whole_record_verifies(service: Service) -> None:
    _three_entries(service)
    assert _verdict(service) == audit.Verdict(checked=3)
    with service.sessions() as session:
        assert audit.verify(session, service.globex.id) == audit.Verdict(checked=1)


def test_a_changed_entry_is_named(service: Service) -> None:
    _three_entries(service)
    with service.sessions.begin() as session:
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.organization_id == service.acme.id, AuditEntry.seq == 2)
            .values(actor="someone-else@acme.example")
        )
    verdict = _verdict(service)
    assert (verdict.broken_at, verdict.problem) == (2, "entry 2 was changed")


def test_a_removed_entry_is_named(service: Service) -> None:
    _three_entries(service)
    with service.sessions.begin() as session:
        session.execute(
            delete(AuditEntry).where(
                AuditEntry.organization_id == service.acme.id, AuditEntry.seq == 2
            )
        )
    verdict = _verdict(service)
    assert verdict.broken_at == 2 and "removed" in (verdict.problem or "")


def test_a_removed_newest_entry_is_named(service: Service) -> None:
    _three_entries(service)
    with service.sessions.begin() as session:
        session.execute(
            delete(AuditEntry).where(
                AuditEntry.organization_id == service.acme.id, AuditEntry.seq == 3
            )
        )
    verdict = _verdict(service)
    assert verdict.broken_at == 3 and "newest" in (verdict.problem or "")


def test_a_renumbered_chain_with_recomputed_hashes_is_caught(service: Service) -> None:
    """Removing entry 2 and renumbering 3 as 2 breaks the link of the hash before it."""
    _three_entries(service)
    with service.sessions.begin() as session:
        session.execute(
            text("DELETE FROM audit_entries WHERE organization_id = :o AND seq = 2"),
            {"o": service.acme.id},
        )
        session.execute(
            text("UPDATE audit_entries SET seq = 2 WHERE organization_id = :o AND seq = 3"),
            {"o": service.acme.id},
        )
    verdict = _verdict(service)
    assert verdict.broken_at == 2
