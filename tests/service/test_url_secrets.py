"""No password of a URL in anything Roster prints: hostile passwords (holding / ? # @ :, written
as they are or percent-encoded) in each URL setting, through every output that names a URL:
`roster config`, `roster migrate`, the schema refusals, the first line of `roster serve` and
`roster worker`, the service-unreachable error. A URL its program cannot read is a bad_setting
JSON error, exit 2, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import free_port
from tui.cli.main import main

# Each password's pieces are words found nowhere else, so a piece of one in the output is a
# leak, however the URL was cut.
PIECES = ("Zq7xK", "Wp3kM", "Rv9tB")
HOSTILE = ["/", "?", "#", "@", ":", "/?#@:"]
PASSWORDS = [
    (separator.join(PIECES), written) for separator in HOSTILE for written in ("as is", "encoded")
]
URLS = {
    "database": "postgresql://roster:{}@127.0.0.1:1/roster",
    "mail": "smtp://mailer:{}@127.0.0.1:1",
    "api": "http://admin:{}@127.0.0.1:{port}",
}


def hostile(kind: str, password: str, written: str, port: int = 1) -> str:
    text_ = password if written == "as is" else quote(password, safe="")
    return URLS[kind].format(text_, port=port)


def assert_no_password(output: str) -> None:
    for piece in PIECES:
        assert piece not in output, output


def document(output: str, code: int) -> dict[str, object]:
    """The one JSON document a command printed; a refusal is a bad_setting or a named fault."""
    value = json.loads(output)
    assert isinstance(value, dict)
    if code == 2 and "error" in value:
        assert value["error"]["code"] in ("bad_setting", "bad_database"), value
    return value


def ids(case: tuple[str, str]) -> str:
    separator = case[0].removeprefix(PIECES[0]).partition(PIECES[1])[0]
    return f"{separator}-{case[1]}"


@pytest.mark.parametrize("case", PASSWORDS, ids=ids)
@pytest.mark.parametrize("kind", ["database", "mail", "api"])
def test_config_masks_every_url_or_refuses_it(
    kind: str,
    case: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = hostile(kind, *case)
    args = ["config", "--format", "json"]
    if kind == "api":
        args += ["--api-url", url]
    else:
        monkeypatch.setenv(f"ROSTER_{kind.upper()}_URL", url)
    code = main(args)
    out, err = capsys.readouterr()
    assert_no_password(out + err)
    value = document(out, code)
    if code == 0:
        shown = {item["setting"]: item["value"] for item in value["items"]}  # type: ignore[attr-defined]
        assert "***" in shown[f"{kind}_url"]
    else:
        assert code == 2


@pytest.mark.parametrize("case", PASSWORDS, ids=ids)
def test_migrate_names_the_database_without_its_password(
    case: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = hostile("database", *case)  # nothing listens on port 1: the database is refused
    code = main(["migrate", "--database-url", url, "--format", "json"])
    out, err = capsys.readouterr()
    assert_no_password(out + err)
    assert code == 2
    error = document(out, code)["error"]
    assert "***" in error["message"]  # type: ignore[index]


@pytest.mark.parametrize("case", PASSWORDS, ids=ids)
def test_an_unreachable_service_is_named_without_its_password(
    case: tuple[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tui.api.client.RETRIES", 1)
    url = hostile("api", *case, port=free_port())  # nothing listens there
    code = main(["programs", "--api-url", url, "--token", "rst_x", "--format", "json"])
    out, err = capsys.readouterr()
    assert_no_password(out + err)
    error = document(out, code)["error"]
    if code == 2:
        assert error["code"] == "bad_setting"  # type: ignore[index]
    else:
        assert error["code"] == "service_unreachable"  # type: ignore[index]
        assert "admin:***@127.0.0.1" in error["url"]  # type: ignore[index]


def test_a_malformed_service_url_is_a_bad_setting(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["programs", "--api-url", "http://[::1", "--token", "rst_x", "--format", "json"])
    out, _ = capsys.readouterr()
    assert code == 2
    assert json.loads(out)["error"]["code"] == "bad_setting"


def first_line(*args: str, env: dict[str, str]) -> tuple[str, str]:
    """The first line a long-running command prints (or all it printed, when it ended at once),
    then it is stopped; with its standard error."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    process.terminate()
    rest, errors = process.communicate(timeout=30)
    return line + rest, errors


@pytest.mark.parametrize("case", PASSWORDS, ids=ids)
@pytest.mark.parametrize("command", ["serve", "worker"])
def test_the_first_line_of_serve_and_worker_masks_the_mail_password(
    command: str, case: tuple[str, str], tmp_path: Path
) -> None:
    mail = hostile("mail", *case)
    args = [command, "--mail-url", mail]
    if command == "serve":
        args += ["--port", str(free_port()), "--format", "json"]
    out, errors = first_line(*args, env={"ROSTER_DATA_DIR": str(tmp_path)})
    assert_no_password(out + errors)
    if out.startswith("{"):  # refused at once
        assert json.loads(out)["error"]["code"] == "bad_setting"
    elif not out:  # the worker has no --format: its refusal is a line on stderr
        assert "roster: The setting mail_url from --mail-url is 'smtp://***@" in errors
    else:
        assert "mail smtp://mailer:***@127.0.0.1:1" in out


@pytest.mark.parametrize("written", ["as is", "encoded"])
def test_a_postgresql_password_never_shows_in_refusals_migrate_or_serve(
    written: str, postgres_server: str, tmp_path: Path
) -> None:
    """On a real database (the test cluster accepts any password): the schema refusal of an
    unmigrated one, `roster migrate`, then the first line of a replica and of a worker."""
    name = f"roster_{uuid.uuid4().hex[:12]}"
    engine = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    address = postgres_server.split("@", 1)[1].rsplit("/", 1)[0]
    # SQLAlchemy reads / ? # : in a password as they are; an @ must be encoded.
    password = "/?#:".join(PIECES) if written == "as is" else "/?#@:".join(PIECES)
    written_as = password if written == "as is" else quote(password, safe="")
    url = f"postgresql://roster:{written_as}@{address}/{name}"
    masked = f"postgresql://roster:***@{address}/{name}"
    env = {
        "ROSTER_DATABASE_URL": url,
        "ROSTER_SECRET_KEY": "url-secrets-test-key-0123456789abcdef",
        "ROSTER_DATA_DIR": str(tmp_path),
    }
    port = str(free_port())
    refused, errors = first_line("serve", "--port", port, "--format", "json", env=env)
    assert_no_password(refused + errors)
    error = json.loads(refused)["error"]
    assert error["code"] == "schema_out_of_date"
    assert masked in error["message"]
    migrated = subprocess.run(
        [sys.executable, "-m", "tui", "migrate"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    assert_no_password(migrated.stdout + migrated.stderr)
    assert f"Migrated {masked}" in migrated.stdout
    for command in (["serve", "--port", port], ["worker"]):
        out, errors = first_line(*command, env=env)
        assert_no_password(out + errors)
        assert f"(database {masked}, mail maildir://" in out
