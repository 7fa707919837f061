"""`roster worker`: the outbox sender on its own, no HTTP, until SIGTERM or SIGINT.

API replicas started with `roster serve --no-sender` only queue mail; any number of workers, on
any machines, deliver it. Each claims rows under a lease with FOR UPDATE SKIP LOCKED (see
`outbox.claim_due`), so they never wait for each other nor send the same row; a killed worker's
rows go to another once its lease runs out (at once for a worker starting on the same host).

A worker is not told when mail is queued in another process: it looks every `POLL_INTERVAL`
seconds while idle, one indexed query, rather than holding a LISTEN connection per worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from tui.service.mail import OutboxSender

log = logging.getLogger("roster.worker")

# How long queued mail may wait for an idle worker to look.
POLL_INTERVAL = 0.5


async def run_worker(sender: OutboxSender) -> None:
    """Deliver with `sender` until SIGTERM or SIGINT, then stop it: the emails in flight are
    finished and recorded (within its stop timeout), the rows still held handed back."""
    loop = asyncio.get_running_loop()
    running = asyncio.create_task(sender.run())
    stopping: list[asyncio.Task[None]] = []

    def stop(received: signal.Signals) -> None:
        if not stopping:
            log.info("worker: %s received; finishing the emails in flight", received.name)
            stopping.append(asyncio.create_task(sender.stop()))

    for received in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(received, stop, received)
    try:
        await running
    finally:
        for received in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(RuntimeError):
                loop.remove_signal_handler(received)
        await asyncio.gather(*stopping)
