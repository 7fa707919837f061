"""The `roster` command: parses arguments, calls the intake, service or app, prints the result.

Imports stay inside the commands so `roster check` starts fast and loads nothing it does not use.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from tui.outcome import Exit

if TYPE_CHECKING:
    from tui.intake.limits import Limits
    from tui.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    # Options accepted before or after the command: the data directory everywhere, the
    # service's address and token only where a command talks to the service.
    local = argparse.ArgumentParser(add_help=False)
    local.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="data directory of the embedded service (ROSTER_DATA_DIR)",
    )
    client = argparse.ArgumentParser(add_help=False, parents=[local])
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
    parser = argparse.ArgumentParser(
        prog="roster",
        description="Invite learners to a learning program in bulk, from the terminal. "
        "Without a command, opens the app.",
        parents=[client],
    )
    parser.add_argument("--version", action="version", version=f"roster {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(
        name: str,
        help_: str,
        description: str | None = None,
        parents: tuple[argparse.ArgumentParser, ...] = (client,),
    ) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=help_, description=description or help_, parents=list(parents)
        )

    def output(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--format", choices=("table", "json"), default="table")

    template = command(
        "template",
        "write the CSV template (Full Name, Email, External ID)",
        "Write the CSV template: the header row Full Name, Email, External ID. "
        "All three headers are required; External ID values may stay empty.",
        parents=(),
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
    output(do_import)

    output(command("programs", "list the programs"))
    contracts = command("contracts", "list the contracts of a program, with seats and dates")
    contracts.add_argument("--program", required=True, help="program id or exact name")
    output(contracts)
    invitations = command(
        "invitations",
        "list the invitations of a program, or resend / revoke them",
        "List the invitations of a program (--program) or an import (--import), or act on them: "
        "`roster invitations resend|remind|revoke IDS` or `... --program P | --import ID "
        "[--status S] [--email-status E]` (remind: pending ones emailed --days ago or more). "
        "An action says how many it will change and asks first (--yes "
        "skips the question).",
    )
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
    invitations.add_argument("--status", choices=("pending", "accepted", "revoked", "expired"))
    invitations.add_argument(
        "--email-status",
        choices=("created", "queued", "retrying", "sent", "failed"),
        help="only invitations whose email is in this state (failed ones show the reason)",
    )
    output(invitations)
    imports = command("imports", "the import history, or one import with `imports show ID`")
    imports.add_argument("show", nargs="?", choices=("show",), help=argparse.SUPPRESS)
    imports.add_argument("import_id", nargs="?", type=int, metavar="ID")
    imports.add_argument(
        "--left-out",
        type=Path,
        metavar="FILE",
        help="with show: save the rows the import did not invite, template layout plus Error",
    )
    output(imports)

    serve = command("serve", "run the service for a shared deployment", parents=(local,))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--database-url", help="sqlite:///path or postgresql://... (ROSTER_DATABASE_URL)"
    )
    serve.add_argument("--mail-url", help="smtp://, smtps:// or maildir:// (ROSTER_MAIL_URL)")
    output(serve)
    serve.add_argument(
        "--no-sender",
        dest="sender",
        action="store_false",
        help="queue invitation emails in the outbox but send none: `roster worker` sends them",
    )

    worker = command(
        "worker",
        "send the outbox's invitation emails, with no HTTP, until SIGTERM or SIGINT",
        "Send the invitation emails API replicas queue (roster serve --no-sender). Run any "
        "number, on any machines: each takes other emails. On SIGTERM or SIGINT it finishes "
        "the emails in flight, hands back the rest and exits 0.",
        parents=(local,),
    )
    worker.add_argument(
        "--database-url", help="sqlite:///path or postgresql://... (ROSTER_DATABASE_URL)"
    )
    worker.add_argument("--mail-url", help="smtp://, smtps:// or maildir:// (ROSTER_MAIL_URL)")
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
    )
    migrate.add_argument(
        "--database-url", help="sqlite:///path or postgresql://... (ROSTER_DATABASE_URL)"
    )
    output(migrate)

    admin = command(
        "admin",
        "operator commands: organizations, admins, programs, contracts",
        "Operator commands on a database (--database-url, or the data directory's), not "
        "through a service: they take no --api-url or --token.",
        parents=(local,),
    )
    actions = admin.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, help_: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=help_, description=help_, parents=[local])
        sub.add_argument("--database-url", help="the database (default: the data directory's)")
        output(sub)
        return sub

    action("create-org", "create an organization").add_argument("name")
    sender_name = action(
        "set-sender-name", "name the sender of an organization's invitation emails"
    )
    sender_name.add_argument("--org", required=True, help="organization id or name")
    sender_name.add_argument(
        "name", help='as the From header shows it, e.g. "Acme Academy"; "" for mail_from\'s'
    )
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
    create_contract.add_argument(
        "--seats", type=_seats, help="a positive whole number of seats (default: unlimited)"
    )
    create_contract.add_argument("--starts", type=_day, help="first day, YYYY-MM-DD")
    create_contract.add_argument("--ends", type=_day, help="last day, YYYY-MM-DD")

    login = command(
        "login",
        "keep a service's URL and token in the config file (0600)",
        "Ask for the admin token (without echo; or read it from standard input), check it "
        "with the service, and keep --api-url and the token in the config file.",
        parents=(),
    )
    login.add_argument("--api-url", required=True, help="the service, https://...")
    command("logout", "forget the service's URL and token", parents=())
    output(command("config", "show every setting, where it comes from, secrets masked"))
    return parser


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


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        _quiet_stdout()
        return Exit.OK
    except KeyboardInterrupt:
        print("roster: interrupted.", file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    from tui.outcome import Failure, report_failure

    parser = build_parser()
    args = parser.parse_args(argv)
    output = getattr(args, "format", "table")
    if args.command in LOCAL_COMMANDS and {"api_url", "token"} & set(vars(args)):
        parser.error(
            f"{args.command} acts on a database, not through a service: "
            "it takes no --api-url or --token"
        )
    if args.command == "login" and "token" in vars(args):
        parser.error(
            "login asks for the token (or reads it from standard input); --token would "
            "show it to every user in the process list"
        )
    try:
        if args.command == "template":
            return run_template(args.path, force=args.force)
        if args.command == "check" and not (args.program or args.contract):
            exit_now(run_check(args.file, args.format))
        if args.command == "check" and not (args.program and args.contract):
            parser.error("check needs both --program and --contract, or neither")
        if args.command is None:
            from tui.memory import configure_allocators

            settings = load_settings(args)
            configure_allocators()
            from tui.app import RosterApp

            app = RosterApp(settings)
            app.run()
            return app.return_code or Exit.OK
        code = run_service_command(args)
        # The interpreter's last collection, as it unloads the service's modules, took 0.4 s
        # after every command: what the command built is kept for the exit to drop instead.
        gc.freeze()
        return code
    except Failure as failure:
        return report_failure(failure, output)


# Commands that act on a database directly, never through a service.
LOCAL_COMMANDS = ("admin", "serve", "worker", "migrate", "template", "logout")


def _quiet_stdout() -> None:
    """The reader of our output went away (`| head`): end quietly, as cat and ls do, without
    Python's 'Exception ignored ... BrokenPipeError' when it flushes stdout at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def load_settings(args: argparse.Namespace) -> Settings:
    """The settings, checked before anything runs; a bad one is a Failure naming it."""
    from tui.config_file import SettingsProblem
    from tui.outcome import Failure
    from tui.settings import load_settings as load

    flags = {
        name: getattr(args, name)
        for name in ("api_url", "token", "data_dir", "database_url", "mail_url")
        if getattr(args, name, None) is not None
    }
    try:
        return load(flags)
    except SettingsProblem as problem:
        raise Failure("bad_setting", problem.message, **problem.details) from None


def run_service_command(args: argparse.Namespace) -> int:
    from tui import commands
    from tui.memory import configure_allocators, configure_batch_allocator
    from tui.outcome import Failure

    # Before polars is imported: the long-running processes purge in the background, the
    # one-shot commands give back what they free at once.
    (configure_allocators if args.command in ("serve", "worker") else configure_batch_allocator)()

    if args.command == "logout":
        return commands.logout()
    settings = load_settings(args)
    output = getattr(args, "format", "table")
    if args.command == "login":
        return commands.run(commands.login(settings, args.api_url))
    if args.command == "config":
        return commands.show_config(settings, args, output)
    if args.command == "serve":
        return commands.serve(settings, args.host, args.port, with_sender=args.sender)
    if args.command == "worker":
        return commands.worker(settings, args.lease)
    if args.command == "migrate":
        return commands.migrate(settings, output)
    if args.command == "admin":
        return commands.admin(settings, args.action, args)
    if args.command == "programs":
        job = commands.list_programs(settings, output)
    elif args.command == "contracts":
        job = commands.list_contracts(settings, args.program, output)
    elif args.command == "invitations" and args.action:
        if not args.ids and not args.program and args.import_id is None:
            raise Failure(
                "usage",
                f"Name the invitations to {args.action}: their ids, or "
                "--program P or --import ID with --status / --email-status.",
            )
        job = commands.act_on_invitations(
            settings,
            args.action,
            args.ids,
            args.program,
            args.status,
            args.email_status,
            import_id=args.import_id,
            yes=args.yes,
            output=output,
            pending_for_days=args.days if args.action == "remind" else None,
        )
    elif args.command == "invitations":
        if (not args.program and args.import_id is None) or args.ids:
            raise Failure(
                "usage",
                "List invitations with --program P or --import ID (ids go "
                "with an action: roster invitations resend|revoke IDS).",
            )
        job = commands.list_invitations(
            settings,
            args.program,
            args.status,
            output,
            email_status=args.email_status,
            import_id=args.import_id,
        )
    elif args.command == "imports":
        if (args.show is None) != (args.import_id is None) or (
            args.left_out and args.import_id is None
        ):
            raise Failure("usage", "Show one import with: roster imports show ID [--left-out FILE]")
        job = commands.list_imports(settings, args.import_id, output, left_out=args.left_out)
    elif args.command == "check":
        job = commands.check_with_service(settings, args.file, args.program, args.contract, output)
    else:
        from tui.api.importer import Choices
        from tui.wire.models import MAX_MESSAGE

        message = (args.message or "").strip() or None
        if message and len(message) > MAX_MESSAGE:
            raise Failure(
                "usage",
                f"--message has {len(message):,} characters; shorten it to "
                f"{MAX_MESSAGE:,} or fewer.",
            )
        choices = Choices(
            send_emails=args.send, message=message, update_learners=args.update_learners
        )
        job = commands.import_file(
            settings,
            args.file,
            args.program,
            args.contract,
            choices=choices,
            yes=args.yes,
            output=output,
        )
    return commands.run(job, output)


def run_template(path: str, *, force: bool) -> int:
    from tui.intake.template import TEMPLATE, TemplateExistsError, write_template

    if path == "-":
        sys.stdout.buffer.write(TEMPLATE.encode("ascii"))
        return Exit.OK
    try:
        written = write_template(Path(path), overwrite=force)
    except TemplateExistsError as error:
        print(
            f"roster: {error.args[0]} already exists; choose another path or add --force "
            "to replace it.",
            file=sys.stderr,
        )
        return Exit.USAGE
    except OSError as error:
        print(f"roster: cannot write {path}: {error.strerror}.", file=sys.stderr)
        return Exit.USAGE
    print(f"Wrote the template to {written}.")
    print(f"Fill in one row per learner, then run: roster check {written}")
    return Exit.OK


def run_check(path: Path, output: str) -> int:
    from tui.memory import configure_batch_allocator

    configure_batch_allocator()
    from tui.intake import read_learner_file

    learner_file = read_learner_file(path, intake_limits())
    if output == "json":
        sys.stdout.flush()
        learner_file.write_report_json(sys.stdout.buffer)
    else:
        from tui.intake.render import Style, render_report, use_color

        sys.stdout.write(render_report(learner_file, Style(use_color(sys.stdout))))
    return learner_file.summary.exit_code


def exit_now(code: int) -> NoReturn:
    """Exit without tearing down the interpreter: freeing a million-row frame and unloading
    polars takes longer than checking 100,000 rows, and a finished check holds nothing to save."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def intake_limits() -> Limits:
    """The file limits as the settings give them, read without loading the settings machinery:
    `roster check` starts fast."""
    from tui.config_file import SettingsProblem
    from tui.config_file import intake_limits as read_limits
    from tui.outcome import Failure

    try:
        return read_limits()
    except SettingsProblem as problem:
        raise Failure("bad_setting", problem.message, **problem.details) from None
