"""A program's members from the command line: `roster members --program P [--search S]` lists
them, `roster members remove --program P (EMAIL... | --file F) [--reason TEXT] [--yes]` ends
their membership (their seats are free at once)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tui.cli.options import batch_settings
from tui.cli.output import Format, output_of, print_json, print_list
from tui.outcome import Exit, Failure
from tui.text import noun, plural

if TYPE_CHECKING:
    from rich.progress import Progress

    from tui.settings import Settings
    from tui.wire import models as wire


def members(options: argparse.Namespace) -> int:
    """`roster members`: the list of a program's members, or `members remove` some of them."""
    from tui.cli.client import run

    output = output_of(options)
    settings = batch_settings(options)
    if not options.program:
        raise Failure(
            "usage", "Name the program: roster members --program P (an id or the exact name)."
        )
    if options.action == "remove":
        emails = _named_emails(options.emails, options.file, settings)
        selection = _selection(emails, options.reason)
        return run(
            remove_members(settings, options.program, selection, yes=options.yes, output=output),
            output,
        )
    return run(list_members(settings, options.program, options.search, output), output)


async def list_members(settings: Settings, program_ref: str, q: str, output: Format) -> int:
    """Every member of the program the search matches, in the order they were invited."""
    from tui.cli.client import connect, find_program

    found: list[wire.Member] = []
    async with connect(settings) as client:
        program = await find_program(client, program_ref)
        while True:
            page = await client.members(program.id, q, offset=len(found), limit=500)
            found += page.items
            if len(found) >= page.total or not page.items:
                break
    print_list(
        output,
        [member.model_dump(mode="json") for member in found],
        ["EMAIL", "LEARNER", "EXTERNAL ID", "CONTRACT", "ACCEPTED"],
        [
            [
                m.email,
                m.full_name,
                m.external_id or "",
                m.contract_name,
                f"{m.accepted_at.astimezone():%Y-%m-%d}" if m.accepted_at else "",
            ]
            for m in found
        ],
        total=len(found),
    )
    if output == "table":
        print(plural(len(found), "member") + f" of {program.name}")
    return Exit.OK


def _named_emails(emails: list[str], file: Path | None, settings: Settings) -> list[str]:
    """The emails given, then those of the file, each once (case aside), in their order."""
    if file is not None:
        from tui.intake.email_list import read_email_list
        from tui.intake.report import Problem

        listed = read_email_list(file, settings.limits)
        if isinstance(listed, Problem):
            raise Failure(listed.code, listed.message, path=str(file))
        emails = [*emails, *listed]
    if not emails:
        raise Failure(
            "usage",
            "Name the members to remove: roster members remove --program P EMAIL... or "
            "--file F (a sheet with an Email column, or one address a line).",
        )
    once: dict[str, str] = {}
    for email in emails:
        once.setdefault(email.strip().lower(), email.strip())
    return list(once.values())


def _selection(emails: list[str], reason: str | None) -> wire.MemberSelection:
    """The removal of these emails, its reason checked first (a line or a few, plain text)."""
    from pydantic import TypeAdapter, ValidationError

    from tui.wire import models as wire

    too_long = [email for email in emails if len(email) > wire.MAX_EMAIL_CHARS]
    if too_long:
        raise Failure(
            "invalid_input",
            f"{too_long[0][:40]}… is no email address: over {wire.MAX_EMAIL_CHARS} characters.",
        )
    try:
        checked = TypeAdapter(wire.Reason).validate_python(reason)
    except ValidationError as error:
        why = "; ".join(str(item["msg"]).removeprefix("Value error, ") for item in error.errors())
        raise Failure("invalid_input", f"--reason: {why}.") from None
    # Built without validation: the service takes at most MAX_MEMBERS_NAMED emails a request,
    # and they go a batch at a time.
    return wire.MemberSelection.model_construct(emails=emails, reason=checked)


async def remove_members(
    settings: Settings,
    program_ref: str,
    selection: wire.MemberSelection,
    *,
    yes: bool,
    output: Format,
) -> int:
    """End the membership of the members named, after saying how many and asking; a batch at a
    time, with progress on stderr. Exit 1 when some named were not members."""
    from tui.api.bulk import remove_in_batches
    from tui.cli.client import confirm, connect, find_program

    count = len(selection.emails or [])
    async with connect(settings) as client:
        program = await find_program(client, program_ref)
        print(
            f"Remove: end the membership of {plural(count, 'learner')} in {program.name} "
            "(members only); their seats are free at once"
            + (f'. Reason: "{selection.reason}".' if selection.reason else "."),
            file=sys.stderr,
        )
        if not yes and not await confirm("add --yes to remove members without asking."):
            print("Nothing was changed.", file=sys.stderr)
            return Exit.USAGE
        result = None
        with _progress() as progress:
            task = progress.add_task("Removing members", total=count)
            async for result in remove_in_batches(client, program.id, selection):
                progress.update(task, completed=result.matched)
    removed = result or _nothing()
    if output == "json":
        print_json(
            {"program_id": program.id, **removed.model_dump(mode="json", exclude={"last_id"})}
        )
    else:
        print(
            f"{removed.removed:,} of {plural(removed.matched, 'learner')} named removed from "
            f"{program.name}."
        )
        for why in removed.not_members:
            print(f"  {why.email}: {why.message}")
        if removed.not_members:
            left = len(removed.not_members)
            print(
                f"{plural(left, 'email')} not removed: {noun(left, 'not a member', 'not members')}."
            )
    return Exit.ROW_ERRORS if removed.not_members else Exit.OK


def _progress() -> Progress:
    """A bar on stderr, as `roster import` shows its upload."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn("{task.description:<26}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
    )


def _nothing() -> wire.MemberRemoval:
    from tui.wire import models as wire

    return wire.MemberRemoval(matched=0, removed=0)
