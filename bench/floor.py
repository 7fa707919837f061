"""What an embedded import cannot go below: loading Python's modules, and SQLite writing the rows.

- modules: a fresh interpreter importing what `roster import` loads on the client side, then the
  embedded service's modules (fastapi, sqlalchemy, polars, pydantic and Roster's own).
- SQLite: a bare `sqlite3` connection, with Roster's pragmas, on a database with Roster's schema,
  doing what an import's commit does with the ready rows: stage them (executemany), insert the
  learners, insert the invitations (their indexes and foreign keys included), commit (which
  folds the write-ahead log into the database file). No check, no HTTP, no file to read.

Each figure is the median of three runs.

    .venv/bin/python bench/floor.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLIENT = (
    "import tui.cli.files, tui.cli.client, tui.api.client, tui.api.importer, "
    "tui.intake.learner_file"
)
SERVICE = "import tui.service.runtime"


def import_seconds(modules: str, before: str = "") -> float:
    """Seconds a fresh interpreter takes to import `modules` once `before` is imported."""
    statements = [
        "import time",
        before,
        "start = time.perf_counter()",
        modules,
        "print(time.perf_counter() - start)",
    ]
    code = "; ".join(statement for statement in statements if statement)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout)


def sqlite_writes(rows: int, folder: Path) -> dict[str, float]:
    """Seconds of each step of writing `rows` new learners and their invitations."""
    from tui.service import admin as operator
    from tui.service.db import SQLITE_PRAGMAS, open_database

    path = folder / f"floor-{time.monotonic_ns()}.db"
    sessions = open_database(f"sqlite:///{path}")
    with sessions.begin() as session:
        organization = operator.create_organization(session, "Floor")
        program = operator.create_program(session, organization, "Program")
        contract = operator.create_contract(session, organization, "Contract", [program])
        ids = organization.id, program.id, contract.id
    sessions.kw["bind"].dispose()

    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        connection.execute(f"PRAGMA {pragma}")
    learners = [
        (
            f"learner{n}@example.org",
            f"learner{n}@example.org",
            f"Learner {n}",
            f"X{n:07d}",
            f"learner {n}",
        )
        for n in range(rows)
    ]
    seconds: dict[str, float] = {}
    mark = time.perf_counter()

    def step(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        seconds[name] = now - mark
        mark = now

    connection.execute("BEGIN IMMEDIATE")
    mark = time.perf_counter()
    connection.execute(
        "CREATE TEMPORARY TABLE ready (position INTEGER PRIMARY KEY, email TEXT, email_key TEXT,"
        " full_name TEXT, external_id TEXT, search_key TEXT)"
    )
    connection.executemany(
        "INSERT INTO ready (email, email_key, full_name, external_id, search_key) "
        "VALUES (?, ?, ?, ?, ?)",
        learners,
    )
    step("stage the rows")
    connection.execute(
        "INSERT INTO learners (organization_id, email, email_key, full_name, external_id, "
        "search_key, created_at) SELECT ?, email, email_key, full_name, external_id, "
        "search_key, '2026-12-01 00:00:00.000000' FROM ready",
        (ids[0],),
    )
    step("insert the learners")
    connection.execute(
        "INSERT INTO invitations (organization_id, program_id, contract_id, status, "
        "email_status, created_at, expires_at, email_attempts, learner_id, token_key) "
        "SELECT ?, ?, ?, 'pending', 'created', '2026-12-01 00:00:00.000000', "
        "'2026-12-15 00:00:00.000000', 0, learners.id, "
        "'0123456789abcdef' || lower(printf('%08x', ready.position)) "
        "FROM ready JOIN learners ON learners.organization_id = ? "
        "AND learners.email_key = ready.email_key ORDER BY ready.position",
        (*ids, ids[0]),
    )
    step("insert the invitations")
    connection.execute("COMMIT")
    connection.close()  # the last connection folds the log into the database
    step("commit and checkpoint")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    client = statistics.median(import_seconds(CLIENT) for _ in range(3))
    service = statistics.median(import_seconds(SERVICE, CLIENT) for _ in range(3))
    print("modules, in a fresh interpreter (median of 3):")
    print(f"  the client's (roster import): {client:.2f} s")
    print(f"  the embedded service's, after the client's: {service:.2f} s")
    with tempfile.TemporaryDirectory() as folder:
        runs = [sqlite_writes(args.rows, Path(folder)) for _ in range(3)]
    print(f"SQLite writing {args.rows:,} new learners and their invitations (median of 3):")
    total = 0.0
    for name in runs[0]:
        seconds = statistics.median(run[name] for run in runs)
        total += seconds
        print(f"  {name}: {seconds:.2f} s")
    print(f"  in all: {total:.2f} s")
    print(f"floor of an embedded import of {args.rows:,}: {client + service + total:.2f} s")


if __name__ == "__main__":
    main()
