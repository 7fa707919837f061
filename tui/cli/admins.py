"""`roster admins`: the organization's admins, listed; and, for its owners, an admin added,
changed or removed, or given a new token. A token is printed once, when it is made.

A new token for oneself (`roster admins rotate` without an email, or with one's own) replaces
the one this command was run with, which opens nothing from then on; the new one is kept where
the old one was read from, so that the next command still works: the embedded service's token
file in the data directory, or the config file `roster login` writes. A token given with
--token or ROSTER_TOKEN cannot be rewritten: the command says to set it to the new one.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from tui.cli.options import batch_settings
from tui.cli.output import Format, output_of, print_json, print_list
from tui.outcome import Exit, Failure

if TYPE_CHECKING:
    from tui.api.client import RosterClient
    from tui.settings import Settings
    from tui.wire import models as wire


def admins(options: argparse.Namespace) -> int:
    """`roster admins [add|change|remove|rotate] [EMAIL]`."""
    from tui.cli.client import run

    output = output_of(options)
    settings = batch_settings(options)
    action: str | None = options.action
    if action is None:
        if options.email:
            raise Failure("usage", "An email goes with an action: roster admins rotate EMAIL.")
        return run(list_admins(settings, output), output)
    if action in ("add", "change", "remove") and not options.email:
        raise Failure("usage", f"Name the admin to {action}: roster admins {action} EMAIL.")
    if action == "add" and options.role is None:
        raise Failure(
            "usage", "Name the new admin's role: --role owner, --role manager or --role viewer."
        )
    if action != "rotate" and options.email and "@" not in options.email:
        raise Failure("usage", f"{options.email!r} is not an email address.")
    return run(act(settings, options, output), output)


async def list_admins(settings: Settings, output: Format) -> int:
    from tui.cli.client import connect

    async with connect(settings) as client:
        found = (await client.admins()).items
        names = await _program_names(client)
    print_list(
        output,
        [admin.model_dump(mode="json") for admin in found],
        ["ID", "EMAIL", "ROLE", "PROGRAMS", "ADDED", "TOKEN ROTATED"],
        [
            [
                a.id,
                a.email,
                a.role,
                _programs_text(a, names),
                f"{a.created_at:%Y-%m-%d}",
                f"{a.token_rotated_at:%Y-%m-%d %H:%M}" if a.token_rotated_at else "never",
            ]
            for a in found
        ],
    )
    return Exit.OK


async def act(settings: Settings, options: argparse.Namespace, output: Format) -> int:
    from tui.cli.client import connect
    from tui.wire import models as wire

    async with connect(settings) as client:
        programs = [await _program_id(client, ref) for ref in options.program or []]
        if options.action == "add":
            body = wire.AdminCreate(email=options.email, role=options.role, programs=programs)
            made = await client.add_admin(body)
            _print_token(output, made, None)
            return Exit.OK
        if options.action == "rotate":
            me = await client.me()
            own = not options.email or options.email.strip().lower() == me.admin_email.lower()
            admin_id = None if own else (await _find(client, options.email)).id
            made = await client.rotate_token(admin_id)
            kept_in = _keep_own_token(settings, options, made.token) if own else None
            _print_token(output, made, kept_in)
            return Exit.OK
        admin = await _find(client, options.email)
        if options.action == "remove":
            record = await client.remove_admin(admin.id)
            done = f"Removed {record.email}: their token opens nothing from now on."
        else:
            change = wire.AdminChange(
                role=options.role,
                programs=[] if options.all_programs else (programs or None),
            )
            record = await client.change_admin(admin.id, change)
            done = f"{record.email} is now {_role_text(record, await _program_names(client))}."
    if output == "json":
        print_json(record.model_dump(mode="json"))
    else:
        print(done)
    return Exit.OK


def _print_token(output: Format, made: wire.AdminToken, kept_in: str | None) -> None:
    """The new token, printed this once, and where it is kept when it is the command's own."""
    if output == "json":
        print_json({**made.model_dump(mode="json"), "kept_in": kept_in})
        return
    admin = made.admin
    print(f"email: {admin.email}\nrole: {admin.role}\ntoken: {made.token}")
    print("Keep the token: it is shown only once.", file=sys.stderr)
    if kept_in:
        print(f"Your new token is kept in {kept_in}; the old one opens nothing.", file=sys.stderr)


def _keep_own_token(settings: Settings, options: argparse.Namespace, token: str) -> str | None:
    """Keep one's new token where the old one was read from; where, or None when it came from
    --token or ROSTER_TOKEN (told on stderr, naming which: the next command needs the new
    one)."""
    from tui.cli.output import print_warning
    from tui.config_file import CONFIG_FILE, source_of

    if not settings.api_url:
        from tui.service.runtime import keep_embedded_token

        return str(keep_embedded_token(settings.data_dir, token))
    given = {"token": options.token} if getattr(options, "token", None) is not None else {}
    source = source_of("token", given)
    if source == str(CONFIG_FILE):
        from tui.settings import update_config_file

        update_config_file({"token": token})
        return source
    where = "given with --token" if source == "--token" else f"from {source}"
    print_warning(
        f"the old token ({where}) opens nothing now: use the new one (with --token or "
        "ROSTER_TOKEN), or keep it with `roster login`."
    )
    return None


async def _find(client: RosterClient, email: str) -> wire.AdminRecord:
    from tui.cli.client import CommandError

    listed = (await client.admins()).items
    for admin in listed:
        if admin.email.lower() == email.strip().lower():
            return admin
    raise CommandError(
        f"No admin {email!r} in this organization; `roster admins` lists them.",
        code="admin_not_found",
    )


async def _program_id(client: RosterClient, ref: str) -> int:
    from tui.cli.client import find_program

    return (await find_program(client, ref)).id


async def _program_names(client: RosterClient) -> dict[int, str]:
    return {program.id: program.name for program in (await client.programs()).items}


def _programs_text(admin: wire.AdminRecord, names: dict[int, str]) -> str:
    if admin.programs is None:
        return "all"
    return ", ".join(names.get(program_id, f"#{program_id}") for program_id in admin.programs)


def _role_text(admin: wire.AdminRecord, names: dict[int, str]) -> str:
    if admin.role != "manager":
        return f"an {admin.role}" if admin.role == "owner" else f"a {admin.role}"
    if admin.programs is None:
        return "a manager of every program"
    return f"a manager of {_programs_text(admin, names)}"
