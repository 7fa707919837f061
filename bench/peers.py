"""The references bench/ratios.py measures Roster against, each run as a process of its own so
that its peak memory is its own:

    python -m bench.peers pandera FILE         pandera (polars backend) validating a learner file
    python -m bench.peers sqlite FILE DB       csv read + executemany, one table, a unique index
    python -m bench.peers floor ROWS           bench/floor.py's floor of an embedded import
    python -m bench.peers copy URL FILE        COPY of a file's learners and their invitations
                                               into a PostgreSQL database with Roster's schema
    python -m bench.peers textual-app          a minimal Textual app: Header, Label, Footer

Those whose measure is not the whole process (floor: the sum of its parts; copy: the writes
alone, the rows prepared beforehand) print `seconds=S` last.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The minimal app's label: what bench/ratios.py waits to see on the terminal.
MINIMAL_LABEL = "Learners 1,234 - pending 56"


def pandera_check(path: str) -> int:
    """Validate the file with pandera's polars backend: names present, emails well formed and
    unique (case and spaces ignored), External IDs unique; the failure cases printed as JSON."""
    import pandera.polars as pa
    import polars as pl
    from pandera.errors import SchemaErrors

    email = (
        r"^[^@\s<>]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
    )
    schema = pa.DataFrameSchema(
        {
            "Full Name": pa.Column(str, pa.Check.str_length(min_value=1), nullable=False),
            "Email": pa.Column(str, pa.Check.str_matches(email), nullable=False),
            "email_key": pa.Column(str, unique=True),
            "External ID": pa.Column(str, nullable=True, unique=True),
        }
    )
    frame = pl.read_csv(path, infer_schema=False, encoding="utf8").with_columns(
        pl.col("Email").str.strip_chars(), pl.col("Full Name").str.strip_chars()
    )
    frame = frame.with_columns(email_key=pl.col("Email").str.to_lowercase())
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        print(errors.failure_cases.write_json())
    return 0


def sqlite_load(path: str, database: str) -> int:
    """A plain loader: read the CSV, insert its rows into one table with a unique index."""
    import csv
    import sqlite3

    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(
        "CREATE TABLE learners (id INTEGER PRIMARY KEY, full_name TEXT, email TEXT, "
        "external_id TEXT)"
    )
    connection.execute("CREATE UNIQUE INDEX ix_learners_email ON learners (email)")
    with open(path, encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file)
        next(reader)
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO learners (full_name, email, external_id) VALUES (?, ?, ?)", reader
        )
        connection.execute("COMMIT")
    connection.close()
    return 0


def floor(rows: int) -> int:
    """One figure of bench/floor.py: the modules' imports and SQLite's writes, added."""
    import tempfile

    from bench.floor import CLIENT, SERVICE, import_seconds, sqlite_writes

    seconds = import_seconds(CLIENT) + import_seconds(SERVICE, CLIENT)
    with tempfile.TemporaryDirectory() as folder:
        seconds += sum(sqlite_writes(rows, Path(folder)).values())
    print(f"seconds={seconds}")
    return 0


def copy(url: str, path: str) -> int:
    """COPY a file's learners into `learners` and one pending invitation each into
    `invitations` of a database with Roster's schema (its indexes, keys and constraints), as
    the demo organization's program and contract; the rows prepared before the clock starts."""
    import csv
    import io
    import time

    import psycopg

    with open(path, encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file)
        next(reader)
        rows = list(reader)
    created, expires = "2026-12-01 00:00:00", "2026-12-15 00:00:00"
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        organization, program, contract = connection.execute(
            "SELECT o.id, p.id, c.id FROM organizations o JOIN programs p ON "
            "p.organization_id = o.id JOIN contracts c ON c.organization_id = o.id LIMIT 1"
        ).fetchone() or (0, 0, 0)
        start_id = connection.execute("SELECT COALESCE(max(id), 0) + 1 FROM learners").fetchone()[0]  # type: ignore[index]
        learners = io.StringIO()
        invitations = io.StringIO()
        for offset, (name, email, external_id) in enumerate(rows):
            learners.write(
                f"{start_id + offset}\t{organization}\t{email}\t{email.lower()}\t{name}\t"
                f"{external_id or chr(92) + 'N'}\t{name.lower()}\t{created}\n"
            )
            invitations.write(
                f"{organization}\t{program}\t{contract}\t{start_id + offset}\tpending\tcreated\t"
                f"{offset:064x}\t{created}\t{expires}\t0\n"
            )
        start = time.perf_counter()
        with connection.cursor() as cursor:
            with cursor.copy(
                "COPY learners (id, organization_id, email, email_key, full_name, external_id, "
                "search_key, created_at) FROM STDIN"
            ) as load:
                load.write(learners.getvalue())
            with cursor.copy(
                "COPY invitations (organization_id, program_id, contract_id, learner_id, status, "
                "email_status, token_key, created_at, expires_at, email_attempts) FROM STDIN"
            ) as load:
                load.write(invitations.getvalue())
        connection.commit()
        seconds = time.perf_counter() - start
    print(f"seconds={seconds}")
    return 0


def textual_app() -> int:
    """A minimal Textual app: Header, Label, Footer."""
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Label

    class Minimal(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield Label(MINIMAL_LABEL)
            yield Footer()

    Minimal().run()
    return 0


def main(argv: list[str]) -> int:
    match argv:
        case ["pandera", path]:
            return pandera_check(path)
        case ["sqlite", path, database]:
            return sqlite_load(path, database)
        case ["floor", rows]:
            return floor(int(rows))
        case ["copy", url, path]:
            return copy(url, path)
        case ["textual-app"]:
            return textual_app()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
