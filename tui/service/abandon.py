"""Imports that will never commit: given up by their client, failed by a storage fault, or
left open by a client that died. Each ends `abandoned` with its chunks dropped, so nothing of
it takes room a retry needs. (No polars here: the service's start runs this.)"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from tui.service.db import Import, ImportChunk, utcnow

# An open import with no chunk or commit for this long lost its client: it is abandoned.
ABANDON_AFTER = timedelta(hours=1)


def abandon_import(session: Session, record: Import) -> None:
    """End an import that will never commit (its client gave it up, or a storage fault failed
    it): no invitations, and its rows are dropped, so nothing of it grows with retries."""
    record.status = "abandoned"
    record.committed_at = utcnow()
    session.execute(delete(ImportChunk).where(ImportChunk.import_id == record.id))


def abandon_idle_imports(session: Session, now: datetime) -> int:
    """Abandon every import still open `ABANDON_AFTER` after its last chunk (or its start):
    a client killed mid-upload never commits. How many were abandoned."""
    last_chunk = (
        select(func.max(ImportChunk.received_at))
        .where(ImportChunk.import_id == Import.id)
        .scalar_subquery()
    )
    idle = session.scalars(
        select(Import.id).where(
            Import.status == "open",
            func.coalesce(last_chunk, Import.created_at) < now - ABANDON_AFTER,
        )
    ).all()
    for start in range(0, len(idle), 500):
        batch = idle[start : start + 500]
        session.execute(delete(ImportChunk).where(ImportChunk.import_id.in_(batch)))
        session.execute(
            update(Import).where(Import.id.in_(batch)).values(status="abandoned", committed_at=now)
        )
    return len(idle)
