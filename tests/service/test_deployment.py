"""The shared deployment, nothing of Roster's mocked: on PostgreSQL, two `roster serve --no-sender`
API replicas and three `roster worker` processes; two `roster import` runs at once, one through
each replica; one worker killed with SIGKILL while the emails go out. Every learner is invited
once, every email arrives, and only an email the dead worker had in flight may arrive twice.

CI runs LEARNERS learners; `bench/scale.py --only workers` runs the same with 100,000."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deployment import CountingMailServer, run_deployment
from tui.service.mail import DEFAULT_CONCURRENCY

LEARNERS = 10_000


@pytest.fixture
def mail_server() -> Iterator[CountingMailServer]:
    server = CountingMailServer().start()
    yield server
    server.stop()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_replicas_and_workers_invite_each_learner_once_and_a_killed_worker_loses_no_email(
    database_url: str, mail_server: CountingMailServer, tmp_path: Path
) -> None:
    run = run_deployment(database_url, tmp_path, mail_server, LEARNERS)
    twice = {row for row, times in run.received.items() if times > 1}
    print(
        f"{LEARNERS:,} learners through 2 replicas and 3 workers, one killed: "
        f"{run.seconds:.1f} s; the killed worker held {len(run.held_at_kill)} emails; "
        f"{len(twice)} arrived twice"
    )

    assert run.import_exits == [0, 0]
    assert sum(document["invited"] for document in run.imports) == LEARNERS
    assert sum(document["emails_sent"] for document in run.imports) == LEARNERS
    assert [document["emails_failed"] for document in run.imports] == [0, 0]
    assert run.invitations_per_learner == {1: LEARNERS}
    assert run.outbox_states == {"sent": LEARNERS}
    assert run.still_claimed == 0
    # Every email arrived; one arrived twice only if the dead worker had it on the wire when
    # it died (delivered, outcome not yet recorded), and never more than its sending slots.
    assert set(run.received) == run.outbox_rows
    assert max(run.received.values()) <= 2
    assert twice <= run.held_at_kill
    assert len(twice) <= DEFAULT_CONCURRENCY
    # The dead worker held emails, and the others sent them once its lease ran out.
    assert run.held_at_kill
    # The others stopped cleanly when asked.
    assert run.survivor_exits == [0, 0]
