"""Hostile files at the real limits: time and peak memory of `roster check FILE --format json`.

Each shape is written under a temporary folder (sizes as the attacks were measured), checked by
a fresh process, and reported with its exit code, the file error code, wall time and the peak
RSS of that process (os.wait4). Target (DESIGN §5): a report within 10 s and 1 GB.

    .venv/bin/python -m bench.hostile [--only NAME ...]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.intake import hostile_files as hostile

ROSTER = [sys.executable, "-m", "tui", "check"]
MB = 1_000_000

Shape = Callable[[Path], Path]


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


SHAPES: dict[str, tuple[str, Shape]] = {
    "xlsx cell at XFD1048576": ("far.xlsx", hostile.far_cell_xlsx),
    "xlsx zip bomb, 1 GB sheet": ("bomb.xlsx", lambda p: hostile.unpacked_bomb_xlsx(p, 1000 * MB)),
    "xlsx zip bomb, 190 MB sheet": (
        "bomb190.xlsx",
        lambda p: hostile.unpacked_bomb_xlsx(p, 190 * MB),
    ),
    "xlsx 3M rows without r": ("rows.xlsx", lambda p: hostile.row_bomb_xlsx(p, 3_000_000)),
    "xlsx 10M cells in one row": ("wide.xlsx", lambda p: hostile.wide_row_xlsx(p, 10_000_000)),
    "xlsx 1 MB shared string x 100k": (
        "sst.xlsx",
        lambda p: hostile.shared_string_bomb_xlsx(p, 1 * MB, 100_000),
    ),
    "xlsx password-protected": ("enc.xlsx", hostile.encrypted_xlsx),
    "csv 800 KB trailing commas": (
        "commas.csv",
        lambda p: hostile.trailing_commas_csv(p, 800_000, 1),
    ),
    "csv 190 MB trailing commas": (
        "commas190.csv",
        lambda p: hostile.trailing_commas_csv(p, 95_000, 2_000),
    ),
    "csv 157 MB cell": ("cell.csv", lambda p: hostile.long_cell_csv(p, 157 * MB)),
    "csv 150 MB header cell": (
        "head.csv",
        lambda p: hostile.long_cell_csv(p, 150 * MB, in_header=True),
    ),
    "csv 150 MB line": ("line.csv", lambda p: hostile.long_line_csv(p, 150 * MB)),
    "csv stray CR before header": ("cr.csv", hostile.stray_cr_csv),
    "csv ragged, private-use chars": ("pua.csv", hostile.private_use_ragged_csv),
    "csv unterminated quote, 1M rows": (
        "quote.csv",
        lambda p: hostile.unterminated_quote_csv(p, 1_000_000),
    ),
    "csv unterminated quote, 190 MB": (
        "quote190.csv",
        lambda p: hostile.unterminated_quote_csv(p, 4_400_000),
    ),
    "xlsx 900k learners (well-formed)": ("big.xlsx", lambda p: hostile.learners_xlsx(p, 900_000)),
    "csv cp1252, 190 MB of €": (
        "euro.csv",
        lambda p: hostile.expanding_text_csv(p, 190 * MB, "cp1252"),
    ),
    "csv UTF-16, 190 MB of CJK": (
        "cjk.csv",
        lambda p: hostile.expanding_text_csv(p, 190 * MB, "utf-16"),
    ),
    "zip of 300k empty members": ("many.xlsx", hostile.many_members_zip),
    "FIFO": ("fifo.csv", _fifo),
}
DEVICES = ["/dev/zero", "/dev/urandom"]


def measure(path: Path) -> dict[str, object]:
    started = time.perf_counter()
    process = subprocess.Popen(
        [*ROSTER, str(path), "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        return {"exit": "timeout", "seconds": 60.0}
    seconds = time.perf_counter() - started
    code: object = None
    try:
        report = json.loads(out)
        code = [problem["code"] for problem in report["file_errors"]] or report["rows"]
    except (ValueError, KeyError, TypeError):
        code = err.decode(errors="replace")[-200:]
    return {
        "exit": process.returncode,
        "seconds": round(seconds, 2),
        "result": code,
    }


def run(path: Path) -> dict[str, object]:
    """Measure in a child of a child, so ru_maxrss is this check's alone."""
    script = (
        "import json, resource, sys; from bench.hostile import measure; from pathlib import Path;"
        "r = measure(Path(sys.argv[1]));"
        "r['peak_mb'] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024);"
        "print(json.dumps(r))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="shape names containing these words")
    only = parser.parse_args().only
    print(f"{'shape':34} {'MB on disk':>10} {'exit':>5} {'seconds':>8} {'peak MB':>8}  result")
    with tempfile.TemporaryDirectory() as folder:
        targets: list[tuple[str, Callable[[], Path]]] = [
            (name, functools.partial(make, Path(folder) / file))
            for name, (file, make) in SHAPES.items()
        ]
        targets += [(device, functools.partial(Path, device)) for device in DEVICES]
        for name, build in targets:
            if only and not any(word in name for word in only):
                continue
            path = build()
            size = path.stat().st_size / MB if path.is_file() else 0.0
            result = run(path)
            print(
                f"{name:34} {size:10.1f} {result['exit']!s:>5} {result['seconds']!s:>8} "
                f"{result.get('peak_mb')!s:>8}  {result.get('result')}",
                flush=True,
            )
            if path.is_file() or path.is_fifo():
                path.unlink()


if __name__ == "__main__":
    main()
