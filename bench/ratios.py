"""Roster against its references, side by side in one run: the ratios, which hold from machine
to machine where seconds do not.

Each measure runs Roster and its references in interleaved rounds (Roster first in odd rounds,
last in even ones), each a process of its own: the table gives the median with the spread
(min–max) over the rounds, the ratio of the medians, and the peak memory (the largest resident
size of the process and the children it waited for).

    .venv/bin/python bench/ratios.py [--rows 1000000] [--rounds 3] [--only NAME ...]

A measure is a function `(context, stack) -> Measure` in MEASURES: it makes its files and
servers (their clean-up on `stack`) and returns how to run Roster and each reference once. The
mail measure is bench/mail.py's `ratio_measure`, when that module has one.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import fcntl
import importlib
import os
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
ROSTER = [PYTHON, "-m", "tui"]
TIME = Path("/usr/bin/time").exists()
PROGRAM, CONTRACT = "Inclusive Hiring", "Enterprise Agreement 2026 (unlimited)"


@dataclass
class Sample:
    """One run: seconds (or messages per second, for a rate), and peak resident MB."""

    value: float
    peak_mb: float


Runner = Callable[[], Sample]


@dataclass
class Reference:
    label: str
    run: Runner
    goal: float | None  # Roster / reference at most this (at least, for a rate); None: shown
    memory_goal_mb: float | None = None  # Roster's peak at most this


@dataclass
class Measure:
    name: str
    label: str  # what Roster does
    roster: Runner
    references: list[Reference]
    rate: bool = False  # values are rates (higher is better), not seconds


@dataclass
class Context:
    rows: int
    rounds: int
    scratch: Path
    files: dict[str, Path] = field(default_factory=dict)


MeasureFactory = Callable[[Context, ExitStack], Measure]


# --- running a process ------------------------------------------------------------------


def run_process(
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    ok: tuple[int, ...] = (0,),
    reported: bool = False,
) -> Sample:
    """Wall seconds (or, `reported`, the `seconds=S` the process prints last) and peak MB of a
    process whose output goes to a file, as a script keeps it: a pipe would time its reader."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as peak,
    ):
        # GNU time reports the peak of the command alone: a child forked from this process
        # would start its count from this process's size.
        timed = ["/usr/bin/time", "-q", "-f", "%M", "-o", peak.name, *command]
        start = time.perf_counter()
        process = subprocess.Popen(
            timed if TIME else command,
            stdout=out,
            stderr=err,
            env={**os.environ, **(env or {})},
            cwd=ROOT,
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        peak_kb = int(peak.read().split()[-1]) if TIME else usage.ru_maxrss
        if code not in ok:
            err.seek(0)
            raise SystemExit(f"{' '.join(command)} ended with {code}:\n{err.read().decode()}")
        if reported:
            out.seek(0)
            last = out.read().decode().strip().splitlines()[-1]
            elapsed = float(last.removeprefix("seconds="))
    return Sample(elapsed, peak_kb / 1024)


ESCAPES = re.compile(
    r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]"
)


def until_shown(
    command: list[str], marker: str, *, env: dict[str, str], timeout: float = 60
) -> Sample:
    """Seconds from the start of `command` on an 80x24 terminal until `marker` is on it (its
    output, escape sequences left out), and its peak MB; then the process is killed."""
    main, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24", **env},
        cwd=ROOT,
        start_new_session=True,
    )
    os.close(terminal)
    raw = shown = ""
    try:
        while True:
            left = start + timeout - time.perf_counter()
            if left <= 0:
                raise SystemExit(f"{' '.join(command)} never showed {marker!r}:\n{shown[-2000:]}")
            ready, _, _ = select.select([main], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the process ended
                chunk = b""
            if not chunk:
                raise SystemExit(f"{' '.join(command)} ended before {marker!r}:\n{shown[-2000:]}")
            raw += decoder.decode(chunk)
            shown = ESCAPES.sub("", raw)  # the whole: a sequence may span two reads
            if marker in shown:
                elapsed = time.perf_counter() - start
                break
        # Its own high-water mark (the count of a forked child starts at this process's size).
        status = Path(f"/proc/{process.pid}/status").read_text()
        peak_kb = int(re.search(r"VmHWM:\s+(\d+)", status)[1])  # type: ignore[index]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        os.wait4(process.pid, 0)
        os.close(main)
    return Sample(elapsed, peak_kb / 1024)


def fresh_data_dir(context: Context, name: str) -> dict[str, str]:
    """A data directory holding the demo organization only (made by an untimed command)."""
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=context.scratch))
    env = {"ROSTER_DATA_DIR": str(folder)}
    run_process([*ROSTER, "programs"], env=env)
    return env


def compiled() -> None:
    """Roster's bytecode compiled, as pip leaves it installed."""
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "tui")], check=True)


# --- the measures -----------------------------------------------------------------------


def check(context: Context, stack: ExitStack) -> Measure:
    from bench.intake import make_file

    path = ROOT / "bench" / "data" / f"learners-{context.rows}.csv"
    if not path.exists():
        make_file(path, context.rows)
    run_process([*ROSTER, "check", str(path), "--format", "json"], ok=(0, 1))  # the disk cache
    return Measure(
        "check",
        f"roster check, {context.rows:,} rows",
        lambda: run_process([*ROSTER, "check", str(path), "--format", "json"], ok=(0, 1)),
        [
            Reference(
                "pandera (polars), same file",
                lambda: run_process([PYTHON, "-m", "bench.peers", "pandera", str(path)]),
                1.0,
                400,
            )
        ],
    )


def clean_file(context: Context, name: str, rows: int) -> Path:
    """A file of `rows` distinct, valid learners (shared by the measures that import)."""
    from tests.deployment import write_learners

    if name not in context.files:
        context.files[name] = write_learners(context.scratch / f"{name}.csv", range(rows))
    return context.files[name]


def import_embedded(context: Context, stack: ExitStack) -> Measure:
    path = clean_file(context, "clean", context.rows)
    arguments = ["import", str(path), "--program", PROGRAM, "--contract", CONTRACT]
    arguments += ["--no-send", "--yes", "--format", "json"]

    def roster() -> Sample:
        env = fresh_data_dir(context, "import")
        os.sync()  # the writes of the runs before are not timed as this one's
        return run_process([*ROSTER, *arguments], env=env)

    def plain() -> Sample:
        database = Path(tempfile.mkdtemp(dir=context.scratch)) / "plain.db"
        os.sync()
        return run_process([PYTHON, "-m", "bench.peers", "sqlite", str(path), str(database)])

    def floor() -> Sample:
        os.sync()
        return run_process([PYTHON, "-m", "bench.peers", "floor", str(context.rows)], reported=True)

    return Measure(
        "import-embedded",
        f"roster import {context.rows:,} --no-send",
        roster,
        [
            Reference("bench/floor.py's floor", floor, 1.4, 800),
            Reference("csv + executemany, 1 table, unique index", plain, 3.0, 800),
        ],
    )


def import_postgres(context: Context, stack: ExitStack) -> Measure:
    from bench.scale import new_organization
    from tests.deployment import PostgresCluster, postgres_bin, start_replica

    binaries = postgres_bin()
    if binaries is None:
        raise SystemExit("PostgreSQL is not installed (initdb not found)")
    cluster = PostgresCluster(binaries).start()
    stack.callback(cluster.stop)
    path = clean_file(context, "clean", context.rows)

    def database() -> tuple[str, str]:
        """A new database with Roster's schema and one organization; its URL and admin token."""
        url, token, _ = new_organization(cluster.url)
        return url, token

    def roster() -> Sample:
        url, token = database()
        api, replica = start_replica(url, context.scratch)
        try:
            arguments = ["import", str(path), "--program", PROGRAM, "--contract", CONTRACT]
            return run_process(
                [*ROSTER, *arguments, "--no-send", "--yes", "--format", "json"],
                env={"ROSTER_API_URL": api, "ROSTER_TOKEN": token},
            )
        finally:
            replica.end()

    def copy() -> Sample:
        url, _ = database()
        return run_process([PYTHON, "-m", "bench.peers", "copy", url, str(path)], reported=True)

    return Measure(
        "import-postgres",
        f"roster import {context.rows:,} --api-url, PostgreSQL",
        roster,
        [Reference("COPY of the same rows, Roster's tables", copy, 1.15)],
    )


def mail(context: Context, stack: ExitStack) -> Measure:
    """bench/mail.py's measure, when it has one: `ratio_measure(context, stack) -> Measure`."""
    try:
        factory: MeasureFactory = importlib.import_module("bench.mail").ratio_measure
    except (ImportError, AttributeError) as missing:
        raise NotMeasuredError("bench/mail.py has no ratio_measure(context, stack)") from missing
    return factory(context, stack)


def app_start(context: Context, stack: ExitStack, *, numbers: bool) -> Measure:
    from bench.peers import MINIMAL_LABEL

    env = fresh_data_dir(context, "app")
    # The first frame holds the header (Admin home); the numbers are shown with the contracts'
    # seats, the last thing the home screen fills in.
    marker = "Enterprise Agreement 2026" if numbers else "Admin home"
    minimal = [PYTHON, "-m", "bench.peers", "textual-app"]
    return Measure(
        "app-home-numbers" if numbers else "app-first-frame",
        "roster (app): Admin home's numbers" if numbers else "roster (app): first frame",
        lambda: until_shown(ROSTER, marker, env=env),
        [
            Reference(
                "minimal Textual app's first frame",
                lambda: until_shown(minimal, MINIMAL_LABEL, env={}),
                2.5 if numbers else 1.5,
            )
        ],
    )


def cli_programs(context: Context, stack: ExitStack) -> Measure:
    env = fresh_data_dir(context, "programs")
    return Measure(
        "cli-programs",
        "roster programs, embedded",
        lambda: run_process([*ROSTER, "programs"], env=env),
        [
            Reference(
                'python -c "import textual.app"',
                lambda: run_process([PYTHON, "-c", "import textual.app"]),
                2.0,
            )
        ],
    )


def cli_version(context: Context, stack: ExitStack) -> Measure:
    return Measure(
        "cli-version",
        "roster --version",
        lambda: run_process([*ROSTER, "--version"]),
        [Reference('python -c "pass"', lambda: run_process([PYTHON, "-c", "pass"]), None)],
    )


class NotMeasuredError(Exception):
    """The measure cannot run here; the table says why."""


MEASURES: dict[str, MeasureFactory] = {
    "check": check,
    "import-embedded": import_embedded,
    "import-postgres": import_postgres,
    "mail": mail,
    "app-first-frame": lambda context, stack: app_start(context, stack, numbers=False),
    "app-home-numbers": lambda context, stack: app_start(context, stack, numbers=True),
    "cli-programs": cli_programs,
    "cli-version": cli_version,
}


# --- the table --------------------------------------------------------------------------


def measured(measure: Measure, rounds: int) -> tuple[list[Sample], list[list[Sample]]]:
    """Roster's samples and each reference's, in interleaved rounds."""
    ours: list[Sample] = []
    theirs: list[list[Sample]] = [[] for _ in measure.references]
    runners = [(measure.roster, ours)] + [
        (reference.run, samples)
        for reference, samples in zip(measure.references, theirs, strict=True)
    ]
    for round_ in range(rounds):
        for run, samples in runners if round_ % 2 == 0 else reversed(runners):
            samples.append(run())
    return ours, theirs


def shown(samples: list[Sample], rate: bool) -> str:
    values = sorted(sample.value for sample in samples)
    unit = " msg/s" if rate else " s"
    figure = f"{statistics.median(values):.2f}{unit}"
    if len(values) > 1:
        figure += f" ({values[0]:.2f}–{values[-1]:.2f})"
    return figure + f", {max(sample.peak_mb for sample in samples):,.0f} MB"


def rows_of(measure: Measure, ours: list[Sample], theirs: list[list[Sample]]) -> list[list[str]]:
    rows = []
    ours_median = statistics.median(sample.value for sample in ours)
    ours_peak = max(sample.peak_mb for sample in ours)
    for reference, samples in zip(measure.references, theirs, strict=True):
        ratio = ours_median / statistics.median(sample.value for sample in samples)
        if reference.goal is None:
            goal, within = "", ""
        else:
            within_ratio = ratio >= reference.goal if measure.rate else ratio <= reference.goal
            within_memory = (
                reference.memory_goal_mb is None or ours_peak <= reference.memory_goal_mb
            )
            goal = ("≥ " if measure.rate else "≤ ") + f"{reference.goal:.2f}×"
            if reference.memory_goal_mb is not None:
                goal += f", ≤ {reference.memory_goal_mb:,.0f} MB"
            within = "yes" if within_ratio and within_memory else "NO"
        rows.append(
            [
                measure.name,
                measure.label,
                shown(ours, measure.rate),
                reference.label,
                shown(samples, measure.rate),
                f"{ratio:.2f}×",
                goal,
                within,
            ]
        )
    return rows


HEADERS = ["measure", "Roster", "", "reference", "", "ratio", "goal", "within goal?"]


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(row[column]) for row in [HEADERS, *rows]) for column in range(len(HEADERS))]
    for row in [HEADERS, *rows]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="check and imports")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=list(MEASURES), nargs="+", help="these measures only")
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {args.rounds} "
        f"interleaved rounds, medians (min–max), peak memory"
    )
    compiled()
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="roster-ratios-") as folder:
        context = Context(args.rows, args.rounds, Path(folder))
        for name in args.only or list(MEASURES):
            with ExitStack() as stack:
                try:
                    measure = MEASURES[name](context, stack)
                except NotMeasuredError as why:
                    rows.append([name, f"not measured: {why}", "", "", "", "", "", ""])
                    continue
                ours, theirs = measured(measure, args.rounds)
            found = rows_of(measure, ours, theirs)
            for row in found:
                print("  ".join(cell for cell in row if cell), flush=True)
            rows += found
    print()
    print_table(rows)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
