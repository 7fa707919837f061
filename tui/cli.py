"""The `roster` command: parses arguments, calls the intake, service or app, prints the result.

Imports stay inside the commands so `roster check` starts fast and loads nothing it does not use.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from tui.intake import Limits
    from tui.settings import Settings

EXIT_OK = 0
EXIT_ROW_ERRORS = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    # Global options, accepted before or after the command.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--api-url",
        default=argparse.SUPPRESS,
        help="a remote `roster serve` (default: the embedded demo service)",
    )
    common.add_argument("--token", default=argparse.SUPPRESS, help="admin token for --api-url")
    common.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="data directory of the embedded service (ROSTER_DATA_DIR)",
    )
    parser = argparse.ArgumentParser(
        prog="roster",
        description="Invite learners to a learning program in bulk, from the terminal. "
        "Without a command, opens the app.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_: str, description: str | None = None) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=help_, description=description or help_, parents=[common]
        )

    def output(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--format", choices=("table", "json"), default="table")

    template = command(
        "template",
        "write the CSV template (Full Name, Email, External ID)",
        "Write the CSV template: the header row Full Name, Email, External ID. "
        "All three headers are required; External ID values may stay empty.",
    )
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
    check.add_argument("file", type=Path, help="the learner file")
    check.add_argument("--program", help="program id or exact name")
    check.add_argument("--contract", help="contract id or exact name")
    output(check)

    do_import = command(
        "import",
        "invite the learners of a file: check, upload, commit, send",
        "Invite the ready learners of a file to a program under a contract. Rows with errors "
        "are left out; learners already invited are skipped, so a re-run invites nobody twice.",
    )
    do_import.add_argument("file", type=Path)
    do_import.add_argument("--program", required=True, help="program id or exact name")
    do_import.add_argument("--contract", required=True, help="contract id or exact name")
    do_import.add_argument(
        "--send",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="send invitation emails (default) or only create invitations",
    )
    do_import.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    output(do_import)

    output(command("programs", "list the programs"))
    contracts = command("contracts", "list the contracts of a program, with seats and dates")
    contracts.add_argument("--program", required=True, help="program id or exact name")
    output(contracts)
    invitations = command("invitations", "list the invitations of a program")
    invitations.add_argument("--program", required=True, help="program id or exact name")
    invitations.add_argument("--status", choices=("pending", "accepted", "revoked", "expired"))
    output(invitations)

    serve = command("serve", "run the service for a shared deployment")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--database-url", help="sqlite:///path or postgresql://... (ROSTER_DATABASE_URL)"
    )
    serve.add_argument("--mail-url", help="smtp://, smtps:// or maildir:// (ROSTER_MAIL_URL)")

    admin = command("admin", "operator commands: organizations, admins, programs, contracts")
    actions = admin.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, help_: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=help_, description=help_, parents=[common])
        sub.add_argument("--database-url", help="the database (default: the data directory's)")
        output(sub)
        return sub

    action("create-org", "create an organization").add_argument("name")
    create_admin = action("create-admin", "create an admin and print their token, once")
    create_admin.add_argument("--org", required=True, help="organization id or name")
    create_admin.add_argument("--email", required=True)
    create_program = action("create-program", "create a program")
    create_program.add_argument("--org", required=True, help="organization id or name")
    create_program.add_argument("name")
    create_contract = action("create-contract", "create a contract covering a program")
    create_contract.add_argument("--org", required=True, help="organization id or name")
    create_contract.add_argument("--program", required=True, help="program id or name")
    create_contract.add_argument("name")
    create_contract.add_argument("--seats", type=int, help="number of seats (default: unlimited)")
    create_contract.add_argument("--starts", type=date.fromisoformat, help="YYYY-MM-DD")
    create_contract.add_argument("--ends", type=date.fromisoformat, help="YYYY-MM-DD")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "template":
        return run_template(args.path, force=args.force)
    if args.command == "check" and not (args.program or args.contract):
        exit_now(run_check(args.file, args.format))
    if args.command == "check" and not (args.program and args.contract):
        parser.error("check needs both --program and --contract, or neither")
    if args.command is None:
        from tui.memory import configure_allocators

        configure_allocators()
        from tui.app import RosterApp

        RosterApp(load_settings(args)).run()
        return EXIT_OK
    return run_service_command(args)


def load_settings(args: argparse.Namespace) -> Settings:
    from tui.settings import Settings

    overrides = {
        name: getattr(args, name)
        for name in ("api_url", "token", "data_dir", "database_url", "mail_url")
        if getattr(args, name, None) is not None
    }
    return Settings(**overrides)


def run_service_command(args: argparse.Namespace) -> int:
    from tui import commands

    settings = load_settings(args)
    if args.command == "serve":
        return commands.serve(settings, args.host, args.port)
    if args.command == "admin":
        return commands.admin(settings, args.action, args)
    if args.command == "programs":
        return commands.run(commands.list_programs(settings, args.format))
    if args.command == "contracts":
        return commands.run(commands.list_contracts(settings, args.program, args.format))
    if args.command == "invitations":
        return commands.run(
            commands.list_invitations(settings, args.program, args.status, args.format)
        )
    if args.command == "check":
        return commands.run(
            commands.check_with_service(settings, args.file, args.program, args.contract,
                                        args.format)
        )  # fmt: skip
    return commands.run(
        commands.import_file(
            settings, args.file, args.program, args.contract,
            send=args.send, yes=args.yes, output=args.format,
        )
    )  # fmt: skip


def run_template(path: str, *, force: bool) -> int:
    from tui.intake.template import TEMPLATE, TemplateExistsError, write_template

    if path == "-":
        sys.stdout.buffer.write(TEMPLATE.encode("ascii"))
        return EXIT_OK
    try:
        written = write_template(Path(path), overwrite=force)
    except TemplateExistsError as error:
        print(
            f"roster: {error.args[0]} already exists; choose another path or add --force "
            "to replace it.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except OSError as error:
        print(f"roster: cannot write {path}: {error.strerror}.", file=sys.stderr)
        return EXIT_USAGE
    print(f"Wrote the template to {written}.")
    print(f"Fill in one row per learner, then run: roster check {written}")
    return EXIT_OK


def run_check(path: Path, output: str) -> int:
    from tui.intake import read_learner_file

    learner_file = read_learner_file(path, intake_limits())
    report = learner_file.report
    if output == "json":
        sys.stdout.write(report.model_dump_json() + "\n")
    else:
        from tui.intake.render import Style, render_report, use_color

        sys.stdout.write(render_report(report, Style(use_color(sys.stdout))))
    return report.exit_code


def exit_now(code: int) -> NoReturn:
    """Exit without tearing down the interpreter: freeing a million-row frame and unloading
    polars takes longer than checking 100,000 rows, and a finished check holds nothing to save."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def intake_limits() -> Limits:
    """The file limits, from ROSTER_MAX_FILE_BYTES and ROSTER_MAX_ROWS when set."""
    from tui.intake import Limits

    overrides = {}
    for variable, name in (("ROSTER_MAX_FILE_BYTES", "max_bytes"), ("ROSTER_MAX_ROWS", "max_rows")):
        value = os.environ.get(variable)
        if value:
            overrides[name] = int(value.replace("_", ""))
    return Limits(**overrides)
