"""An import's writes measured against references in the same run, as ratios: seconds on one
machine say little about another, the ratio to a floor measured beside them does.

- embedded vs floor: `roster import --no-send` of a learner file (half the names with accents,
  from many languages) into a new data directory, a whole process; against `bench/floor.py`'s
  floor (a fresh interpreter's imports of the client and the embedded service, and bare
  sqlite3 writing the same number of learners and invitations into Roster's schema).
- embedded vs plain loader: the same import against a plain sqlite3 loader, a whole process:
  the file read with `csv`, `executemany` into one table with a unique index, commit.
- PostgreSQL vs COPY: `roster import --api-url` of the same file into a `roster serve` on
  PostgreSQL (a cluster started from the machine's binaries), end to end; against a COPY of
  the same rows, prepared beforehand, into learners and invitations of a database with
  Roster's schema (its indexes): the writes alone.

Each function is one round, Roster then its reference, and returns (roster seconds, reference
seconds, peak MB of Roster's process: for PostgreSQL the server's). Run alone, it interleaves
`--rounds` rounds and prints each ratio's median with its spread:

    .venv/bin/python -m bench.import_ratios [--rows 100000] [--rounds 3] [--only embedded|postgres]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from bench.floor import CLIENT, SERVICE, import_seconds, sqlite_writes
from bench.scale import CONTRACT, PROGRAM, measured, new_organization

# Names from many languages: every other row of the file takes one, the others are ASCII.
NAMES = (
    "Élodie Lefèvre",
    "Søren Kierkegård",
    "Łukasz Wiśniewski",
    "Björn Ångström",
    "Zoë Œuvray",
    "Đorđe Petrović",
    "Þórunn Guðmundsdóttir",
    "Ħanna Ŧabone",
    "Jürgen Straße",
    "İsmail Kılıç",
    "Ŋgozi Æbleskiver",
    "Άννα Παπαδοπούλου",
    "Иван Ёлкин",
    "María José Núñez",
    "Nguyễn Thị Hương",
    "ﬁona Ｗｉｄｅ",
)


class Measure(NamedTuple):
    roster: float  # seconds
    reference: float  # seconds
    peak_mb: int  # Roster's process


def learner_file(folder: Path, rows: int) -> Path:
    """The learner file of `rows` rows in `folder`, written once."""
    path = folder / f"learners-{rows}.csv"
    if not path.exists():
        lines = ["Full Name,Email,External ID"]
        lines += [
            f"{NAMES[n // 2 % len(NAMES)] if n % 2 else 'Learner'} {n},"
            f"learner{n}@example.org,X{n:07d}"
            for n in range(rows)
        ]
        path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def _import_command(folder: Path, rows: int) -> list[str]:
    """`roster import` of `rows` learners into the demo's program and contract, no email."""
    return [
        "import",
        str(learner_file(folder, rows)),
        *("--program", PROGRAM, "--contract", CONTRACT),
        *("--no-send", "--yes", "--format", "json"),
    ]


def _embedded_import(rows: int, folder: Path) -> tuple[float, int]:
    """Seconds and peak MB of `roster import --no-send` into a new data directory."""
    env = {"ROSTER_DATA_DIR": str(folder / f"data-{time.monotonic_ns()}")}
    measured(["programs"], env)  # the demo organization, with its program and contract
    seconds, peak, out = measured(_import_command(folder, rows), env)
    if f'"invited": {rows}' not in out:
        raise SystemExit(f"the import did not invite {rows:,} learners:\n{out[:2000]}")
    return seconds, peak


def floor_seconds(rows: int, folder: Path) -> float:
    """`bench/floor.py`'s floor of an embedded import of `rows`, once."""
    modules = import_seconds(CLIENT) + import_seconds(SERVICE, CLIENT)
    return modules + sum(sqlite_writes(rows, folder).values())


def embedded_vs_floor(rows: int, folder: Path) -> Measure:
    seconds, peak = _embedded_import(rows, folder)
    return Measure(seconds, floor_seconds(rows, folder), peak)


# The plain loader: what a short script does to put a CSV file into SQLite.
PLAIN_LOADER = """
import csv, sqlite3, sys
connection = sqlite3.connect(sys.argv[2])
connection.execute(
    "CREATE TABLE learners (id INTEGER PRIMARY KEY, full_name TEXT, email TEXT, external_id TEXT)"
)
connection.execute("CREATE UNIQUE INDEX learners_email ON learners (email)")
with open(sys.argv[1], newline="", encoding="utf-8") as file:
    rows = csv.reader(file)
    next(rows)
    connection.executemany(
        "INSERT INTO learners (full_name, email, external_id) VALUES (?, ?, ?)", rows
    )
connection.commit()
connection.close()
"""


def plain_loader_seconds(rows: int, folder: Path) -> float:
    """Seconds of the plain loader, a whole process, loading the learner file of `rows`."""
    path = learner_file(folder, rows)
    database = folder / f"plain-{time.monotonic_ns()}.db"
    os.sync()
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", PLAIN_LOADER, str(path), str(database)], check=True)
    seconds = time.perf_counter() - start
    database.unlink()
    return seconds


def embedded_vs_plain(rows: int, folder: Path) -> Measure:
    seconds, peak = _embedded_import(rows, folder)
    return Measure(seconds, plain_loader_seconds(rows, folder), peak)


def embedded_round(rows: int, folder: Path) -> tuple[Measure, Measure]:
    """One import against both references: (vs the floor, vs the plain loader)."""
    seconds, peak = _embedded_import(rows, folder)
    floor = floor_seconds(rows, folder)
    plain = plain_loader_seconds(rows, folder)
    return Measure(seconds, floor, peak), Measure(seconds, plain, peak)


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """A throwaway PostgreSQL cluster from the machine's binaries; yields its admin URL."""
    from tests.deployment import PostgresCluster, postgres_bin

    binaries = postgres_bin()
    if binaries is None:
        raise SystemExit("PostgreSQL is not installed (initdb not found)")
    cluster = PostgresCluster(binaries).start()
    try:
        yield cluster.url
    finally:
        cluster.stop()


def _peak_mb(pid: int) -> int:
    """The process's peak resident memory so far (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def postgres_import(rows: int, folder: Path, cluster_url: str) -> tuple[float, int]:
    """Seconds of `roster import --api-url` into a new `roster serve` on PostgreSQL, and the
    server's peak MB."""
    from tests.deployment import start_replica

    database, token, _ = new_organization(cluster_url)
    url, replica = start_replica(database, folder)
    try:
        seconds, _, out = measured(
            _import_command(folder, rows), {"ROSTER_API_URL": url, "ROSTER_TOKEN": token}
        )
        peak = _peak_mb(replica.process.pid)
    finally:
        replica.end()
    if f'"invited": {rows}' not in out:
        raise SystemExit(f"the import did not invite {rows:,} learners:\n{out[:2000]}")
    return seconds, peak


def copy_seconds(rows: int, cluster_url: str) -> float:
    """Seconds of COPYing `rows` learners and their invitations, prepared beforehand as CSV,
    into a new database with Roster's schema, and committing."""
    import psycopg

    from tui.text import learner_search_key

    database, _, (organization, program, contract) = new_organization(cluster_url)
    learners, invitations = io.StringIO(), io.StringIO()
    for n in range(rows):
        name = f"{NAMES[n // 2 % len(NAMES)] if n % 2 else 'Learner'} {n}"
        email, external = f"learner{n}@example.org", f"X{n:07d}"
        search = learner_search_key(name, email, external)
        learners.write(
            f'{organization},{email},{email},"{name}",{external},"{search}",2026-12-01\n'
        )
        invitations.write(
            f"{organization},{program},{contract},{n + 1},pending,created,2026-12-01,"
            f"2026-12-31,0,0123456789abcdef{n:08d}\n"
        )
    plain = database.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as connection:
        start = time.perf_counter()
        with connection.cursor() as cursor:
            with cursor.copy(
                "COPY learners (organization_id, email, email_key, full_name, external_id, "
                "search_key, created_at) FROM STDIN WITH (FORMAT csv)"
            ) as copy:
                copy.write(learners.getvalue())
            with cursor.copy(
                "COPY invitations (organization_id, program_id, contract_id, learner_id, status, "
                "email_status, created_at, expires_at, email_attempts, token_key) FROM STDIN "
                "WITH (FORMAT csv)"
            ) as copy:
                copy.write(invitations.getvalue())
        connection.commit()
        return time.perf_counter() - start


def postgres_vs_copy(rows: int, folder: Path, cluster_url: str) -> Measure:
    seconds, peak = postgres_import(rows, folder, cluster_url)
    return Measure(seconds, copy_seconds(rows, cluster_url), peak)


# Each ratio's goal: Roster's seconds at most this many times its reference's.
GOALS = {
    "embedded vs floor.py": 1.4,
    "embedded vs plain loader": 3.0,
    "PostgreSQL API vs COPY": 1.15,
}


def summary(name: str, goal: float, runs: list[Measure]) -> str:
    """One line: the median ratio with its spread, the medians of each side, the peak."""
    ratios = sorted(run.roster / run.reference for run in runs)
    roster = statistics.median(run.roster for run in runs)
    reference = statistics.median(run.reference for run in runs)
    verdict = "within" if statistics.median(ratios) <= goal else "OVER"
    return (
        f"{name:<28} {statistics.median(ratios):5.2f}× ({ratios[0]:.2f}–{ratios[-1]:.2f}) "
        f"goal ≤ {goal:.2f}× {verdict}; Roster {roster:6.2f} s, reference {reference:6.2f} s, "
        f"peak {max(run.peak_mb for run in runs):,} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["embedded", "postgres"])
    args = parser.parse_args()
    rows: int = args.rows
    with tempfile.TemporaryDirectory(prefix="roster-import-ratios-") as scratch:
        folder = Path(scratch)
        learner_file(folder, rows)
        measures: dict[str, Callable[[], tuple[Measure, ...]]] = {}
        if args.only in (None, "embedded"):
            measures["embedded vs floor.py|embedded vs plain loader"] = lambda: embedded_round(
                rows, folder
            )
        with _cluster_if(args.only != "embedded") as cluster:
            if cluster:
                measures["PostgreSQL API vs COPY"] = lambda: (
                    postgres_vs_copy(rows, folder, cluster),
                )
            runs: dict[str, list[Measure]] = {name: [] for name in GOALS}
            for _ in range(args.rounds):  # interleaved: each round measures every pair once
                for names, measure in measures.items():
                    for name, run in zip(names.split("|"), measure(), strict=True):
                        runs[name].append(run)
    print(
        f"import of {rows:,} rows, {args.rounds} interleaved rounds, ratio median (spread), "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}:"
    )
    for name, goal in GOALS.items():
        if runs[name]:
            print("  " + summary(name, goal, runs[name]))


@contextmanager
def _cluster_if(wanted: bool) -> Iterator[str | None]:
    if not wanted:
        yield None
        return
    with postgres_cluster() as url:
        yield url


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
