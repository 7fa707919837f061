"""The `roster` command: parses arguments, calls the intake, service or app, prints the result.

Imports stay inside the commands so `roster check` starts fast and loads nothing it does not use.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from tui.intake import Limits

EXIT_OK = 0
EXIT_ROW_ERRORS = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roster",
        description="Invite learners to a learning program in bulk, from the terminal.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    template = commands.add_parser(
        "template",
        help="write the CSV template (Full Name, Email, External ID)",
        description="Write the CSV template: the header row Full Name, Email, External ID. "
        "All three headers are required; External ID values may stay empty.",
    )
    template.add_argument(
        "path",
        nargs="?",
        default="learners.csv",
        help="file or folder to write to, '-' for standard output (default: learners.csv)",
    )
    template.add_argument("--force", action="store_true", help="replace an existing file")

    check = commands.add_parser(
        "check",
        help="check a learner file and report every problem",
        description="Read a learner file (CSV, TSV or .xlsx) and report every problem by row. "
        "Exit status: 0 clean, 1 row errors, 2 file error or bad usage.",
    )
    check.add_argument("file", type=Path, help="the learner file")
    check.add_argument("--format", choices=("table", "json"), default="table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "template":
        return run_template(args.path, force=args.force)
    if args.command == "check":
        exit_now(run_check(args.file, args.format))
    parser.print_help()
    return EXIT_OK


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
