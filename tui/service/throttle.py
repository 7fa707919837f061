"""Throttling token guessing: a client whose tokens keep matching nothing is refused for a while.

Pure bookkeeping, no HTTP: `deps.py` asks whether a client may try, and tells of each failure.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

# A client may fail this many times within the window; the next attempt is refused for a window.
FAILURES_ALLOWED = 20
WINDOW_SECONDS = 60.0
# Clients remembered at most: the least recently failing are forgotten first, so memory stays
# bounded whatever the number of addresses (about 20 MB when full: see bench/throttle.py).
CLIENTS_REMEMBERED = 100_000


class _Window:
    """One client's failures: how many since `start`."""

    __slots__ = ("failures", "start")

    def __init__(self, start: float) -> None:
        self.start = start
        self.failures = 0


class GuessThrottle:
    """Counts each client's failed attempts in a window; at `failures_allowed` the client is
    refused until a whole window has passed since its last failure. Successes never count.

    Thread-safe: the threadpool runs the sync routes, so one lock guards the table, held only
    for a dictionary operation or two.
    """

    def __init__(
        self,
        failures_allowed: int = FAILURES_ALLOWED,
        window: float = WINDOW_SECONDS,
        capacity: int = CLIENTS_REMEMBERED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures_allowed = failures_allowed
        self.window = window
        self.capacity = capacity
        self._clock = clock
        self._windows: OrderedDict[str, _Window] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """0 if `client` may try now, else the whole seconds until it may."""
        now = self._clock()
        with self._lock:
            window = self._windows.get(client)
            if window is None or window.failures < self.failures_allowed:
                return 0
            left = window.start + self.window - now
            if left <= 0:
                del self._windows[client]  # served its time: it starts afresh
                return 0
        return max(1, math.ceil(left))

    def failed(self, client: str) -> None:
        """`client` sent a token that matched nothing."""
        now = self._clock()
        with self._lock:
            window = self._windows.get(client)
            if window is None or now - window.start >= self.window:
                window = self._windows[client] = _Window(now)
            window.failures += 1
            if window.failures >= self.failures_allowed:
                # Refused for a whole window from now, not just what is left of this one.
                window.start = now
            self._windows.move_to_end(client)
            if len(self._windows) > self.capacity:
                self._windows.popitem(last=False)

    def __len__(self) -> int:
        return len(self._windows)


@dataclass(frozen=True)
class Throttles:
    """One throttle per kind of token, so learners mistyping links never lock out their admin
    behind the same address, and the reverse."""

    admin_tokens: GuessThrottle = field(default_factory=GuessThrottle)
    invitation_tokens: GuessThrottle = field(default_factory=GuessThrottle)
