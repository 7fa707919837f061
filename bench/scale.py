"""Benchmark Roster at scale: embedded at a million learners, and the shared deployment on a
PostgreSQL cluster started from the system's binaries.

- `embedded`: each a whole `roster` process on the embedded service (SQLite), with its peak
  memory: a dry run of 1,000,000 fresh rows, an import of 100,000, an import of 1,000,000, and
  the same million-row file checked again against those invitations. Each is the median of
  `--repeat` runs, each import into a new data directory, after the disk has caught up with the
  writes of the runs before.
- `api`: 1,000,000 learners through `roster import --api-url` into a `roster serve` on
  PostgreSQL, no emails; the median of `--repeat` runs, each into a new database.

- `workers`: the scenario of tests/service/test_deployment.py at full size: two `roster serve
  --no-sender` replicas, three `roster worker` processes, 100,000 learners imported through
  the replicas (one import each, at once), one worker killed with SIGKILL midway; prints the
  time and checks that every learner was invited once and every email arrived.
- `throughput`: mail delivery by 1, 2 and 4 `roster worker` processes into a loopback aiosmtpd
  server (its own process), in messages per second, from the moment the emails fall due to
  the last one recorded sent, and the CPU each part spent per message (workers, SMTP server,
  PostgreSQL): on a machine with few cores they share it.

    .venv/bin/python bench/scale.py [--learners 100000] [--messages 20000] [--rows 1000000]
                                    [--workers 1,2,4] [--repeat 3]
                                    [--only embedded|api|workers|throughput]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker


def bench_workers(cluster_url: str, learners: int, scratch: Path) -> None:
    from tests.deployment import CountingMailServer, run_deployment
    from tui.service.mail import DEFAULT_CONCURRENCY

    database = new_database(cluster_url)
    mail = CountingMailServer().start()
    try:
        run = run_deployment(database, scratch, mail, learners)
    finally:
        mail.stop()
    twice = {row for row, times in run.received.items() if times > 1}
    print(
        f"{learners:,} learners, 2 replicas (--no-sender), 3 workers, one SIGKILLed midway: "
        f"imports and every email in {run.seconds:.1f} s "
        f"({learners / run.seconds:,.0f} learners/s)"
    )
    invited = sum(document["invited"] for document in run.imports)
    print(
        f"  invited {invited:,}; invitations per learner {dict(run.invitations_per_learner)}; "
        f"outbox {dict(run.outbox_states)}; {len(set(run.received)):,} distinct emails "
        f"received"
    )
    print(
        f"  the killed worker held {len(run.held_at_kill)} emails; {len(twice)} arrived twice, "
        f"all of them among those (at most {DEFAULT_CONCURRENCY} can be on the wire)"
        if twice <= run.held_at_kill
        else "  AN EMAIL ARRIVED TWICE THAT THE DEAD WORKER DID NOT HOLD"
    )
    checks = {
        "each learner invited once": run.invitations_per_learner == {1: learners},
        "every email sent": run.outbox_states == {"sent": learners},
        "every email received": set(run.received) == run.outbox_rows,
        "the others stopped with exit 0": run.survivor_exits == [0, 0],
    }
    failed = [name for name, held in checks.items() if not held]
    print("  checks: " + ("all hold" if not failed else "FAILED: " + ", ".join(failed)))


PROGRAM, CONTRACT = "Inclusive Hiring", "Enterprise Agreement 2026 (unlimited)"
# A command run under this prints its own peak memory last: the children's maximum resident size
# is the one command's, not that of every command run before it.
PEAK = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(code)"
)


def measured(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Seconds, peak MB and stdout of `roster ARGS`. The writes of the commands before are
    flushed to disk first, so that their write-back is not timed as this command's; the output
    goes to a file."""
    os.sync()
    # Into a file, as a script keeps a report: a pipe would time the reader too.
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", PEAK, sys.executable, "-m", "tui", *args],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
            check=False,
        )
        elapsed = time.perf_counter() - start
        out.seek(0)
        stdout = out.read().decode()
    if done.returncode not in (0, 1):
        raise SystemExit(f"roster {' '.join(args)} failed:\n{done.stderr}")
    peak = int(done.stderr.strip().splitlines()[-1]) // 1024
    return elapsed, peak, stdout


def median_of(runs: list[tuple[float, int, str]]) -> str:
    """The median run's seconds and peak, with the spread when there were several runs."""
    ordered = sorted(runs)
    seconds, peak, _ = ordered[len(ordered) // 2]
    spread = (
        f" (of {len(runs)}: {ordered[0][0]:.2f}–{ordered[-1][0]:.2f} s)" if len(runs) > 1 else ""
    )
    return f"{seconds:6.2f} s, peak {peak:,} MB{spread}"


def learner_file(path: Path, rows: int) -> Path:
    from tests.deployment import write_learners

    return write_learners(path, range(rows))


def bench_embedded(rows: int, scratch: Path, repeat: int) -> None:
    print(
        f"embedded (SQLite), each a whole roster process, peak memory of that process; "
        f"median of {repeat} runs, each import into a new data directory:"
    )
    big = learner_file(scratch / "big.csv", rows)
    small = learner_file(scratch / "small.csv", rows // 10)
    target = ["--program", PROGRAM, "--contract", CONTRACT]
    check = ["--format", "json"]
    importing = ["--no-send", "--yes", "--format", "json"]

    def fresh(name: str) -> dict[str, str]:
        """A data directory with only the demo organization in it."""
        env = {"ROSTER_DATA_DIR": str(scratch / name)}
        measured(["programs"], env)
        return env

    env = fresh("dry")
    runs = [measured(["check", str(big), *target, *check], env) for _ in range(repeat)]
    print(
        f"  dry run of {_rows(big):,} rows: {median_of(runs)} "
        f"(ready {json.loads(runs[0][2])['ready']:,})"
    )
    runs = [
        measured(["import", str(small), *target, *importing], fresh(f"small{run}"))
        for run in range(repeat)
    ]
    print(
        f"  import of {_rows(small):,} rows: {median_of(runs)} "
        f"(invited {json.loads(runs[0][2])['invited']:,})"
    )
    runs = []
    for run in range(repeat):  # the re-check below reads the last of them
        env = fresh(f"big{run}")
        runs.append(measured(["import", str(big), *target, *importing], env))
    print(
        f"  import of {_rows(big):,} rows: {median_of(runs)} "
        f"(invited {json.loads(runs[0][2])['invited']:,})"
    )
    runs = [measured(["check", str(big), *target, *check], env) for _ in range(repeat)]
    print(
        f"  the same {rows:,} rows checked again against their invitations: {median_of(runs)} "
        f"(skipped {json.loads(runs[0][2])['skipped']:,})"
    )


def _rows(path: Path) -> int:
    with path.open("rb") as file:
        return sum(1 for _ in file) - 1


def bench_api(cluster_url: str, rows: int, scratch: Path, repeat: int) -> None:
    from tests.deployment import start_replica

    path = learner_file(scratch / "api.csv", rows)
    runs = []
    for _ in range(repeat):  # each into a database of its own, through a replica of its own
        database, token, _ = new_organization(cluster_url)
        url, replica = start_replica(database, scratch)
        try:
            runs.append(
                measured(
                    [
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
                    {"ROSTER_API_URL": url, "ROSTER_TOKEN": token},
                )
            )
        finally:
            replica.end()
    print(
        f"PostgreSQL: {rows:,} learners through roster import --api-url, no email, end to "
        f"end: {median_of(runs)} (the client's peak; invited "
        f"{json.loads(runs[0][2])['invited']:,})"
    )


def bench_throughput(
    cluster_url: str, cluster_folder: Path, messages: int, counts: list[int], scratch: Path
) -> None:
    from tests.deployment import RosterProcess, start_worker
    from tests.mailing import learners, queue_invitations
    from tui.service.db import open_database

    database = new_database(cluster_url)
    sessions = open_database(database)
    queue_invitations(sessions, learners(messages))
    hold(sessions)
    port = _free_port()
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
        _wait_for_port(port)
        print(
            f"email delivery by roster worker processes to a loopback aiosmtpd server, "
            f"{messages:,} messages each time:"
        )
        for count in counts:
            workers: list[RosterProcess] = [
                start_worker(database, f"smtp://127.0.0.1:{port}", scratch, f"{count}-{n}")[1]
                for n in range(count)
            ]
            pids = {
                "workers": [worker.process.pid for worker in workers],
                "SMTP server": [server.pid],
                "PostgreSQL": postgres_pids(cluster_folder),
            }
            before = {part: cpu_seconds(ids) for part, ids in pids.items()}
            start = time.perf_counter()
            release(sessions)
            while (left := queued(sessions)) > 0:
                time.sleep(0.05)
            elapsed = time.perf_counter() - start
            spent = {part: cpu_seconds(ids) - before[part] for part, ids in pids.items()}
            exits = [worker.end() for worker in workers]
            sent = outbox_count(sessions, "sent")
            per_message = ", ".join(
                f"{part} {seconds / messages * 1000:.2f}" for part, seconds in spent.items()
            )
            print(
                f"  {count} worker{'s' if count > 1 else ' '}: {elapsed:6.2f} s = "
                f"{messages / elapsed:7,.0f} messages/s (sent {sent:,}, left {left}, exits "
                f"{exits}); CPU ms per message: {per_message}"
            )
            hold(sessions)
    finally:
        server.terminate()
        server.wait()
        sessions.kw["bind"].dispose()


def hold(sessions: sessionmaker[Session]) -> None:
    """Every email queued again, not due for a day: the workers start idle."""
    from tui.service.db import OutboxMessage, utcnow

    with sessions.begin() as session:
        session.execute(
            update(OutboxMessage).values(
                status="queued",
                attempts=0,
                claimed_by=None,
                sent_at=None,
                last_error=None,
                next_attempt_at=utcnow() + timedelta(days=1),
            )
        )


def release(sessions: sessionmaker[Session]) -> None:
    """Every email due now: the clock starts."""
    from tui.service.db import OutboxMessage, utcnow

    with sessions.begin() as session:
        session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))


def queued(sessions: sessionmaker[Session]) -> int:
    return outbox_count(sessions, "queued")


def outbox_count(sessions: sessionmaker[Session], status: str) -> int:
    from tui.service.db import OutboxMessage

    with sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == status)
            )
            or 0
        )


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user and system) the processes have used so far, from /proc (Linux)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def postgres_pids(folder: Path) -> list[int]:
    """The cluster's postmaster and its children (the connections' backends)."""
    postmaster = int((folder / "data" / "postmaster.pid").read_text().split()[0])
    children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    return [postmaster, *map(int, children)]


def new_database(cluster_url: str) -> str:
    """The URL of a new, empty database on the cluster at `cluster_url`."""
    import uuid

    from sqlalchemy import create_engine, text

    name = f"bench_{uuid.uuid4().hex[:12]}"
    engine = create_engine(cluster_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return cluster_url.rsplit("/", 1)[0] + "/" + name


def new_organization(cluster_url: str) -> tuple[str, str, tuple[int, int, int]]:
    """A new database with Roster's schema and one organization, program and contract: its
    URL, an admin's token, and the (organization, program, contract) ids."""
    from tui.service import admin as operator
    from tui.service.db import open_database

    database = new_database(cluster_url)
    sessions = open_database(database)
    with sessions.begin() as session:
        organization = operator.create_organization(session, "Bench")
        _, token = operator.create_admin(session, organization, "admin@bench.example")
        program = operator.create_program(session, organization, PROGRAM)
        contract = operator.create_contract(session, organization, CONTRACT, [program])
        ids = organization.id, program.id, contract.id
    sessions.kw["bind"].dispose()
    return database, token, ids


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port}")


def main() -> None:
    from tests.deployment import PostgresCluster, postgres_bin

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma separated")
    parser.add_argument("--rows", type=int, default=1_000_000, help="embedded and api")
    parser.add_argument("--repeat", type=int, default=3, help="embedded and api: runs of each")
    parser.add_argument(
        "--only", choices=["embedded", "api", "workers", "throughput"], help="run one benchmark"
    )
    args = parser.parse_args()
    if args.only in (None, "embedded"):
        with tempfile.TemporaryDirectory() as folder:
            bench_embedded(args.rows, Path(folder), args.repeat)
        if args.only:
            return
    binaries = postgres_bin()
    if binaries is None:
        raise SystemExit("PostgreSQL is not installed (initdb not found)")
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"PostgreSQL from {binaries}"
    )
    cluster = PostgresCluster(binaries).start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            scratch = Path(folder)
            if args.only in (None, "api"):
                (scratch / "api").mkdir()
                bench_api(cluster.url, args.rows, scratch / "api", args.repeat)
            if args.only in (None, "workers"):
                (scratch / "workers").mkdir()
                bench_workers(cluster.url, args.learners, scratch / "workers")
            if args.only in (None, "throughput"):
                (scratch / "throughput").mkdir()
                counts = [int(count) for count in args.workers.split(",")]
                bench_throughput(
                    cluster.url, cluster.folder, args.messages, counts, scratch / "throughput"
                )
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
