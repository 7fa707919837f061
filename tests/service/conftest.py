"""Real parts for the service tests: SQLite files, a PostgreSQL started from the system's
binaries, the ASGI app through httpx, and an aiosmtpd SMTP server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.deployment import PostgresCluster, postgres_bin
from tui.service import admin as operator
from tui.service.app import create_app
from tui.service.db import open_database


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster in a temp dir; yields its admin URL (database postgres)."""
    binaries = postgres_bin()
    if binaries is None:
        pytest.fail("PostgreSQL is not installed: .ci/run installs it with apt-get")
    cluster = PostgresCluster(binaries).start()
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'roster.db'}"
        return
    server: str = request.getfixturevalue("postgres_server")
    name = f"roster_{uuid.uuid4().hex[:12]}"
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    yield server.rsplit("/", 1)[0] + f"/{name}"


# The secret key of the services the tests build: their learners' links are made with it.
SECRET = b"roster-tests-secret-key-0123456789abcdef"


@dataclass
class Org:
    id: int
    token: str
    programs: dict[str, int] = field(default_factory=dict)
    contracts: dict[str, int] = field(default_factory=dict)


def make_org(sessions: sessionmaker[Session], name: str) -> Org:
    today = date.today()
    with sessions.begin() as session:
        organization = operator.create_organization(session, name)
        _, token = operator.create_admin(session, organization, f"admin@{name.lower()}.example")
        org = Org(id=organization.id, token=token)
        leadership = operator.create_program(session, organization, "Leadership")
        data = operator.create_program(session, organization, "Data Literacy")
        org.programs = {"Leadership": leadership.id, "Data Literacy": data.id}
        specs: dict[str, dict[str, Any]] = {
            "Unlimited": {"programs": [leadership, data]},
            "Ten seats": {"programs": [leadership], "seats": 10},
            "Expired": {"programs": [leadership], "ends_on": today - timedelta(days=1)},
            "Future": {"programs": [leadership], "starts_on": today + timedelta(days=10)},
        }
        for contract_name, spec in specs.items():
            contract = operator.create_contract(
                session,
                organization,
                contract_name,
                spec.pop("programs"),
                **spec,
            )
            org.contracts[contract_name] = contract.id
    return org


@dataclass
class Service:
    sessions: sessionmaker[Session]
    acme: Org
    globex: Org
    http: TestClient

    def as_(self, org: Org) -> dict[str, str]:
        return {"Authorization": f"Bearer {org.token}"}


@pytest.fixture
def service(database_url: str) -> Iterator[Service]:
    """The API over a fresh database holding two organizations, Acme and Globex."""
    sessions = open_database(database_url)
    acme, globex = make_org(sessions, "Acme"), make_org(sessions, "Globex")
    with TestClient(create_app(sessions, secret=SECRET)) as http:
        yield Service(sessions, acme, globex, http)
    sessions.kw["bind"].dispose()


# The steps the service tests share: requests through the API as an organization's admin.


def get(service: Service, org: Org, path: str, **params: Any) -> Any:
    """The JSON of a GET that must answer 200."""
    response = service.http.get(path, headers=service.as_(org), params=params)
    assert response.status_code == 200, response.text
    return response.json()


def invite(service: Service, org: Org, email: str, contract: str = "Unlimited") -> Any:
    """Invite one learner (Ann Lee) to Leadership, with an email; the response."""
    response = service.http.post(
        f"/api/v1/programs/{org.programs['Leadership']}/invitations",
        headers=service.as_(org),
        json={
            "full_name": "Ann Lee",
            "email": email,
            "contract_id": org.contracts[contract],
            "send_email": True,
        },
    )
    return response


def batch(count: int, start: int = 0, domain: str = "example.com") -> dict[str, list[Any]]:
    """`count` valid rows as a chunk's columns: Learner n, learner<n>@domain, E<n>."""
    numbers = range(start, start + count)
    return {
        "row": [n + 2 for n in numbers],
        "full_name": [f"Learner {n}" for n in numbers],
        "email": [f"learner{n}@{domain}" for n in numbers],
        "external_id": [f"E{n}" for n in numbers],
    }


def start(
    service: Service, org: Org, key: str, contract: str = "Unlimited", send: bool = True
) -> Any:
    """Start an import to Leadership under the Idempotency-Key `key`; the response."""
    return service.http.post(
        "/api/v1/imports",
        headers={**service.as_(org), "Idempotency-Key": key},
        json={
            "program_id": org.programs["Leadership"],
            "contract_id": org.contracts[contract],
            "send_emails": send,
            "file_name": "learners.csv",
        },
    )


def upload_and_commit(
    service: Service, org: Org, key: str, rows: dict[str, list[Any]], **options: Any
) -> Any:
    """Start an import, send its rows in chunks of 50 and commit it; the commit's response."""
    import_id = start(service, org, key, **options).json()["id"]
    chunk = 50
    for seq, first in enumerate(range(0, len(rows["row"]), chunk)):
        part = {column: values[first : first + chunk] for column, values in rows.items()}
        response = service.http.put(
            f"/api/v1/imports/{import_id}/chunks/{seq}", headers=service.as_(org), json=part
        )
        assert response.status_code == 200, response.text
    return service.http.post(
        f"/api/v1/imports/{import_id}/commit",
        headers=service.as_(org),
        json={"rows": len(rows["row"])},
    )


def count(service: Service, model: type, *where: Any) -> int:
    """How many stored rows of `model` match `where`."""
    with service.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@dataclass
class LiveService:
    """The service under uvicorn on 127.0.0.1 (real HTTP, real threads), over a real database."""

    url: str
    sessions: sessionmaker[Session]
    acme: Org

    def headers(self, org: Org | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {(org or self.acme).token}", **extra}


@pytest.fixture
def live_service(database_url: str) -> Iterator[LiveService]:
    import threading
    import time

    import uvicorn

    sessions = open_database(database_url)
    acme = make_org(sessions, "Acme")
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(sessions, secret=SECRET), host="127.0.0.1", port=0, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield LiveService(f"http://127.0.0.1:{port}", sessions, acme)
    server.should_exit = True
    thread.join(timeout=10)
    sessions.kw["bind"].dispose()
