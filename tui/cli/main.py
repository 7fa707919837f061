"""The `roster` entry point: `main` parses the arguments and runs the command's handler, which
tui.cli.parser names for each command. A handler imports what it uses when it runs, so
`roster check` starts fast and loads nothing it does not use."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence

from tui.outcome import Exit


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
    from tui.cli.options import BadArguments
    from tui.cli.output import output_of, report_failure
    from tui.cli.parser import build_parser
    from tui.outcome import Failure

    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.local and {"api_url", "token"} & set(vars(args)):
        parser.error(
            f"{args.command} acts on a database, not through a service: "
            "it takes no --api-url or --token"
        )
    try:
        code: int = args.handler(args)
    except BadArguments as error:
        parser.error(str(error))
    except Failure as failure:
        return report_failure(failure, output_of(args))
    # The interpreter's last collection, as it unloads the service's modules, took 0.4 s
    # after every command: what the command built is kept for the exit to drop instead.
    gc.freeze()
    return code


def _quiet_stdout() -> None:
    """The reader of our output went away (`| head`): end quietly, as cat and ls do, without
    Python's 'Exception ignored ... BrokenPipeError' when it flushes stdout at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
