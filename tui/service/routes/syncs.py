"""A sync's preview and commit: an import started with `mode` "sync" (tui.service.sync)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from sqlalchemy import delete
from sqlalchemy.orm import Session

from tui.service import audit
from tui.service.db import Admin, Import, ImportChunk, utcnow
from tui.service.deps import Id, WriterAdmin, WriteSessionDep, notify_sender, owned
from tui.service.errors import ApiProblem
from tui.service.serializers import import_out
from tui.wire import models as wire

# polars (through tui.service.sync) is imported when a sync is read or committed: the service
# starts without it, and a command that only lists never loads it.
if TYPE_CHECKING:
    import polars as pl

    from tui.service.sync import SyncOutcome

# A sync that would remove more than this share of the program's learners is refused unless
# it allows at least that many removals (the setting sync_max_removal_share).
DEFAULT_MAX_REMOVAL_SHARE = 0.10

router = APIRouter(prefix="/imports", tags=["imports"])
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": wire.ProblemDetail}}


def max_share(request: Request) -> float:
    """The share of a program's learners a sync may remove (the setting
    sync_max_removal_share), as the service that runs was given it."""
    return float(getattr(request.app.state, "sync_max_removal_share", DEFAULT_MAX_REMOVAL_SHARE))


def _sync_of(session: Session, me: Admin, import_id: int) -> Import:
    record = owned(session, Import, import_id, me, "import")
    if record.mode != "sync":
        raise ApiProblem(
            409,
            "Not a sync",
            f"Import {import_id} is no sync; only a sync (mode sync) has a diff.",
            code="not_a_sync",
        )
    return record


@router.get("/{import_id}/diff", responses=CONFLICT)
def sync_diff(
    import_id: Id, rows: int, session: WriteSessionDep, me: WriterAdmin, request: Request
) -> wire.SyncDiff:
    """What committing the sync would do, computed from its uploaded rows (`rows` of them) as
    the commit does under the program's locks, and then undone: nothing changes."""
    from tui.service.invitations import ImportConflict
    from tui.service.sync import commit_sync

    record = _sync_of(session, me, import_id)
    try:
        outcome = commit_sync(
            session, record, rows, date.today(), max_share=max_share(request), now=utcnow()
        )
    except ImportConflict as conflict:
        session.rollback()
        raise ApiProblem(409, "No diff", conflict.message, conflict.code) from None
    session.rollback()
    return diff_out(record, outcome, max_share(request))


def sync_commit(
    session: Session, me: Admin, record: Import, rows: int, request: Request
) -> wire.ImportStatus:
    """Commit a sync (POST /imports/{id}/commit of a sync): all of it in this transaction, or
    nothing. A sync committed already is answered as it is."""
    from tui.service.invitations import ImportConflict, reject_import
    from tui.service.sync import commit_sync

    if record.status == "committed":
        return import_out(session, record)
    now = utcnow()
    try:
        outcome = commit_sync(
            session, record, rows, date.today(), max_share=max_share(request), now=now
        )
    except ImportConflict as conflict:
        session.rollback()
        raise ApiProblem(409, "Sync not committed", conflict.message, conflict.code) from None
    if outcome.refusal:
        session.rollback()
        code, message = outcome.refusal
        reject_import(session, record)
        session.commit()
        raise ApiProblem(409, "Sync not committed", message, code)
    counts = outcome.counts
    record.status = "committed"
    record.rows = rows
    record.invited = counts["invited"]
    record.errors = counts["errors"]
    record.sync_counts = counts
    record.committed_at = now
    session.execute(delete(ImportChunk).where(ImportChunk.import_id == record.id))
    _record(session, me, record, outcome)
    session.commit()
    if record.send_emails and (counts["invited"] or counts["emailed_updated"]):
        notify_sender(request)
    return import_out(session, record)


def _record(session: Session, me: Admin, record: Import, outcome: SyncOutcome) -> None:
    """The sync's audit entries, last in its transaction: the sync with its counts, then the
    members it removed, the pending invitations it revoked and the learners it updated, each
    one entry naming the learners."""
    actor = audit.Actor.admin(me)
    counts = outcome.counts
    audit.record(
        session,
        me.organization_id,
        actor,
        "program.synced",
        program_id=record.program_id,
        contract_id=record.contract_id,
        count=sum(counts[name] for name in ("invited", "updated", "removed", "revoked")),
        details={"import_id": record.id, "file_name": record.file_name, **counts},
    )
    if record.remove_missing:
        import polars as pl

        # Members removed and pending invitations revoked are each on the record as what they
        # are, as when an admin removes or revokes them by hand.
        reason = f"Not in the synced file {record.file_name}".strip()
        for status, action in (("member", "member.removed"), ("pending", "invitation.revoked")):
            gone = outcome.remove.filter(pl.col("status") == status)
            if gone.height:
                audit.record(
                    session,
                    me.organization_id,
                    actor,
                    action,
                    program_id=record.program_id,
                    count=gone.height,
                    learners=_named(gone["old_email"]),
                    reason=reason,
                    details={"import_id": record.id},
                )
    if outcome.update.height:
        audit.record(
            session,
            me.organization_id,
            actor,
            "learner.updated",
            program_id=record.program_id,
            count=outcome.update.height,
            learners=_named(outcome.update["email"]),
            details={"import_id": record.id, "fields": "from the synced file"},
        )


def _named(emails: pl.Series) -> list[str]:
    return emails.head(audit.MAX_NAMED_LEARNERS + 1).sort().to_list()


def diff_out(record: Import, outcome: SyncOutcome, share: float) -> wire.SyncDiff:
    refusal_code, refusal = outcome.refusal or (None, None)
    return wire.SyncDiff(
        import_id=record.id,
        remove_missing=record.remove_missing,
        learners=outcome.learners,
        max_removal_share=share,
        invite=[
            wire.SyncLearner.model_validate(row)
            for row in outcome.invite.select("row", "full_name", "email", "external_id").to_dicts()
        ],
        update=[
            wire.SyncUpdate.model_validate(row)
            for row in outcome.update.select(
                "row",
                "learner_id",
                "full_name",
                "email",
                "external_id",
                "old_full_name",
                "old_email",
                "old_external_id",
            ).to_dicts()
        ],
        remove=[
            wire.SyncLearner(full_name=name, email=email, external_id=external_id, status=status)
            for name, email, external_id, status in outcome.remove.select(
                "old_full_name", "old_email", "old_external_id", "status"
            ).iter_rows()
        ],
        unchanged=outcome.unchanged,
        errors=[wire.SyncError.model_validate(row) for row in outcome.errors.to_dicts()],
        refusal_code=refusal_code,
        refusal=refusal,
    )
