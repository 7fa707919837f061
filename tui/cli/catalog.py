"""Contracts and programs changed, under the one set of rules of `tui.service.catalog`: by
operators on the database (`roster admin edit-contract`, `edit-program`, `archive-contract`,
`archive-program`: each an action `operators.admin` runs in one transaction), and by owners
through the service (`roster programs edit|archive|restore PROGRAM`, `roster contracts
edit|archive|restore CONTRACT --program P`)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from tui.cli.options import batch_settings
from tui.cli.output import Format, output_of, print_record
from tui.outcome import Exit, Failure

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tui.service.catalog import Changes
    from tui.service.db import Contract, Program
    from tui.settings import Settings


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


# Owners, through the service.


def programs(options: argparse.Namespace) -> int:
    """`roster programs`: the list, or with an action a change to one program."""
    from tui.cli import lists
    from tui.cli.client import run

    if not options.action:
        return lists.programs(options)
    output = output_of(options)
    return run(change_program(batch_settings(options), options, output), output)


def contracts(options: argparse.Namespace) -> int:
    """`roster contracts --program P`: the list, or with an action a change to one contract."""
    from tui.cli import lists
    from tui.cli.client import run

    if not options.action:
        return lists.contracts(options)
    output = output_of(options)
    return run(change_contract(batch_settings(options), options, output), output)


async def change_program(settings: Settings, options: argparse.Namespace, output: Format) -> int:
    from tui.cli.client import connect, find_program
    from tui.wire import models as wire

    target = _target(options, "program")
    async with connect(settings) as client:
        program = await find_program(client, target)
        if options.action == "edit":
            given = {
                field: value
                for field, value in (("name", options.name), ("description", options.description))
                if value is not None
            }
            if not given:
                raise Failure("usage", "Nothing to change: give --name or --description.")
            changed = await client.edit_program(program.id, wire.ProgramChange(**given))
        else:
            changed = await client.archive_program(program.id, restore=options.action == "restore")
    print_record(output, changed.model_dump(mode="json"))
    return Exit.OK


async def change_contract(settings: Settings, options: argparse.Namespace, output: Format) -> int:
    from tui.cli.client import connect, find_contract, find_program
    from tui.wire import models as wire

    target = _target(options, "contract")
    async with connect(settings) as client:
        program = await find_program(client, options.program)
        contract = await find_contract(client, program, target)
        if options.action == "edit":
            given: dict[str, Any] = {}
            if options.name is not None:
                given["name"] = options.name
            if options.unlimited or options.seats is not None:
                given["seats"] = None if options.unlimited else options.seats
            if options.no_starts or options.starts is not None:
                given["starts_on"] = None if options.no_starts else options.starts
            if options.no_ends or options.ends is not None:
                given["ends_on"] = None if options.no_ends else options.ends
            if not given:
                raise Failure(
                    "usage",
                    "Nothing to change: give --name, --seats or --unlimited, --starts or "
                    "--no-starts, --ends or --no-ends.",
                )
            changed = await client.edit_contract(contract.id, wire.ContractChange(**given))
        else:
            restore = options.action == "restore"
            changed = await client.archive_contract(contract.id, restore=restore)
    record = changed.model_dump(mode="json", exclude={"program_ids", "unavailable_reason"})
    print_record(output, record)
    return Exit.OK


def _target(options: argparse.Namespace, kind: str) -> str:
    if not options.target:
        raise Failure("usage", f"Name the {kind} to {options.action}: its id or exact name.")
    return str(options.target)
