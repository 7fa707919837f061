"""Benchmark the Invitations page on a million invitations, in the real app on the embedded
service: open it, page down, jump to the end, filter by email status, search.

Each figure runs from the key (or the filter's change) to the screen showing the rows it asks
for, pages fetched from the service included.

    .venv/bin/python bench/invitations.py [--invitations 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


async def measure(data: Path) -> None:
    from textual.widgets import Input, Select

    from tui.app import RosterApp
    from tui.screens.invitations import InvitationsScreen
    from tui.settings import Settings
    from tui.widgets.invitation_table import InvitationTable

    app = RosterApp(Settings(data_dir=data))

    async def until(ready: Callable[[], object], timeout: float = 120) -> float:
        start = time.perf_counter()
        while not ready():
            if time.perf_counter() - start > timeout:
                raise TimeoutError(f"the screen is {app.screen!r}")
            await asyncio.sleep(0.002)
        return time.perf_counter() - start

    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.me is not None)
        await app.workers.wait_for_complete()  # Admin home has counted its numbers
        start = time.perf_counter()
        app.simulate_key("v")  # pilot.press would also wait for the app to go idle
        await until(lambda: isinstance(app.screen, InvitationsScreen))
        table = app.screen.query_one(InvitationTable)
        await until(lambda: table.total > 0 and table.current is not None)
        opened = time.perf_counter() - start
        print(f"Invitations page of {table.total:,} invitations: first rows in {opened:.2f} s")

        def drawn() -> bool:
            """The cursor's row is in view and every visible row has its invitation."""
            top = table.scroll_offset.y
            rows = range(top, min(top + table.size.height - 2, table.total))
            return table.cursor in rows and all(
                table._invitation(index) is not None for index in rows
            )

        def changed(value: Callable[[], int], before: int) -> Callable[[], bool]:
            return lambda: value() != before and drawn()

        table.focus()
        await until(lambda: table.has_focus)
        await pilot.pause()  # the page's layout for 40 rows (its -tall class) done
        pages = []
        for _ in range(30):
            begin, before = time.perf_counter(), table.cursor
            # Pressed through the pilot, which waits for the app to go idle: the table scrolls
            # to its cursor after a refresh, which a bare simulated key left waiting here.
            await pilot.press("pagedown")
            await until(changed(lambda: table.cursor, before))
            pages.append(time.perf_counter() - begin)
        print(
            f"  page down: median {statistics.median(pages) * 1000:.0f} ms, "
            f"worst {max(pages) * 1000:.0f} ms over {len(pages)} pages"
        )
        begin = time.perf_counter()
        await pilot.press("end")
        await until(lambda: table.cursor == table.total - 1 and drawn())
        print(f"  end (the last invitation): {(time.perf_counter() - begin) * 1000:.0f} ms")

        def choose_failed() -> None:
            app.screen.query_one("#email-status", Select).value = "failed"

        def search() -> None:
            app.screen.query_one("#search", Input).value = "bench learner 99999"

        for label, change in (
            ("filter email status = failed", choose_failed),
            ("search 'bench learner 99999' (and the filter)", search),
        ):
            begin, before = time.perf_counter(), table.total
            change()
            await until(changed(lambda: table.total, before))
            print(
                f"  {label}: {table.total:,} shown in {(time.perf_counter() - begin) * 1000:.0f} ms"
            )


def main() -> None:
    from bench.service import seed_invitations

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invitations", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        seed_invitations(data, args.invitations)
        asyncio.run(measure(data))


if __name__ == "__main__":
    main()
