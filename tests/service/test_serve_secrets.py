"""`roster migrate` and `roster serve` show no secret: the database password is masked in what
they print, and invitation tokens are masked in the access log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import httpx
from sqlalchemy import create_engine, text

from tests.conftest import free_port


def test_serve_masks_the_database_password_and_invitation_tokens(postgres_server: str) -> None:
    name = f"roster_{uuid.uuid4().hex[:12]}"
    engine = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    # The test cluster trusts local connections, so any password is accepted: a real one.
    address = postgres_server.split("@", 1)[1].rsplit("/", 1)[0]
    url = f"postgresql://roster:s3cret-pass@{address}/{name}"
    migrated = subprocess.run(
        [sys.executable, "-m", "tui", "migrate", "--database-url", url],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"Migrated postgresql://roster:***@{address}/{name}" in migrated.stdout
    assert "s3cret-pass" not in migrated.stdout + migrated.stderr
    port = free_port()
    # Without a secret key a PostgreSQL deployment is refused, with how to make one.
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui",
            "serve",
            "--port",
            str(port),
            "--database-url",
            url,
            "--format",
            "json",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={name: value for name, value in os.environ.items() if name != "ROSTER_SECRET_KEY"},
    )
    assert refused.returncode == 2, refused.stderr
    failure = json.loads(refused.stdout)
    assert failure["error"]["code"] == "bad_setting"
    assert "ROSTER_SECRET_KEY" in failure["error"]["message"]
    assert "s3cret-pass" not in refused.stdout + refused.stderr
    key = "serve-secrets-test-key-0123456789abcdef"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui",
            "serve",
            "--port",
            str(port),
            "--database-url",
            url,
            "--mail-url",
            "maildir:///tmp/roster-serve-secrets",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "ROSTER_SECRET_KEY": key},
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        assert "s3cret-pass" not in first
        assert f"postgresql://roster:***@{address}/{name}" in first
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/invitations/tok-VERYSECRET", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        assert page.status_code == 404
    finally:
        server.terminate()
        rest, errors = server.communicate(timeout=30)
    log = first + rest + errors  # uvicorn's access log goes to stdout
    assert "/invitations/***" in log
    assert "VERYSECRET" not in log
    assert "s3cret-pass" not in log
    assert key not in log
