"""Guessing is throttled: the limiter with a fake clock, and the service under uvicorn refusing a
client whose admin tokens or invitation links keep matching nothing, and only that client."""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import event

from tests.service.conftest import SECRET, LiveService
from tui.service.links import link_token
from tui.service.throttle import FAILURES_ALLOWED, WINDOW_SECONDS, GuessThrottle

WRONG = {"Authorization": "Bearer rst_not_a_token"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_is_refused_after_the_allowed_failures_until_a_window_has_passed() -> None:
    clock = Clock()
    throttle = GuessThrottle(failures_allowed=5, window=60, clock=clock)
    for _ in range(4):
        throttle.failed("198.51.100.7")
        clock.now += 1
    assert throttle.retry_after("198.51.100.7") == 0
    throttle.failed("198.51.100.7")
    # Refused for a whole window from the failure that reached the limit.
    assert throttle.retry_after("198.51.100.7") == 60
    assert throttle.retry_after("198.51.100.8") == 0
    clock.now += 59.5
    assert throttle.retry_after("198.51.100.7") == 1
    clock.now += 0.5
    assert throttle.retry_after("198.51.100.7") == 0
    # It starts afresh: one failure is not the limit.
    throttle.failed("198.51.100.7")
    assert throttle.retry_after("198.51.100.7") == 0


def test_failures_further_apart_than_a_window_never_add_up() -> None:
    clock = Clock()
    throttle = GuessThrottle(failures_allowed=5, window=60, clock=clock)
    for _ in range(3):
        for _ in range(4):
            throttle.failed("198.51.100.7")
        clock.now += 60
    assert throttle.retry_after("198.51.100.7") == 0


def test_memory_stays_bounded_whatever_the_number_of_clients() -> None:
    throttle = GuessThrottle(capacity=1_000, clock=Clock())
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(100_000):
            throttle.failed(f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}")
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(throttle) == 1_000
    # 1,000 clients take about 0.2 MB; remembering all 100,000 would take about 20 MB.
    assert grown < 1_000_000
    # The least recently failing were forgotten, the newest kept.
    for _ in range(FAILURES_ALLOWED - 1):
        throttle.failed("10.1.134.159")  # the 100,000th client
    assert throttle.retry_after("10.1.134.159") > 0


def test_failures_from_many_threads_are_all_counted() -> None:
    threads, each = 8, 2_000
    throttle = GuessThrottle(failures_allowed=threads * each, capacity=100, clock=Clock())

    def fail() -> None:
        for n in range(each):
            throttle.failed("203.0.113.1")
            throttle.failed(f"{threading.get_ident()}-{n}")

    workers = [threading.Thread(target=fail) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert throttle.retry_after("203.0.113.1") > 0
    assert len(throttle) == 100


def other_address(live: LiveService) -> httpx.Client:
    """A client connecting from 127.0.0.2: another address, as far as the service can tell."""
    return httpx.Client(
        base_url=live.url, transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=30
    )


def assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert 1 <= int(response.headers["retry-after"]) <= WINDOW_SECONDS
    problem = response.json()
    assert problem["code"] == "too_many_attempts"
    assert f"try again in {response.headers['retry-after']} seconds" in problem["detail"]


@pytest.fixture
def statements(live_service: LiveService) -> Iterator[list[str]]:
    """The SQL the service runs, as it runs it."""
    engine = live_service.sessions.kw["bind"]
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def invitation_token(live: LiveService) -> str:
    created = httpx.post(
        f"{live.url}/api/v1/programs/{live.acme.programs['Leadership']}/invitations",
        headers=live.headers(),
        json={
            "full_name": "Ann Lee",
            "email": "ann@example.com",
            "contract_id": live.acme.contracts["Unlimited"],
            "send_email": False,
        },
    )
    assert created.status_code == 201, created.text
    from tui.service.db import Invitation

    with live.sessions() as session:
        return link_token(SECRET, session.get_one(Invitation, created.json()["id"]).token_key)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_wrong_admin_tokens_get_429_for_that_address_only(
    live_service: LiveService, statements: list[str]
) -> None:
    live = live_service
    with httpx.Client(base_url=live.url, timeout=30) as guesser, other_address(live) as other:
        for _ in range(FAILURES_ALLOWED - 1):
            assert guesser.get("/api/v1/me", headers=WRONG).status_code == 401
        # Requests without a token are no guesses: they never count.
        for _ in range(5):
            assert guesser.get("/api/v1/me").status_code == 401
        assert guesser.get("/api/v1/me", headers=WRONG).status_code == 401
        statements.clear()
        assert_throttled(guesser.get("/api/v1/me", headers=WRONG))
        # Refused before the token is looked up: even the right one, and the database is spared.
        assert_throttled(guesser.get("/api/v1/programs", headers=live.headers()))
        assert_throttled(guesser.get("/api/v1/me"))
        assert statements == []

        assert other.get("/api/v1/me", headers=live.headers()).status_code == 200
        assert other.get("/api/v1/me", headers=WRONG).status_code == 401
        # Learners' links are throttled apart: the guesser's address may still open one.
        assert guesser.get("/invitations/no-such-token").status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_wrong_invitation_links_get_429_for_that_address_only(
    live_service: LiveService, statements: list[str]
) -> None:
    live = live_service
    token = invitation_token(live)
    with httpx.Client(base_url=live.url, timeout=30) as guesser, other_address(live) as other:
        # Successes never count, however many.
        for _ in range(FAILURES_ALLOWED + 5):
            assert guesser.get(f"/invitations/{token}").status_code == 200
        for attempt in range(FAILURES_ALLOWED):
            if attempt % 2:
                response = guesser.get(f"/invitations/guess{attempt}")
            else:
                response = guesser.post(f"/invitations/guess{attempt}/accept")
            assert response.status_code == 404
        statements.clear()
        assert_throttled(guesser.get("/invitations/guess"))
        assert_throttled(guesser.post(f"/invitations/{token}/accept"))
        # A browser is told on a page, with the same wait.
        page = guesser.get("/invitations/guess", headers={"Accept": "text/html"})
        assert page.status_code == 429 and "Retry-After" in page.headers
        assert "Too many tries" in page.text and "Wait a few minutes" in page.text
        assert statements == []

        assert other.get("/invitations/guess").status_code == 404
        accepted = other.post(f"/invitations/{token}/accept")
        assert accepted.json()["status"] == "accepted"
        # The admin behind the guesser's address is not locked out by the learners' links.
        assert guesser.get("/api/v1/me", headers=live.headers()).status_code == 200
