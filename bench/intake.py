"""Benchmark `roster check`: whole-process wall time and peak memory on 100k and 1M rows.

Writes realistic learner files under bench/data/ (Excel-style UTF-8 with BOM and CRLF; about 1%
bad emails, case and whitespace duplicates, blank names, duplicate External IDs, blank rows),
times `roster check --format json` as a process (the median of --runs), times a plain `csv` +
`email-validator` loop on the same file (30 s at 1M rows; --no-loop skips it), prints the ratio,
and checks that both reach the same verdict on every row.

    .venv/bin/python -m bench.intake [--sizes 100000 1000000] [--runs 7] [--no-loop]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

DATA = Path(__file__).parent / "data"
ROSTER = [sys.executable, "-m", "tui"]
FIRST = ["Ann", "Bob", "Carla", "Dmitri", "Élodie", "Fatima", "Göran", "Hiro", "Inès", "José"]
LAST = ["Lee", "O'Brien", "Müller", "Nguyen", "Smith", "García", "Kowalski", "Dubois", "Rossi"]
DOMAINS = ["example.com", "acme.io", "mail.example.org", "learn.co.uk", "gmail.com", "uni.edu"]
BAD_EMAILS = [
    "{u}example.com",
    "{u}@@example.com",
    "{u} x@example.com",
    "{u}@example..com",
    "{u}@example",
    "{u}.@example.com",
    "{u}@-example.com",
    "{u}@example.c0m",
    "<{u}@example.com>",
    "{u}@exam_ple.com",
    "{u}@localhost",
    "{u}@site.test",
]


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def make_file(path: Path, rows: int, seed: int = 7) -> None:
    """A learner file as Excel for Windows saves it: UTF-8 with BOM, CRLF, quoted when needed."""
    rng = random.Random(seed)
    lines = ["Full Name,Email,External ID"]
    emails: list[str] = []
    for index in range(rows):
        roll = rng.random()
        if roll < 0.001:
            lines.append(",,")
            continue
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first} {last}" if rng.random() > 0.05 else f'"{last}, {first}"'
        surname = last.lower().replace("'", "")
        user = f"{first.lower()}.{surname}{index}"
        if rng.random() > 0.001:  # most addresses are plain ASCII; a few are internationalized
            user = ascii_fold(user)
        email = f"{user}@{rng.choice(DOMAINS)}"
        external_id = f"E{index:07d}" if rng.random() < 0.7 else ""
        if roll < 0.011:
            email = rng.choice(BAD_EMAILS).format(u=user)
        elif roll < 0.016 and emails:
            email = f"  {rng.choice(emails).upper()} "
        elif roll < 0.019:
            name = ""
        elif roll < 0.022 and index > 10:
            external_id = f"E{rng.randrange(index):07d}"
        emails.append(email.strip())
        lines.append(f"{name},{email},{external_id}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n").encode("utf-8"))


def run_process(command: list[str], stdout_path: Path) -> tuple[float, int]:
    """Wall seconds and peak resident memory (bytes) of one whole process."""
    with stdout_path.open("wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out)
        _, _, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
    return elapsed, usage.ru_maxrss * 1024


PLAIN_LOOP = r"""
import csv, json, sys
from email_validator import EmailNotValidError, validate_email
verdicts, seen = {}, {}
with open(sys.argv[1], encoding="utf-8-sig", newline="") as f:
    reader = csv.reader(f)
    header = [h.strip() for h in next(reader)]
    name_at, email_at = header.index("Full Name"), header.index("Email")
    for row, record in enumerate(reader, start=2):
        if not any(cell.strip() for cell in record):
            continue
        name, email = record[name_at].strip(), record[email_at].strip()
        found = []
        if not name:
            found.append(["missing_full_name", ""])
        if not email:
            found.append(["missing_email", ""])
        else:
            try:
                key = validate_email(email, check_deliverability=False).normalized.lower()
                if key in seen:
                    found.append(["duplicate_email", f"Same learner as row {seen[key]}"])
                else:
                    seen[key] = row
            except EmailNotValidError as error:
                found.append(["invalid_email", str(error)])
        if found:
            verdicts[row] = found
json.dump(verdicts, sys.stdout)
"""
COMPARED_CODES = {"missing_full_name", "missing_email", "invalid_email", "duplicate_email"}


def roster_verdicts(report: dict[str, object]) -> dict[int, list[list[str]]]:
    verdicts: dict[int, list[list[str]]] = {}
    for issue in report["issues"]:  # type: ignore[attr-defined]
        if issue["code"] in COMPARED_CODES:
            message = "" if issue["code"].startswith("missing") else issue["message"]
            verdicts.setdefault(issue["row"], []).append([issue["code"], message])
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-loop", action="store_true", help="skip the plain loop")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    # As installed (pip compiles the bytecode), even where PYTHONDONTWRITEBYTECODE is set.
    package = Path(__file__).parents[1] / "tui"
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "out.json"
        for size in args.sizes:
            path = DATA / f"learners-{size}.csv"
            if not path.exists():
                make_file(path, size)
            print(f"\n{path.name}: {size:,} rows, {path.stat().st_size / 1e6:.1f} MB")
            run_process([*ROSTER, "check", str(path), "--format", "json"], out)  # warm the cache
            timings = [
                run_process([*ROSTER, "check", str(path), "--format", "json"], out)
                for _ in range(args.runs)
            ]
            walls = [wall for wall, _ in timings]
            peak = max(memory for _, memory in timings)
            report = json.loads(out.read_text())
            print(
                f"  roster check: median {statistics.median(walls):.3f} s, best {min(walls):.3f} s "
                f"over {args.runs} runs; peak memory {peak / 1e6:.0f} MB"
            )
            print(
                f"  report: rows {report['rows']:,}, ready {report['ready']:,}, errors "
                f"{report['errors']:,}, blank rows {report['blank_rows_skipped']:,}, "
                f"issues {len(report['issues']):,}"
            )
            table_wall, _ = run_process([*ROSTER, "check", str(path)], Path(scratch) / "out.txt")
            print(f"  roster check (table output): {table_wall:.3f} s")
            if args.no_loop:
                continue
            plain = Path(scratch) / "plain.json"
            loop_wall, loop_memory = run_process(
                [sys.executable, "-c", PLAIN_LOOP, str(path)], plain
            )
            loop = {int(row): found for row, found in json.loads(plain.read_text()).items()}
            ours = roster_verdicts(report)
            same = loop == ours
            print(
                f"  plain csv + email-validator loop: {loop_wall:.3f} s, {loop_memory / 1e6:.0f} MB"
            )
            print(f"  speed-up: {loop_wall / statistics.median(walls):.1f}x")
            floor = min(
                run_process([sys.executable, "-c", "import polars"], plain)[0] for _ in range(5)
            )
            print(
                f"  floor: Python start + import polars alone {floor:.3f} s "
                f"(= {loop_wall / floor:.1f}x the loop at most, with no work at all)"
            )
            print(f"  verdicts match on {len(loop):,} rows with issues: {'yes' if same else 'NO'}")
            if not same:
                differing = (
                    sorted(set(loop) ^ set(ours))[:5]
                    or [row for row in loop if loop[row] != ours.get(row)][:5]
                )
                for row in differing:
                    print(f"    row {row}: loop {loop.get(row)} / roster {ours.get(row)}")


if __name__ == "__main__":
    main()
