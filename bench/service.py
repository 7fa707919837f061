"""Benchmark the service: a 100,000-row import without email and a 1,000,000-row dry run, each as
a whole `roster` process on the embedded service, listing a million invitations as JSON, and
email delivery into a loopback aiosmtpd
server running in its own process.

    .venv/bin/python bench/service.py [--import-rows 100000] [--dry-run-rows 1000000]
                                      [--invitations 1000000] [--messages 5000]
                                      [--only import|dry-run|listing|mail]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

ROSTER = [sys.executable, "-m", "tui"]
PROGRAM, CONTRACT = "Inclusive Hiring", "Enterprise Agreement 2026 (unlimited)"


def write_learners(path: Path, rows: int) -> Path:
    lines = ["Full Name,Email,External ID"]
    lines += [f"Learner {n},learner{n}@example.org,X{n:07d}" for n in range(rows)]
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **env}, check=False
    )
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    return elapsed, result.stdout


def bench_import(rows: int, scratch: Path) -> None:
    env = {"ROSTER_DATA_DIR": str(scratch / "import-data")}
    timed([*ROSTER, "programs"], env)  # seed the demo organization first
    path = write_learners(scratch / "import.csv", rows)
    elapsed, out = timed(
        [
            *ROSTER,
            "import",
            str(path),
            "--program",
            PROGRAM,
            "--contract",
            CONTRACT,
            "--no-send",
            "--yes",
            "--format",
            "json",
        ],
        env,
    )
    result = json.loads(out)
    print(
        f"import of {rows:,} rows, no email, end to end: {elapsed:.2f} s "
        f"(invited {result['invited']:,})"
    )
    elapsed, out = timed(
        [
            *ROSTER,
            "import",
            str(path),
            "--program",
            PROGRAM,
            "--contract",
            CONTRACT,
            "--no-send",
            "--yes",
            "--format",
            "json",
        ],
        env,
    )
    result = json.loads(out)
    print(
        f"  the same file again: {elapsed:.2f} s (invited {result['invited']:,}, "
        f"skipped {result['skipped']:,})"
    )


def bench_dry_run(rows: int, scratch: Path) -> None:
    env = {"ROSTER_DATA_DIR": str(scratch / "dry-run-data")}
    timed([*ROSTER, "programs"], env)
    path = write_learners(scratch / "dry-run.csv", rows)
    elapsed, out = timed(
        [
            *ROSTER,
            "check",
            str(path),
            "--program",
            PROGRAM,
            "--contract",
            CONTRACT,
            "--format",
            "json",
        ],
        env,
    )
    report = json.loads(out)
    print(
        f"dry run (roster check --program --contract) of {rows:,} rows: {elapsed:.2f} s "
        f"(ready {report['ready']:,})"
    )


def seed_invitations(data: Path, invitations: int) -> None:
    """`invitations` learners invited to PROGRAM in the demo organization of `data`, written
    straight into SQLite (an import of a million takes longer than what it sets up)."""
    import sqlite3

    timed([*ROSTER, "programs"], {"ROSTER_DATA_DIR": str(data)})  # the demo organization
    with sqlite3.connect(data / "roster.db") as db:
        organization, program = db.execute(
            "SELECT organization_id, id FROM programs WHERE name = ?", (PROGRAM,)
        ).fetchone()
        (contract,) = db.execute("SELECT id FROM contracts WHERE name = ?", (CONTRACT,)).fetchone()
        first = db.execute("SELECT coalesce(max(id), 0) + 1 FROM learners").fetchone()[0]
        numbers = (
            "WITH RECURSIVE n(i) AS "
            f"(SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {invitations - 1})"
        )
        db.execute(
            f"{numbers} INSERT INTO learners (id, organization_id, email, email_key, full_name, "
            "external_id, search_key, created_at) SELECT ? + i, ?, 'bench' || i || '@example.org', "
            "'bench' || i || '@example.org', 'Bench Learner ' || i, 'B' || i, "
            "'bench learner ' || i, datetime('now') FROM n",
            (first, organization),
        )
        # Every tenth email failed, with the mail server's reply: filters have work to do.
        db.execute(
            f"{numbers} INSERT INTO invitations (organization_id, program_id, contract_id, "
            "learner_id, status, email_status, email_error, token_key, created_at, expires_at, "
            "email_attempts, email_sent_at) SELECT ?, ?, ?, ? + i, 'pending', "
            "CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'sent' END, "
            "CASE WHEN i % 10 = 0 THEN '550 5.1.1 mailbox unavailable' END, 'bench-' || i, "
            "datetime('now'), datetime('now', '+30 days'), 1, datetime('now') FROM n",
            (organization, program, contract, first),
        )


def bench_listing(invitations: int, scratch: Path) -> None:
    """`roster invitations --format json > file` of a program with a million invitations, and
    the same piped into `head`."""
    data = scratch / "listing-data"
    seed_invitations(data, invitations)
    env = {**os.environ, "ROSTER_DATA_DIR": str(data)}
    listing = scratch / "invitations.json"
    with listing.open("wb") as out:
        start = time.perf_counter()
        subprocess.run(
            [*ROSTER, "invitations", "--program", PROGRAM, "--format", "json"],
            stdout=out,
            env=env,
            check=True,
        )
        elapsed = time.perf_counter() - start
    listed = json.loads(listing.read_bytes())
    print(
        f"roster invitations --format json > file, {listed['total']:,} invitations: "
        f"{elapsed:.2f} s ({listing.stat().st_size / 1e6:,.0f} MB of JSON)"
    )
    head = subprocess.run(
        f"{' '.join(ROSTER)} invitations --program '{PROGRAM}' --format json | head -c 200",
        shell=True,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    print(f"  | head -c 200: exit {head.returncode}, {len(head.stderr)} characters on stderr")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def queued(sessions: sessionmaker[Session]) -> int:
    from tui.service.db import OutboxMessage

    with sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "queued")
            )
            or 0
        )


def bench_mail(messages: int, scratch: Path) -> None:
    from tui.service import admin as operator
    from tui.service.checks import check_rows, rows_frame
    from tui.service.db import OutboxMessage, open_database
    from tui.service.invitations import create_invitations
    from tui.service.mail import OutboxSender, open_transport
    from tui.wire.models import RowBatch

    sessions = open_database(f"sqlite:///{scratch / 'mail.db'}")
    with sessions.begin() as session:
        organization = operator.create_organization(session, "Bench")
        program = operator.create_program(session, organization, "Leadership")
        contract = operator.create_contract(session, organization, "Unlimited", [program])
        rows = RowBatch(
            row=list(range(2, messages + 2)),
            full_name=[f"Learner {n}" for n in range(messages)],
            email=[f"learner{n}@example.org" for n in range(messages)],
            external_id=[None] * messages,
        )
        frame = rows_frame(rows)
        checked = check_rows(session, program, contract, frame, date.today())
        create_invitations(session, program, contract, frame, checked, send_emails=True)

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Sink",
        ],
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)

        async def drain() -> float:
            sender = OutboxSender(
                sessions,
                open_transport(f"smtp://127.0.0.1:{port}"),
                public_url="https://roster.example.org",
                sender="Bench <bench@example.org>",
                secret=b"bench-secret-key-0123456789abcdefgh",
            )
            start = time.perf_counter()
            running = asyncio.create_task(sender.run())
            # Each outcome is committed as the server answers: done when none is left queued.
            while await asyncio.to_thread(queued, sessions):
                await asyncio.sleep(0.02)
            elapsed = time.perf_counter() - start
            await sender.stop()
            await running
            return elapsed

        elapsed = asyncio.run(drain())
    finally:
        server.terminate()
        server.wait()
    with sessions() as session:
        sent = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
        )
    print(
        f"email delivery to a loopback aiosmtpd server: {messages:,} messages in "
        f"{elapsed:.2f} s = {messages / elapsed:,.0f} messages/s (sent {sent:,})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--dry-run-rows", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--invitations", type=int, default=1_000_000)
    parser.add_argument(
        "--only", choices=["import", "dry-run", "listing", "mail"], help="run one benchmark"
    )
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        if args.only in (None, "import"):
            bench_import(args.import_rows, scratch)
        if args.only in (None, "dry-run"):
            bench_dry_run(args.dry_run_rows, scratch)
        if args.only in (None, "listing"):
            bench_listing(args.invitations, scratch)
        if args.only in (None, "mail"):
            bench_mail(args.messages, scratch)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
