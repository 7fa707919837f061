"""`roster migrate` is the only thing that changes a PostgreSQL database's schema: `roster serve`,
`roster worker` and the operator commands refuse a schema older or newer than their own, naming
what to run; SQLite databases keep migrating themselves when opened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import free_port
from tests.mailing import wait_until
from tui.service.schema import (
    MIGRATIONS,
    SchemaState,
    newest_by_name,
    newest_revision,
    schema_state,
)

PASSWORD = "s3cret-pass"
SECRET_KEY = "migrate-tests-secret-key-0123456789abcd"
HEAD = newest_revision()


def roster(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ROSTER_SECRET_KEY": SECRET_KEY, **(env or {}), "NO_COLOR": "1"},
        check=False,
    )


def with_password(url: str) -> str:
    """The test database's URL as an operator writes it, with a password (the test cluster
    trusts local connections, so any password is accepted)."""
    address = url.split("@", 1)[1]
    return f"postgresql://roster:{PASSWORD}@{address}"


def masked(url: str) -> str:
    return url.replace(f":{PASSWORD}@", ":***@")


def state(url: str) -> SchemaState:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        return schema_state(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_serve_refuses_an_unmigrated_postgresql_until_roster_migrate(database_url: str) -> None:
    url = with_password(database_url)
    command = f"roster migrate --database-url {masked(url)}"
    for args in (["serve", "--port", str(free_port())], ["worker"]):
        refused = roster(*args, "--database-url", url)
        assert refused.returncode == 2, refused.stderr
        assert "has no Roster schema yet" in refused.stderr
        assert command in refused.stderr
        assert PASSWORD not in refused.stdout + refused.stderr
    admin = roster("admin", "create-org", "Acme", "--database-url", url, "--format", "json")
    error = json.loads(admin.stdout)["error"]
    assert (admin.returncode, error["code"], error["head"]) == (2, "schema_out_of_date", HEAD)
    assert state(url).current is None  # nothing migrated it behind the operator's back

    migrated = roster("migrate", "--database-url", url, "--format", "json")
    assert migrated.returncode == 0, migrated.stderr
    done = json.loads(migrated.stdout)
    assert (done["database"], done["from"], done["to"]) == (masked(url), None, HEAD)
    assert [revision["id"] for revision in done["applied"]][-1] == HEAD
    assert PASSWORD not in migrated.stdout + migrated.stderr
    again = roster("migrate", "--database-url", url)
    assert (
        again.stdout
        == f"The database {masked(url)} is at the newest schema ({HEAD}): nothing to do.\n"
    )

    port = free_port()
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
            "--no-sender",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ROSTER_SECRET_KEY": SECRET_KEY},
    )
    try:

        def answers() -> bool:
            assert server.poll() is None, server.communicate()[1]
            try:
                return httpx.get(f"http://127.0.0.1:{port}/api/v1/me").status_code == 401
            except httpx.TransportError:
                return False

        wait_until(answers, what="roster serve after roster migrate")
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_migrate_says_which_migrations_it_applied_to_an_older_schema(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    url = with_password(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")
    engine.dispose()
    refused = roster("serve", "--port", str(free_port()), "--database-url", url)
    assert refused.returncode == 2
    assert f"is at schema 0003; this Roster needs {HEAD}" in refused.stderr

    migrated = roster("migrate", "--database-url", url)
    assert migrated.returncode == 0, migrated.stderr
    lines = migrated.stdout.splitlines()
    assert lines[0].startswith(f"Migrated {masked(url)} from schema 0003 to {HEAD}, ")
    assert [line.split()[0] for line in lines[1:]] == [f"{n:04d}" for n in range(4, int(HEAD) + 1)]
    assert state(url).current == HEAD


@pytest.mark.parametrize("database_url", ["postgresql", "sqlite"], indirect=True)
def test_a_schema_from_a_newer_roster_is_refused_and_left_alone(
    database_url: str, tmp_path: Path
) -> None:
    postgres = "postgresql" in database_url
    url = with_password(database_url) if postgres else database_url
    assert roster("migrate", "--database-url", url).returncode == 0
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9001'"))
    engine.dispose()

    # SQLite databases migrate themselves when opened: a newer one is refused all the same.
    # (On SQLite, the same code paths as PostgreSQL's are left out, for time.)
    scripted = [["migrate", "--database-url", url, "--format", "json"]]
    scripted += [
        ["admin", "create-org", "Acme", "--database-url", url, "--format", "json"]
    ] * postgres
    for args in scripted:
        refused = roster(*args)
        assert refused.returncode == 2, refused.stderr
        error = json.loads(refused.stdout)["error"]  # one document, no traceback
        assert (error["code"], error["revision"], error["head"]) == ("schema_too_new", "9001", HEAD)
        assert "migrated by a newer Roster" in error["message"]
        assert refused.stderr == ""
    for args in [["serve", "--port", str(free_port())]] + [["worker"]] * postgres:
        served = roster(*args, "--database-url", url)
        assert served.returncode == 2
        assert "migrated by a newer Roster (schema 9001" in served.stderr
        assert PASSWORD not in served.stderr
    # The embedded service (the app, and every command without --api-url) says the same.
    embedded = {"ROSTER_DATABASE_URL": url, "ROSTER_DATA_DIR": str(tmp_path / "data")}
    listed = roster("programs", "--format", "json", env=embedded)
    assert json.loads(listed.stdout)["error"]["code"] == "schema_too_new"
    assert state(url).current == "9001"


def test_the_up_to_date_check_knows_the_newest_migration_by_its_file_name() -> None:
    # Starts skip alembic when the database holds the newest revision by file name: a
    # migration named against the rule would leave databases behind it unmigrated.
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = list(ScriptDirectory.from_config(config).walk_revisions())
    assert {script.revision for script in scripts} == {
        Path(script.path).name[:4] for script in scripts
    }
    assert newest_by_name() == HEAD


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_migrations_build_the_indexes_the_models_declare(database_url: str) -> None:
    # A query planned against the models' indexes runs against the migrated database's: an
    # index declared and never built (or built and no longer declared) reads every row.
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from tui.service.db import Base, open_database

    sessions = open_database(database_url, migrate=True)
    engine = sessions.kw["bind"]
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    indexes = [
        (kind, index.name)
        for kind, index, *_ in (
            difference for difference in differences if isinstance(difference, tuple)
        )
        if kind in ("add_index", "remove_index")
    ]
    assert indexes == []
