"""`roster audit`: the organization's audit record, newest first, by filter, as a table, JSON
or CSV; and `roster audit verify`, the check that no entry was changed or removed."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from tui.cli.options import batch_settings
from tui.cli.output import Format, output_of, print_json, print_list
from tui.outcome import Exit, Failure
from tui.text import plural

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tui.settings import Settings
    from tui.wire import models as wire

TABLE_PAGE = 50  # the table shows the newest page; JSON and CSV every entry
_PAGE = 500


def moment(text: str) -> str:
    """--since/--until: a day (YYYY-MM-DD) or an ISO 8601 moment, checked before anything is
    asked of the service."""
    try:
        if len(text) == 10:
            date.fromisoformat(text)
        else:
            datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None
    return text


def audit(options: argparse.Namespace) -> int:
    from tui.cli.client import run

    output = output_of(options)
    settings = batch_settings(options)
    if options.verify:
        return run(verify(settings, output), output)
    if options.action:
        from tui.service.audit import ACTIONS

        if options.action not in ACTIONS:
            raise Failure(
                "usage",
                f"No action {options.action!r}; the record's actions are: {', '.join(ACTIONS)}.",
            )
    filters = {
        "since": options.since,
        "until": options.until,
        "actor": options.actor,
        "action": options.action,
    }
    return run(list_entries(settings, filters, options.program, output), output)


async def list_entries(
    settings: Settings, filters: dict[str, Any], program_ref: str | None, output: Format
) -> int:
    from tui.cli.client import connect, find_program

    entries: list[wire.AuditEntry] = []
    async with connect(settings) as client:
        if program_ref:
            filters["program_id"] = (await find_program(client, program_ref)).id
        while True:
            limit = TABLE_PAGE if output == "table" else _PAGE
            page = await client.audit(offset=len(entries), limit=limit, **filters)
            entries += page.items
            if output == "table" or len(entries) >= page.total or not page.items:
                break
    print_list(
        output,
        [entry.model_dump(mode="json") for entry in entries],
        ["#", "WHEN", "WHO", "ACTION", "PROGRAM", "COUNT", "LEARNERS / REASON"],
        [
            [
                e.seq,
                f"{e.at.astimezone():%Y-%m-%d %H:%M}",
                e.actor,
                e.action,
                e.program_name or "-",
                e.count,
                _summary(e),
            ]
            for e in entries
        ],
        total=page.total,
    )
    if output == "table":
        more = page.total - len(entries)
        print(
            f"{plural(page.total, 'entry', 'entries')}, newest first"
            + (
                f"; {more:,} older not shown: --format json or csv prints them all, "
                "--since DATE narrows the table."
                if more > 0
                else "."
            )
        )
    return Exit.OK


def _summary(entry: wire.AuditEntry) -> str:
    """The learners (the first two, and how many more) and the reason, in one short cell."""
    parts = []
    if entry.learners:
        shown = ", ".join(entry.learners[:2])
        more = len(entry.learners) - 2
        parts.append(shown + (f" +{more}" if more > 0 else ""))
    if entry.reason:
        parts.append(f"reason: {entry.reason}")
    return "; ".join(parts)[:80]


async def verify(settings: Settings, output: Format) -> int:
    """The record's check: exit 0 when whole; when not, exit 6 (Exit.TAMPERED) naming the
    first entry changed or removed."""
    from tui.cli.client import connect

    async with connect(settings) as client:
        verdict = await client.audit_verify()
    if output == "json":
        print_json(verdict.model_dump())
    elif verdict.whole:
        print(f"The audit record is whole: {plural(verdict.checked, 'entry', 'entries')} checked.")
    else:
        print(
            f"roster: the audit record is not whole: {verdict.problem} "
            f"(the {plural(verdict.checked, 'entry', 'entries')} before it hold). Entry "
            f"{verdict.broken_at} and what follows cannot be trusted; restore the database "
            "from a backup to see what it was.",
            file=sys.stderr,
        )
    return Exit.OK if verdict.whole else Exit.TAMPERED


def verify_on_database(session: Session, options: argparse.Namespace) -> dict[str, Any]:
    """`roster admin audit-verify --org ORG`: the same check, by an operator on the database
    itself (no service, no token). A broken record is a Failure with exit 6."""
    from tui.service import audit as record
    from tui.service.admin import find_organization

    organization = find_organization(session, options.org)
    verdict = record.verify(session, organization.id)
    if verdict.broken_at is not None:
        raise Failure(
            "audit_broken",
            f"The audit record of {organization.name} is not whole: {verdict.problem} (the "
            f"{plural(verdict.checked, 'entry', 'entries')} before it hold).",
            Exit.TAMPERED,
            organization_id=organization.id,
            checked=verdict.checked,
            broken_at=verdict.broken_at,
        )
    return {"organization_id": organization.id, "whole": True, "checked": verdict.checked}
