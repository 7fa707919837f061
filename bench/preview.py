"""Benchmark the app's preview on 1,000,000 rows and the app's start to its first screen.

- upload: the real app on the embedded service, from `enter` on the Upload screen to the
  preview's first rows drawn (read, check, the service's dry run, the preview), with the
  longest time the event loop went without running (a frame the terminal could not draw);
- first screen: from a checked report to the preview drawn (frame built, table rendered);
- page down: one keypress worth of scrolling and redrawing the visible lines;
- memory: resident once the preview has been open 2 s, and the peak (the file check);
- start: `roster` as a new process until the Admin home screen is on the terminal.

    .venv/bin/python bench/preview.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tui.memory import configure_allocators, release_free_memory

configure_allocators()  # as `roster` does for the app, before polars is imported

from bench.intake import DATA, make_file  # noqa: E402 - after the allocator is set

START_PROBE = r"""
import os, sys, time
from tui.app import RosterApp
from tui.settings import Settings
started = float(sys.argv[1])

class Probe(RosterApp):
    def on_ready(self) -> None:
        print(f"{time.time() - started:.3f}", flush=True)
        self.exit()

Probe(Settings(data_dir=sys.argv[2])).run(headless=True)
"""


async def measure_preview(path: Path) -> None:
    from textual.app import App

    from tui.intake import read_learner_file
    from tui.intake.export import preview_frame
    from tui.screens.preview import PreviewScreen
    from tui.widgets.preview_table import PreviewTable
    from tui.wire import models as wire

    learner_file = read_learner_file(path)
    release_free_memory()  # as the upload screen does once the file is checked
    after_check = resident_mb()
    program = wire.Program(id=1, name="Leadership Essentials")
    contract = wire.Contract(
        id=1,
        name="Enterprise Agreement 2026 (unlimited)",
        seats_total=None,
        seats_used=0,
        seats_left=None,
        starts_on=None,
        ends_on=None,
        available=True,
    )

    class Host(App[None]):
        pass

    drawn: list[float] = []
    render_line = PreviewTable.render_line

    def noting_render_line(self: PreviewTable, y: int) -> object:
        if y > 0 and not drawn:
            drawn.append(time.perf_counter())  # the first data line reaches the screen
        return render_line(self, y)

    PreviewTable.render_line = noting_render_line  # type: ignore[method-assign,assignment]
    host = Host()
    async with host.run_test(size=(120, 40)) as pilot:
        start = time.perf_counter()
        # The file as the dry run returns it for new learners: no service issues.
        screen = PreviewScreen(
            program, contract, learner_file, learner_file.summary, preview_frame(learner_file)
        )
        await host.push_screen(screen)
        await pilot.pause()
        settled = time.perf_counter() - start
        first = drawn[0] - start
        table = screen.query_one(PreviewTable)
        pages = []
        for _ in range(50):
            begin = time.perf_counter()
            table.action_page(1)
            for y in range(table.size.height):
                table.render_line(y)
            pages.append(time.perf_counter() - begin)
        end = time.perf_counter()
        table.action_jump(-1)
        for y in range(table.size.height):
            table.render_line(y)
        last = time.perf_counter() - end
        await asyncio.sleep(2)  # the admin reads the screen; the allocator hands pages back
        with_preview = resident_mb()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"preview of {learner_file.summary.rows:,} rows ({learner_file.issues.height:,} issues):")
    print(
        f"  first screen after the report: {first * 1000:.0f} ms to the first rows drawn "
        f"({settled * 1000:.0f} ms until the app is idle)"
    )
    print(
        f"  page down: median {statistics.median(pages) * 1000:.2f} ms, "
        f"worst {max(pages) * 1000:.2f} ms over {len(pages)} pages"
    )
    print(f"  jump to the last row: {last * 1000:.2f} ms")
    print(
        f"  memory: {after_check:.0f} MB resident right after reading and checking the file, "
        f"{with_preview:.0f} MB with the preview open 2 s later; peak {peak:.0f} MB"
    )


async def measure_upload(path: Path) -> None:
    from textual.widgets import Input

    from tui.app import RosterApp
    from tui.flow import BulkFlow
    from tui.screens.pickers import ChooseContract, ChooseProgram
    from tui.screens.preview import PreviewScreen
    from tui.screens.upload import UploadScreen
    from tui.settings import Settings
    from tui.widgets.preview_table import PreviewTable

    drawn: list[float] = []
    render_line = PreviewTable.render_line

    def noting_render_line(self: PreviewTable, y: int) -> object:
        if y > 0 and self.frame.height and not drawn:
            drawn.append(time.perf_counter())
        return render_line(self, y)

    PreviewTable.render_line = noting_render_line  # type: ignore[method-assign,assignment]
    switched: list[float] = []
    preview = BulkFlow.preview

    def noting_preview(self: BulkFlow, *args: Any) -> None:
        switched.append(time.perf_counter())  # the rows are ready; Textual builds the screen
        preview(self, *args)

    BulkFlow.preview = noting_preview  # type: ignore[method-assign,assignment]

    async def until(ready: Callable[[], object], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the screen is {app.screen!r}")
            await asyncio.sleep(0.01)

    stalls: list[tuple[float, float]] = []  # (when it ended, how long)

    async def watch_the_loop() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            after = time.perf_counter()
            stalls.append((after, after - before - 0.005))

    with tempfile.TemporaryDirectory() as folder:
        app = RosterApp(Settings(data_dir=Path(folder)))
        async with app.run_test(size=(120, 40)) as pilot:
            await until(lambda: app.me is not None)
            await pilot.press("i")
            for picker, search in ((ChooseProgram, "leadership"), (ChooseContract, "enterprise")):

                def listed(picker: type = picker) -> bool:
                    choices = getattr(app.screen, "choices", None)
                    return isinstance(app.screen, picker) and bool(choices)

                await until(listed)
                await pilot.press(*search, "enter")
            await until(lambda: isinstance(app.screen, UploadScreen))
            app.screen.query_one("#path", Input).value = str(path)
            watcher = asyncio.create_task(watch_the_loop())
            start = time.perf_counter()
            await pilot.press("enter")
            await until(lambda: isinstance(app.screen, PreviewScreen) and drawn)
            elapsed = drawn[0] - start
            watcher.cancel()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"upload of {path.name} to its preview, in the app on the embedded service:")
    print(f"  enter to the first rows drawn: {elapsed:.2f} s")
    working = [stall for ended, stall in stalls if ended < switched[0]]
    drawing = [stall for ended, stall in stalls if ended >= switched[0]]
    print("  longest the event loop went without running:")
    print(
        f"    while the file was read and checked: {max(working) * 1000:.0f} ms "
        f"({sum(stall > 0.1 for stall in working)} stalls over 100 ms)"
    )
    print(f"    while Textual built the preview screen: {max(drawing) * 1000:.0f} ms")
    print(f"  peak memory of the app process (service included): {peak:.0f} MB")


def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def measure_start(runs: int = 5) -> None:
    with tempfile.TemporaryDirectory() as folder:
        times = []
        for _ in range(runs + 1):
            result = subprocess.run(
                [sys.executable, "-c", START_PROBE, str(time.time()), folder],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ},
            )
            times.append(float(result.stdout.strip().splitlines()[-1]))
    print(
        f"app start to first screen: median {statistics.median(times[1:]):.3f} s "
        f"(first start, seeding the demo: {times[0]:.3f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--upload-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = DATA / f"learners-{args.rows}.csv"
    if not path.exists():
        make_file(path, args.rows)
    if args.upload_only:
        asyncio.run(measure_upload(path))
        return
    asyncio.run(measure_preview(path))
    measure_start()
    # A process of its own, so that its peak memory is the upload's alone.
    subprocess.run(
        [sys.executable, __file__, "--rows", str(args.rows), "--upload-only"], check=True
    )


if __name__ == "__main__":
    main()
