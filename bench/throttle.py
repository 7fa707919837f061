"""Benchmark the guess throttle: failures until a client is refused, the memory it holds for many
distinct clients (tracemalloc), and what one failure costs under its lock.

    .venv/bin/python bench/throttle.py [--clients 100000 1000000]
"""

from __future__ import annotations

import argparse
import gc
import ipaddress
import time
import tracemalloc
from collections.abc import Callable

from tui.service.throttle import CLIENTS_REMEMBERED, WINDOW_SECONDS, GuessThrottle


def ipv4(n: int) -> str:
    return str(ipaddress.IPv4Address(0x0A00_0000 + n))


def ipv6(n: int) -> str:
    return str(ipaddress.IPv6Address((0x2001_0DB8 << 96) + n * 0x1_0000_0001))


def attempts_until_refused() -> int:
    throttle = GuessThrottle()
    attempts = 0
    while not throttle.retry_after("203.0.113.9"):
        throttle.failed("203.0.113.9")
        attempts += 1
    return attempts


def memory(clients: int, address: Callable[[int], str]) -> tuple[int, int, float, float]:
    """(clients remembered, distinct clients, MB held, MB at the peak)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    throttle = GuessThrottle(clock=lambda: 0.0)
    for n in range(clients):
        throttle.failed(address(n))
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return len(throttle), clients, (held - before) / 1e6, (peak - before) / 1e6


def failure_cost(count: int = 1_000_000) -> float:
    """Microseconds per failure, the table full and every client new."""
    throttle = GuessThrottle()
    names = [ipv4(n) for n in range(count)]
    start = time.perf_counter()
    for name in names:
        throttle.failed(name)
    return (time.perf_counter() - start) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, nargs="+", default=[100_000, 1_000_000])
    options = parser.parse_args()
    print(
        f"refused after {attempts_until_refused()} failures within {WINDOW_SECONDS:.0f} s; "
        f"at most {CLIENTS_REMEMBERED:,} clients remembered"
    )
    for clients in options.clients:
        for name, address in (("IPv4", ipv4), ("IPv6", ipv6)):
            kept, distinct, held, peak = memory(clients, address)
            print(
                f"{distinct:>9,} distinct {name} clients: {kept:,} remembered, "
                f"{held:.1f} MB held, {peak:.1f} MB at the peak"
            )
    print(f"one failure: {failure_cost():.2f} µs")


if __name__ == "__main__":
    main()
