"""The operators' commands that change contracts and programs (`roster admin edit-contract`,
`edit-program`, `archive-contract`, `archive-program`): each an action `operators.admin` runs
in one transaction, under the rules the owners' API follows (`tui.service.catalog`)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from tui.cli.output import output_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tui.service.catalog import Changes
    from tui.service.db import Contract, Program


def edit_contract(session: Session, options: argparse.Namespace) -> dict[str, Any]:
    from tui.service import audit, catalog
    from tui.service.admin import InvalidInput, find_organization

    organization = find_organization(session, options.org)
    contract = catalog.find_contract(session, organization.id, options.contract)
    fields: dict[str, Any] = {
        "name": options.name,
        "seats": None if options.unlimited else options.seats,
        "starts_on": None if options.no_starts else options.starts,
        "ends_on": None if options.no_ends else options.ends,
    }
    given = {
        "name": options.name is not None,
        "seats": options.unlimited or options.seats is not None,
        "starts_on": options.no_starts or options.starts is not None,
        "ends_on": options.no_ends or options.ends is not None,
    }
    if not any(given.values()):
        raise InvalidInput(
            "Nothing to change: give --name, --seats or --unlimited, --starts or --no-starts, "
            "--ends or --no-ends."
        )
    changes = catalog.edit_contract(
        session,
        contract,
        audit.Actor.operator(),
        **{field: value for field, value in fields.items() if given[field]},
    )
    return {**_contract_record(session, contract), "changed": _changed(options, changes)}


def edit_program(session: Session, options: argparse.Namespace) -> dict[str, Any]:
    from tui.service import audit, catalog
    from tui.service.admin import InvalidInput, find_organization, find_program

    organization = find_organization(session, options.org)
    program = find_program(session, organization.id, options.program)
    given = {
        field: value
        for field, value in (("name", options.name), ("description", options.description))
        if value is not None
    }
    if not given:
        raise InvalidInput("Nothing to change: give --name or --description.")
    changes = catalog.edit_program(session, program, audit.Actor.operator(), **given)
    return {**_program_record(program), "changed": _changed(options, changes)}


def archive_contract(session: Session, options: argparse.Namespace) -> dict[str, Any]:
    from tui.service import audit, catalog
    from tui.service.admin import find_organization

    organization = find_organization(session, options.org)
    contract = catalog.find_contract(session, organization.id, options.contract)
    changed = catalog.set_archived(session, contract, audit.Actor.operator(), not options.restore)
    return {**_contract_record(session, contract), "changed": changed}


def archive_program(session: Session, options: argparse.Namespace) -> dict[str, Any]:
    from tui.service import audit, catalog
    from tui.service.admin import find_organization, find_program

    organization = find_organization(session, options.org)
    program = find_program(session, organization.id, options.program)
    changed = catalog.set_archived(session, program, audit.Actor.operator(), not options.restore)
    return {**_program_record(program), "changed": changed}


def _contract_record(session: Session, contract: Contract) -> dict[str, Any]:
    from tui.service.seats import seats_used

    return {
        "id": contract.id,
        "name": contract.name,
        "seats_total": contract.seats,
        "seats_used": seats_used(session, contract.id),
        "starts_on": contract.starts_on,
        "ends_on": contract.ends_on,
        "archived_at": contract.archived_at,
    }


def _program_record(program: Program) -> dict[str, Any]:
    return {
        "id": program.id,
        "name": program.name,
        "description": program.description,
        "archived_at": program.archived_at,
    }


def _changed(options: argparse.Namespace, changes: Changes) -> Changes | str:
    """What changed: {field: [old, new]} in JSON; for people, `field: old → new; ...`."""
    if output_of(options) == "json":
        return changes
    if not changes:
        return "nothing (already so)"
    return "; ".join(
        f"{field}: {_shown(field, old)} → {_shown(field, new)}"
        for field, (old, new) in changes.items()
    )


def _shown(field: str, value: object) -> str:
    if value is None:
        return "unlimited" if field == "seats" else "none"
    return str(value)
