"""Benchmark `roster sync` on the embedded service against a plain import of the same file, in
the same run: a program of N learners (imported, no emails), then HR's next file: 90% of them
as they were, 2% renamed, 1% with a new email under the same External ID, 7% gone, and 5% new
people. Each a whole `roster` process, with its peak memory:

- the import of the N learners (the reference: the same work a sync's invitations do);
- `roster sync --dry-run --format json` of the next file (read, check, upload, diff);
- `roster sync --remove-missing --max-removals M --yes` of it (the diff, then its commit);
- the same sync again, which has nothing to change.

    .venv/bin/python bench/sync.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.scale import CONTRACT, PROGRAM, measured


def write_file(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    lines = ["Full Name,Email,External ID", *(",".join(row) for row in rows)]
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


def learner(n: int) -> tuple[str, str, str]:
    return (f"Learner {n}", f"learner{n}@example.org", f"X{n:08d}")


def next_month(rows: int) -> tuple[list[tuple[str, str, str]], dict[str, int]]:
    """HR's next file for learners 0..rows-1, and how many of each change it holds."""
    kept: list[tuple[str, str, str]] = []
    counts = {"renamed": 0, "moved": 0, "gone": 0, "new": 0}
    for n in range(rows):
        bucket = n % 100
        name, email, external = learner(n)
        if bucket < 7:
            counts["gone"] += 1
            continue
        if bucket < 9:
            name, counts["renamed"] = f"{name} Renamed", counts["renamed"] + 1
        elif bucket < 10:
            email, counts["moved"] = f"moved{n}@example.org", counts["moved"] + 1
        kept.append((name, email, external))
    new = [learner(rows + n) for n in range(rows // 20)]
    counts["new"] = len(new)
    return kept + new, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory(prefix="roster-sync-bench-") as folder:
        scratch = Path(folder)
        env = {"ROSTER_DATA_DIR": str(scratch / "data")}
        measured(["programs"], env)  # the demo organization, before the clock starts
        first = write_file(scratch / "first.csv", [learner(n) for n in range(rows)])
        second_rows, counts = next_month(rows)
        second = write_file(scratch / "second.csv", second_rows)
        target = ["--program", PROGRAM, "--contract", CONTRACT]
        print(f"{rows:,} learners; the next file: {len(second_rows):,} rows, {counts}")

        seconds, peak, out = measured(
            ["import", str(first), *target, "--no-send", "--yes", "--format", "json"], env
        )
        print(
            f"  import of {rows:,} rows:            {seconds:7.2f} s, peak {peak:,} MB "
            f"(invited {json.loads(out)['invited']:,})"
        )
        seconds, peak, out = measured(
            ["sync", str(second), *target, "--dry-run", "--format", "json"], env
        )
        diff = json.loads(out)["diff"]
        sizes = {group: len(diff[group]) for group in ("invite", "update", "remove")}
        print(
            f"  sync --dry-run (diff):             {seconds:7.2f} s, peak {peak:,} MB "
            f"({sizes}, unchanged {diff['unchanged']:,})"
        )
        allowed = str(counts["gone"])
        seconds, peak, out = measured(
            [
                "sync",
                str(second),
                *target,
                "--remove-missing",
                "--max-removals",
                allowed,
                "--no-email",
                "--yes",
                "--format",
                "json",
            ],
            env,
        )
        print(
            f"  sync --remove-missing (commit):    {seconds:7.2f} s, peak {peak:,} MB "
            f"({json.loads(out).get('result')})"
        )
        seconds, peak, out = measured(
            ["sync", str(second), *target, "--remove-missing", "--yes", "--format", "json"], env
        )
        print(
            f"  the same sync again:               {seconds:7.2f} s, peak {peak:,} MB "
            f"({json.loads(out).get('result')})"
        )


if __name__ == "__main__":
    main()
