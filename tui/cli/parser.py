"""The `roster` command's arguments: every command, its options and its help, and the handler
that runs it (`set_defaults(handler=...)`; without a command, the app).

The handlers' modules import only what every command needs; each handler imports the rest, so
`roster check` starts fast and loads nothing it does not use."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, NoReturn, Protocol

from tui.cli.output import FORMATS, LIST_FORMATS
from tui.intake.fields import HEADERS, all_headers_required


def later(module: str, name: str) -> Callable[..., Any]:
    """The function `name` of `module`, imported when it is called: building the parser loads
    no command's module, only the one that runs (every command, and the app, start 30 ms
    sooner)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


class RosterParser(argparse.ArgumentParser):
    """A parser whose usage errors are one JSON document when the command line asks for
    `--format json`: a script reads every outcome the same way, a refusal of its arguments
    included (exit status 2, as argparse's own)."""

    wants_json = False  # set by `build_parser` from the command line about to be parsed

    def error(self, message: str) -> NoReturn:
        if RosterParser.wants_json:
            import json

            document = {"error": {"code": "usage", "message": f"{message} (see {self.prog} -h)"}}
            print(json.dumps(document, ensure_ascii=False))
            raise SystemExit(2)
        super().error(message)


def _asks_json(argv: Sequence[str]) -> bool:
    return any(
        (word == "--format" and following == "json") or word == "--format=json"
        # No arguments at all (the app): one pair, ("", nothing), never a match.
        for word, following in zip(argv, [*argv[1:], ""], strict=False)
    )


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser; `argv`, the arguments it will parse (None: sys.argv's), tell
    it whether its usage errors are JSON."""
    RosterParser.wants_json = _asks_json(sys.argv[1:] if argv is None else argv)
    # Options accepted before or after the command: the data directory everywhere, the
    # service's address and token only where a command talks to the service.
    local = RosterParser(add_help=False)
    local.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="data directory of the embedded service (ROSTER_DATA_DIR)",
    )
    client = RosterParser(add_help=False, parents=[local])
    client.add_argument(
        "--api-url",
        default=argparse.SUPPRESS,
        help="a remote `roster serve` (ROSTER_API_URL; default: the embedded demo service)",
    )
    client.add_argument(
        "--token",
        default=argparse.SUPPRESS,
        help="admin token for --api-url; prefer `roster login` or ROSTER_TOKEN, which other "
        "users cannot read in the process list",
    )
    parser = RosterParser(
        prog="roster",
        description="Invite learners to a learning program in bulk, from the terminal. "
        "Without a command, opens the app.",
        parents=[client],
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    parser.set_defaults(handler=later("tui.cli.app", "open_app"), local=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(
        name: str,
        help_: str,
        description: str | None = None,
        *,
        parents: tuple[RosterParser, ...] = (client,),
        local: bool = False,
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=help_, description=description or help_, parents=list(parents)
        )
        sub.set_defaults(local=local)
        return sub

    _intake_commands(command)
    _list_commands(command)
    _member_commands(command, client)
    _admins_command(command)
    _audit_command(command)
    _operator_commands(command, local)
    _account_commands(command)
    return parser


class _Command(Protocol):
    """`command(name, help, description)`: a new command's parser, with the options of
    `parents` (default: those of a command that talks to the service). A `local` command acts
    without a service: `roster` refuses --api-url or --token given before it."""

    def __call__(
        self,
        name: str,
        help_: str,
        description: str | None = None,
        *,
        parents: tuple[RosterParser, ...] = ...,
        local: bool = False,
    ) -> argparse.ArgumentParser: ...


def _output(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--format", choices=FORMATS, default="table")


def _list_output(sub: argparse.ArgumentParser) -> None:
    """--format of a command that prints a list (`output.print_list`): CSV too, every item."""
    sub.add_argument(
        "--format",
        choices=LIST_FORMATS,
        default="table",
        help="table for people, json for scripts, csv for a spreadsheet (every item)",
    )


def _intake_commands(command: _Command) -> None:
    template = command(
        "template",
        f"write the CSV template ({', '.join(HEADERS)})",
        f"Write the CSV template: the header row {', '.join(HEADERS)}. {all_headers_required()}",
        parents=(),
        local=True,
    )
    template.set_defaults(handler=later("tui.cli.files", "template"))
    template.add_argument(
        "path",
        nargs="?",
        default="learners.csv",
        help="file or folder to write to, '-' for standard output (default: learners.csv)",
    )
    template.add_argument("--force", action="store_true", help="replace an existing file")

    check = command(
        "check",
        "check a learner file and report every problem",
        "Read a learner file (CSV, TSV or .xlsx) and report every problem by row. With "
        "--program and --contract, the service's checks too (already invited, seats, ...). "
        "Exit status: 0 clean, 1 row errors, 2 file error or bad usage.",
    )
    check.set_defaults(handler=later("tui.cli.files", "check"))
    check.add_argument("file", type=Path, help="the learner file")
    check.add_argument("--program", help="program id or exact name")
    check.add_argument("--contract", help="contract id or exact name")
    _output(check)

    do_import = command(
        "import",
        "invite the learners of a file: check, upload, commit, send",
        "Invite the ready learners of a file to a program under a contract. Rows with errors "
        "are left out; learners already invited are skipped, so a re-run invites nobody twice.",
    )
    do_import.set_defaults(handler=later("tui.cli.files", "import_file"))
    do_import.add_argument("file", type=Path)
    do_import.add_argument("--program", required=True, help="program id or exact name")
    do_import.add_argument("--contract", required=True, help="contract id or exact name")
    do_import.add_argument(
        "--send",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="send invitation emails (default) or only create invitations",
    )
    do_import.add_argument(
        "--message",
        help="your own words in each invitation email (plain text, at most 1000 characters)",
    )
    do_import.add_argument(
        "--update-learners",
        action="store_true",
        help="give stored learners the file's Full Name and External ID where they differ "
        "(learner_differs); by default the stored values stay",
    )
    do_import.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _output(do_import)
    for reads_file in (check, do_import):
        _column_option(reads_file)
    _sync_command(command)


def _column_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="FIELD=HEADER",
        help='read a field from a column of the file by its header, e.g. --column "Email=Work '
        "Email\" (repeatable; the fields are the template's headers). Without it, common "
        "names (Name, E-mail, Employee ID, ...) are recognised.",
    )


def _sync_command(command: _Command) -> None:
    sync = command(
        "sync",
        "make a program's learners match a file: invite, update, remove",
        "Compare a file with the program's learners (members and pending invitations) and show "
        "the difference: to invite, to update, to remove, unchanged, errors; then, once agreed, "
        "apply it in one transaction. Removals only with --remove-missing, and past "
        "sync_max_removal_share of the learners only with --max-removals. A second run of the "
        "same file changes nothing.",
    )
    sync.set_defaults(handler=later("tui.cli.sync", "sync_file"))
    sync.add_argument("file", type=Path)
    _column_option(sync)
    sync.add_argument("--program", required=True, help="program id or exact name")
    sync.add_argument("--contract", required=True, help="contract id or exact name")
    sync.add_argument(
        "--remove-missing",
        action="store_true",
        help="remove the members and revoke the pending invitations not in the file",
    )
    sync.add_argument(
        "--max-removals",
        type=int,
        metavar="N",
        help="allow up to N removals, past the share the service allows",
    )
    sync.add_argument("--dry-run", action="store_true", help="show the difference and stop")
    sync.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    sync.add_argument("--no-email", action="store_true", help="send the invited no email")
    sync.add_argument(
        "--email-updated",
        action="store_true",
        help="email the invitation again to a pending learner whose email the file changed",
    )
    _output(sync)


def _list_commands(command: _Command) -> None:
    programs = command("programs", "list the programs")
    programs.set_defaults(handler=later("tui.cli.lists", "programs"))
    _output(programs)
    contracts = command("contracts", "list the contracts of a program, with seats and dates")
    contracts.set_defaults(handler=later("tui.cli.lists", "contracts"))
    contracts.add_argument("--program", required=True, help="program id or exact name")
    _output(contracts)
    for listing in (programs, contracts):
        listing.add_argument(
            "--archived", action="store_true", help="the archived ones only (offered nowhere)"
        )
    _owner_changes(programs, contracts)

    invitations = command(
        "invitations",
        "list the invitations of a program, or resend / revoke them",
        "List the invitations of a program (--program) or an import (--import), or act on them: "
        "`roster invitations resend|remind|revoke IDS` or `... --program P | --import ID "
        "[--status S] [--email-status E]` (remind: pending ones emailed --days ago or more). "
        "An action says how many it will change and asks first (--yes "
        "skips the question).",
    )
    invitations.set_defaults(handler=later("tui.cli.lists", "invitations"))
    invitations.add_argument("action", nargs="?", choices=("resend", "remind", "revoke"))
    invitations.add_argument("ids", nargs="*", type=int, metavar="ID")
    invitations.add_argument("--program", help="program id or exact name")
    invitations.add_argument(
        "--import",
        dest="import_id",
        type=int,
        metavar="ID",
        help="only the invitations of this import (roster imports lists them)",
    )
    invitations.add_argument("--yes", action="store_true", help="act without asking")
    invitations.add_argument(
        "--days",
        type=int,
        default=7,
        metavar="N",
        help="remind: pending invitations emailed N days ago or more (default 7)",
    )
    invitations.add_argument(
        "--status", choices=("pending", "accepted", "revoked", "expired", "removed")
    )
    invitations.add_argument(
        "--email-status",
        choices=("created", "queued", "retrying", "sent", "failed"),
        help="only invitations whose email is in this state (failed ones show the reason)",
    )
    _list_output(invitations)

    imports = command(
        "imports",
        "the import history, or one import with `imports show ID`",
        "The import history; one import with `roster imports show ID`; its results, one CSV "
        "line per row of its file with its outcome, with `roster imports results ID "
        "[--output FILE]`.",
    )
    imports.set_defaults(handler=later("tui.cli.lists", "imports"))
    imports.add_argument("show", nargs="?", choices=("show", "results"), help=argparse.SUPPRESS)
    imports.add_argument("import_id", nargs="?", type=int, metavar="ID")
    imports.add_argument(
        "--left-out",
        type=Path,
        metavar="FILE",
        help="with show: save the rows the import did not invite, template layout plus Error",
    )
    imports.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="with results: write the CSV to FILE (a new file) instead of standard output",
    )
    _list_output(imports)


def _audit_command(command: _Command) -> None:
    record = command(
        "audit",
        "the audit record: who changed what, newest first; `audit verify` checks it",
        "The organization's audit record, newest first: every import, invitation, resend, "
        "reminder, revoke, removal, learner update and change of contracts, programs, admins "
        "and policy, with who made it. The table shows the newest entries; --format json or "
        "csv prints every entry of the filter. `roster audit verify` checks that no entry was "
        "changed or removed: exit 0 when whole, 6 naming the first entry that was.",
    )
    record.set_defaults(handler=later("tui.cli.audit", "audit"))
    record.add_argument("verify", nargs="?", choices=("verify",), help=argparse.SUPPRESS)
    record.add_argument(
        "--since",
        type=later("tui.cli.audit", "moment"),
        metavar="DATE",
        help="from this day (YYYY-MM-DD, UTC) on",
    )
    record.add_argument(
        "--until",
        type=later("tui.cli.audit", "moment"),
        metavar="DATE",
        help="up to this day, included",
    )
    record.add_argument("--actor", metavar="EMAIL", help="only this admin's changes")
    record.add_argument(
        "--action", metavar="A", help="only this action, e.g. invitation.revoked, import.committed"
    )
    record.add_argument("--program", help="only this program's entries (id or exact name)")
    _list_output(record)


def _member_commands(command: _Command, client: argparse.ArgumentParser) -> None:
    listing = command(
        "members",
        "list a program's members, or remove some",
        "List a program's members (learners who accepted their invitation): roster members "
        "--program P [--search S]; or end the membership of some: roster members remove "
        "--program P EMAIL... | --file F [--reason TEXT]. Removing frees their seats at once "
        "and keeps their history; a removed learner can be invited again.",
    )
    listing.set_defaults(handler=later("tui.cli.members", "members"), action=None)
    listing.add_argument("--program", help="program id or exact name (required)")
    listing.add_argument(
        "--search", default="", metavar="S", help="only members whose name, email or ID has S"
    )
    _list_output(listing)
    actions = listing.add_subparsers(dest="action", metavar="ACTION")
    remove_help = "end the membership of some members: their seats are free at once"
    remove = actions.add_parser(
        "remove",
        help=remove_help,
        description=f"{remove_help.capitalize()}, and the audit record keeps who, when and "
        "why. Says how many it will remove and asks first (--yes skips the question). Exit "
        "status 1 when some emails named are not members (each is listed with why).",
        parents=[client],
    )
    remove.add_argument("emails", nargs="*", metavar="EMAIL", help="the members' emails")
    remove.add_argument("--program", required=True, help="program id or exact name")
    remove.add_argument(
        "--file",
        type=Path,
        metavar="F",
        help="the emails of a sheet's Email column (CSV, TSV or .xlsx, read as a learner "
        "file is), or of a file of one address a line",
    )
    remove.add_argument(
        "--reason",
        metavar="TEXT",
        help="why, kept with each removal and in the audit record (plain text, up to 500 "
        "characters and 5 lines)",
    )
    remove.add_argument("--yes", action="store_true", help="remove without asking")
    _output(remove)


def _admins_command(command: _Command) -> None:
    sub = command(
        "admins",
        "list the organization's admins; owners add, change, remove them and rotate tokens",
        "List the organization's admins and their roles. Owners: `roster admins add EMAIL "
        "--role ROLE [--program P ...]` (prints the new token, once), `change EMAIL [--role "
        "ROLE] [--program P ... | --all-programs]`, `remove EMAIL` (their token opens nothing "
        "from then on), `rotate EMAIL` (a new token, printed once; the old one opens nothing). "
        "Any admin: `rotate` without EMAIL, a new token of one's own, kept where the old one "
        "was read from (the config file, or the data directory's token file).",
    )
    sub.set_defaults(handler=later("tui.cli.admins", "admins"))
    sub.add_argument("action", nargs="?", choices=("add", "change", "remove", "rotate"))
    sub.add_argument("email", nargs="?", metavar="EMAIL")
    sub.add_argument(
        "--role",
        choices=("owner", "manager", "viewer"),
        help="owner: everything, admins included; manager: invitations and members (in the "
        "programs named, or all); viewer: reads only",
    )
    sub.add_argument(
        "--program",
        action="append",
        metavar="P",
        help="a manager's program, id or exact name (repeat for more; none: every program)",
    )
    sub.add_argument(
        "--all-programs", action="store_true", help="change: a manager of every program"
    )
    _output(sub)


def _owner_changes(programs: argparse.ArgumentParser, contracts: argparse.ArgumentParser) -> None:
    """Owners change a program or contract through the service (tui.cli.catalog), with the
    options of `roster admin edit-program` and `edit-contract`."""
    programs.set_defaults(handler=later("tui.cli.catalog", "programs"))
    contracts.set_defaults(handler=later("tui.cli.catalog", "contracts"))
    for listing, kind in ((programs, "PROGRAM"), (contracts, "CONTRACT")):
        listing.add_argument("action", nargs="?", choices=("edit", "archive", "restore"))
        listing.add_argument("target", nargs="?", metavar=kind, help="id or exact name")
        listing.add_argument("--name", help="edit: the new name, unique in the organization")
    programs.add_argument("--description", help='edit: the new description ("" for none)')
    seats = contracts.add_mutually_exclusive_group()
    seats.add_argument("--seats", type=_seats, help="edit: a positive whole number of seats")
    seats.add_argument("--unlimited", action="store_true", help="edit: no seat limit")
    starts = contracts.add_mutually_exclusive_group()
    starts.add_argument("--starts", type=_day, help="edit: first day, YYYY-MM-DD")
    starts.add_argument("--no-starts", action="store_true", help="edit: no first day")
    ends = contracts.add_mutually_exclusive_group()
    ends.add_argument("--ends", type=_day, help="edit: last day, YYYY-MM-DD")
    ends.add_argument("--no-ends", action="store_true", help="edit: no last day")


def _operator_commands(command: _Command, local: RosterParser) -> None:
    database_help = "sqlite:///path or postgresql://... (ROSTER_DATABASE_URL)"
    mail_help = "smtp://, smtps:// or maildir:// (ROSTER_MAIL_URL)"
    serve = command(
        "serve", "run the service for a shared deployment", parents=(local,), local=True
    )
    serve.set_defaults(handler=later("tui.cli.operators", "serve"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--database-url", help=database_help)
    serve.add_argument("--mail-url", help=mail_help)
    _output(serve)
    serve.add_argument(
        "--no-sender",
        dest="sender",
        action="store_false",
        help="queue invitation emails in the outbox but send none: `roster worker` sends them",
    )

    worker = command(
        "worker",
        "send the outbox's emails and reminders, with no HTTP, until SIGTERM or SIGINT",
        "Send the invitation emails and automatic reminders of the data directory's database "
        "(the app's: it keeps mail going after the app quits, and sends alongside it), or of "
        "--database-url's, which API replicas queue (roster serve --no-sender). Run any "
        "number, on any machines: each takes other emails. On SIGTERM or SIGINT it finishes "
        "the emails in flight, hands back the rest and exits 0.",
        parents=(local,),
        local=True,
    )
    worker.set_defaults(handler=later("tui.cli.operators", "worker"))
    worker.add_argument("--database-url", help=database_help)
    worker.add_argument("--mail-url", help=mail_help)
    worker.add_argument(
        "--lease",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long emails claimed by a worker that died wait before another sends them "
        "(default 30; renewed while the worker lives)",
    )

    migrate = command(
        "migrate",
        "bring the database to this Roster's newest schema",
        "Bring the database (--database-url, or the data directory's) to this Roster's newest "
        "schema, and say what was done. A PostgreSQL database is migrated only by this "
        "command: run it once per upgrade, before the new `roster serve` and `roster worker`.",
        parents=(local,),
        local=True,
    )
    migrate.set_defaults(handler=later("tui.cli.operators", "migrate"))
    migrate.add_argument("--database-url", help=database_help)
    _output(migrate)

    backup = command(
        "backup",
        "copy the embedded database, consistent, even while Roster runs",
        "Write a consistent copy of the data directory's SQLite database to PATH (a new file), "
        "with SQLite's online backup: Roster may run meanwhile. A PostgreSQL deployment uses "
        "pg_dump (DEPLOY.md).",
        parents=(local,),
        local=True,
    )
    backup.set_defaults(handler=later("tui.cli.backups", "backup"))
    backup.add_argument("path", metavar="PATH")
    _output(backup)
    restore = command(
        "restore",
        "put a backup back as the embedded database, once checked",
        "Check the backup at PATH (SQLite's integrity check, a Roster schema this Roster "
        "knows) and put it in place of the data directory's database. Refused while a Roster "
        "process uses the database; the replaced files are kept beside it, renamed together.",
        parents=(local,),
        local=True,
    )
    restore.set_defaults(handler=later("tui.cli.backups", "restore"))
    restore.add_argument("path", metavar="PATH")
    _output(restore)

    admin = command(
        "admin",
        "operator commands: organizations, admins, programs, contracts",
        "Operator commands on a database (--database-url, or the data directory's), not "
        "through a service: they take no --api-url or --token.",
        parents=(local,),
        local=True,
    )
    admin.set_defaults(handler=later("tui.cli.operators", "admin"))
    _admin_actions(admin.add_subparsers(dest="action", metavar="ACTION", required=True), local)


def _admin_actions(
    actions: argparse._SubParsersAction[argparse.ArgumentParser], local: argparse.ArgumentParser
) -> None:
    def action(name: str, help_: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=help_, description=help_, parents=[local])
        sub.add_argument("--database-url", help="the database (default: the data directory's)")
        _output(sub)
        return sub

    create_org = action("create-org", "create an organization")
    create_org.set_defaults(create=later("tui.cli.operators", "create_org"))
    create_org.add_argument("name")
    sender_name = action(
        "set-sender-name", "name the sender of an organization's invitation emails"
    )
    sender_name.set_defaults(create=later("tui.cli.operators", "set_sender_name"))
    sender_name.add_argument("--org", required=True, help="organization id or name")
    sender_name.add_argument(
        "name", help='as the From header shows it, e.g. "Acme Academy"; "" for mail_from\'s'
    )
    policy = action(
        "set-invitation-policy",
        "how long an organization's invitations live, and their automatic reminder",
    )
    policy.set_defaults(create=later("tui.cli.operators", "set_invitation_policy"))
    policy.add_argument("--org", required=True, help="organization id or name")
    policy.add_argument(
        "--lifetime-days",
        type=int,
        metavar="N",
        help="days an invitation lives once made or resent, 1 to 365 (30 for a new "
        "organization; left out: as it is); new invitations and resends take it",
    )
    remind = policy.add_mutually_exclusive_group()
    remind.add_argument(
        "--remind-after-days",
        type=int,
        metavar="M",
        help="remind a still pending invitation once, M days after its email (less than N)",
    )
    remind.add_argument(
        "--no-remind", action="store_true", help="no automatic reminder (the default policy)"
    )
    create_admin = action("create-admin", "create an admin and print their token, once")
    create_admin.set_defaults(create=later("tui.cli.operators", "create_admin"))
    create_admin.add_argument("--org", required=True, help="organization id or name")
    create_admin.add_argument("--email", required=True)
    create_admin.add_argument(
        "--role",
        choices=("owner", "manager", "viewer"),
        default="owner",
        help="owner (default): everything; manager: invitations and members; viewer: reads",
    )
    create_admin.add_argument(
        "--program",
        action="append",
        metavar="P",
        help="a manager's program, id or name (repeat for more; none: every program)",
    )
    create_program = action("create-program", "create a program")
    create_program.set_defaults(create=later("tui.cli.operators", "create_program"))
    create_program.add_argument("--org", required=True, help="organization id or name")
    create_program.add_argument("name")
    create_contract = action("create-contract", "create a contract covering a program")
    create_contract.set_defaults(create=later("tui.cli.operators", "create_contract"))
    create_contract.add_argument("--org", required=True, help="organization id or name")
    create_contract.add_argument("--program", required=True, help="program id or name")
    create_contract.add_argument("name")
    create_contract.add_argument(
        "--seats", type=_seats, help="a positive whole number of seats (default: unlimited)"
    )
    create_contract.add_argument("--starts", type=_day, help="first day, YYYY-MM-DD")
    create_contract.add_argument("--ends", type=_day, help="last day, YYYY-MM-DD")
    audit_verify = action(
        "audit-verify", "check an organization's audit record on the database (exit 6: broken)"
    )
    audit_verify.set_defaults(create=later("tui.cli.audit", "verify_on_database"))
    audit_verify.add_argument("--org", required=True, help="organization id or name")
    _catalog_actions(action)


def _catalog_actions(action: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Contracts and programs changed, archived and restored (tui.cli.catalog)."""
    edit_contract = action(
        "edit-contract",
        "change a contract's name, seats or dates (never fewer seats than are in use)",
    )
    edit_contract.set_defaults(create=later("tui.cli.catalog", "edit_contract"))
    edit_contract.add_argument("--org", required=True, help="organization id or name")
    edit_contract.add_argument("contract", help="contract id or name")
    edit_contract.add_argument("--name", help="the new name, unique in the organization")
    seats = edit_contract.add_mutually_exclusive_group()
    seats.add_argument("--seats", type=_seats, help="a positive whole number of seats")
    seats.add_argument("--unlimited", action="store_true", help="no seat limit")
    starts = edit_contract.add_mutually_exclusive_group()
    starts.add_argument("--starts", type=_day, help="first day, YYYY-MM-DD")
    starts.add_argument("--no-starts", action="store_true", help="no first day")
    ends = edit_contract.add_mutually_exclusive_group()
    ends.add_argument("--ends", type=_day, help="last day, YYYY-MM-DD")
    ends.add_argument("--no-ends", action="store_true", help="no last day")
    edit_program = action("edit-program", "change a program's name or description")
    edit_program.set_defaults(create=later("tui.cli.catalog", "edit_program"))
    edit_program.add_argument("--org", required=True, help="organization id or name")
    edit_program.add_argument("program", help="program id or name")
    edit_program.add_argument("--name", help="the new name, unique in the organization")
    edit_program.add_argument("--description", help='the new description ("" for none)')
    for kind, handler in (
        ("contract", later("tui.cli.catalog", "archive_contract")),
        ("program", later("tui.cli.catalog", "archive_program")),
    ):
        archive = action(
            f"archive-{kind}",
            f"archive a {kind}: offered nowhere, its history kept (--restore brings it back)",
        )
        archive.set_defaults(create=handler)
        archive.add_argument("--org", required=True, help="organization id or name")
        archive.add_argument(kind, help=f"{kind} id or name")
        archive.add_argument("--restore", action="store_true", help=f"restore the {kind}")


def _account_commands(command: _Command) -> None:
    login = command(
        "login",
        "keep a service's URL and token in the config file (0600)",
        "Ask for the admin token (without echo; or read it from standard input), check it "
        "with the service, and keep --api-url and the token in the config file.",
        parents=(),
    )
    login.set_defaults(handler=later("tui.cli.account", "login"))
    login.add_argument("--api-url", required=True, help="the service, https://...")
    logout = command("logout", "forget the service's URL and token", parents=(), local=True)
    logout.set_defaults(handler=later("tui.cli.account", "logout"))
    config = command("config", "show every setting, where it comes from, secrets masked")
    config.set_defaults(handler=later("tui.cli.account", "config"))
    _output(config)


class _Version(argparse.Action):
    """`--version`, looked up when asked for: reading the installed package's metadata loads
    importlib.metadata, 70 ms that every other command would spend for nothing."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> NoReturn:
        print(f"roster {_version()}")
        parser.exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("roster")
    except PackageNotFoundError:
        return "unknown"


def _seats(text: str) -> int:
    try:
        seats = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if seats < 1:
        raise argparse.ArgumentTypeError(
            f"{seats} seats: a contract has at least 1 seat (leave --seats out for unlimited)"
        )
    return seats


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < seconds < 86_400:
        raise argparse.ArgumentTypeError(f"{text}: expected seconds between 0 and a day")
    return seconds


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None
