"""Seats under concurrency: real clients racing one contract over real HTTP, on SQLite and
PostgreSQL. However the requests interleave, a contract never has more pending invitations than
seats, and every refusal says how many seats are left."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import func, select

from tests.service.conftest import LiveService
from tui.service import admin as operator
from tui.service.db import Invitation, Organization, write_session


def add_contract(live: LiveService, name: str, seats: int) -> int:
    with write_session(live.sessions) as session, session.begin():
        organization = session.get_one(Organization, live.acme.id)
        program = operator.find_program(session, organization.id, "Leadership")
        return operator.create_contract(session, organization, name, [program], seats=seats).id


def pending_on(live: LiveService, contract_id: int) -> int:
    with live.sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Invitation)
                .where(Invitation.contract_id == contract_id, Invitation.status == "pending")
            )
            or 0
        )


def rows(first: int, count: int) -> dict[str, list[Any]]:
    numbers = range(first, first + count)
    return {
        "row": [n + 2 for n in range(count)],
        "full_name": [f"Learner {n}" for n in numbers],
        "email": [f"learner{n}@example.com" for n in numbers],
        "external_id": [None] * count,
    }


def test_concurrent_imports_never_take_more_seats_than_the_contract_has(
    live_service: LiveService,
) -> None:
    live = live_service
    contract_id = add_contract(live, "150 seats", 150)
    imports, size = 8, 100
    ready = threading.Barrier(imports)

    def run_import(number: int) -> httpx.Response:
        with httpx.Client(base_url=live.url + "/api/v1", timeout=60) as http:
            started = http.post(
                "/imports",
                headers={**live.headers(), "Idempotency-Key": str(uuid.uuid4())},
                json={
                    "program_id": live.acme.programs["Leadership"],
                    "contract_id": contract_id,
                    "send_emails": False,
                },
            ).json()
            chunk = http.put(
                f"/imports/{started['id']}/chunks/0",
                headers=live.headers(),
                json=rows(number * size, size),
            )
            assert chunk.status_code == 200, chunk.text
            ready.wait(timeout=60)
            for _ in range(5):  # as Roster's client does: a busy database did nothing yet
                answer = http.post(
                    f"/imports/{started['id']}/commit", headers=live.headers(), json={"rows": size}
                )
                if answer.status_code != 503:
                    break
                time.sleep(float(answer.headers["retry-after"]))
            return answer

    with ThreadPoolExecutor(imports) as pool:
        answers = list(pool.map(run_import, range(imports)))

    committed = [answer.json() for answer in answers if answer.status_code == 200]
    refused = [answer.json() for answer in answers if answer.status_code != 200]
    assert pending_on(live, contract_id) == sum(item["invited"] for item in committed) == 100
    assert len(committed) == 1
    assert {item["code"] for item in refused} == {"contract_capacity"}
    assert {item["seats_left"] for item in refused} == {50}
    statuses = [
        httpx.get(f"{live.url}/api/v1/imports/{item['id']}", headers=live.headers()).json()
        for item in committed
    ]
    assert {status["status"] for status in statuses} == {"committed"}


def test_concurrent_single_invitations_fill_a_contract_exactly(live_service: LiveService) -> None:
    """40 admins' clients (Roster's own, which send a request refused as busy again) invite at
    the same moment into 5 seats."""
    import asyncio

    from tui.api.client import ApiError, RosterClient
    from tui.wire import models as wire

    live = live_service
    contract_id = add_contract(live, "5 seats", 5)
    program = live.acme.programs["Leadership"]

    async def invite(client: RosterClient, number: int) -> int | tuple[str, int | None]:
        try:
            await client.invite(
                program,
                wire.InviteLearner(
                    full_name=f"Solo {number}",
                    email=f"solo{number}@example.com",
                    contract_id=contract_id,
                    send_email=False,
                ),
            )
        except ApiError as refused:
            return refused.problem.code, refused.problem.seats_left
        return 201

    async def race() -> list[int | tuple[str, int | None]]:
        clients = [RosterClient(live.url, live.acme.token) for _ in range(40)]
        try:
            return list(await asyncio.gather(*(invite(c, n) for n, c in enumerate(clients))))
        finally:
            await asyncio.gather(*(client.close() for client in clients))

    answers = asyncio.run(race())
    assert sorted(answers, key=str) == [("contract_capacity", 0)] * 35 + [201] * 5
    assert pending_on(live, contract_id) == 5


HOLD_LOCK = """
import sys, sqlalchemy
engine = sqlalchemy.create_engine(sys.argv[1])
with engine.connect() as connection:
    if engine.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")
        connection.exec_driver_sql("SELECT id FROM programs FOR UPDATE")
        connection.exec_driver_sql("SELECT id FROM imports FOR UPDATE")
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_a_lock_held_by_another_process_gives_quick_503s_and_reads_go_on(
    live_service: LiveService, database_url: str
) -> None:
    import subprocess
    import sys

    live = live_service
    program = live.acme.programs["Leadership"]

    def invite_ada() -> httpx.Response:
        return httpx.post(
            f"{live.url}/api/v1/programs/{program}/invitations",
            headers=live.headers(),
            json={
                "full_name": "Ada",
                "email": "ada@example.com",
                "contract_id": live.acme.contracts["Unlimited"],
                "send_email": False,
            },
            timeout=60,
        )

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, database_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        for read in ("/invitations", "/usage"):
            answer = httpx.get(f"{live.url}/api/v1{read}", headers=live.headers(), timeout=60)
            assert answer.status_code == 200
        refused = invite_ada()
        assert refused.status_code == 503
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "database_busy"
        assert "try again" in refused.json()["detail"]
    finally:
        holder.communicate("\n", timeout=30)
    after = invite_ada()
    assert after.status_code == 201
