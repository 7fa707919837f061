"""Operators and scripts: every outcome is one answer (a JSON document with --format json), a
bad setting or data directory is one line naming it, a closed pipe ends quietly, no secret is
shown. Each test runs `roster` as a separate process, as a shell script would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SmtpServer


def run(
    *args: str, tmp_path: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "ROSTER_DATA_DIR": str(tmp_path / "data"),
        "NO_COLOR": "1",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=environment,
        input=stdin if stdin is not None else "",
    )


def refused(result: subprocess.CompletedProcess[str], exit_code: int = 2) -> dict[str, Any]:
    """The command's JSON error, after checking it is one document and no traceback."""
    assert result.returncode == exit_code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    error: dict[str, Any] = json.loads(result.stdout)["error"]
    return error


@pytest.mark.parametrize(
    ("env", "args", "setting", "source"),
    [
        ({"ROSTER_MAX_ROWS": "abc"}, ["programs"], "max_rows", "ROSTER_MAX_ROWS"),
        ({"ROSTER_MAX_ROWS": "abc"}, ["check", "learners.csv"], "max_rows", "ROSTER_MAX_ROWS"),
        ({"ROSTER_MAX_FILE_BYTES": "-1"}, ["programs"], "max_file_bytes", "ROSTER_MAX_FILE_BYTES"),
        (
            {"ROSTER_MAIL_RETRY_WINDOW": "soon"},
            ["programs"],
            "mail_retry_window",
            "ROSTER_MAIL_RETRY_WINDOW",
        ),
        (
            {},
            ["programs", "--api-url", "ftp://roster.example", "--token", "t"],
            "api_url",
            "--api-url",
        ),
        ({"ROSTER_PUBLIC_URL": "roster.example"}, ["config"], "public_url", "ROSTER_PUBLIC_URL"),
        ({"ROSTER_DATABASE_URL": "garbage"}, ["programs"], "database_url", "ROSTER_DATABASE_URL"),
        ({"ROSTER_MAIL_URL": "garbage"}, ["programs"], "mail_url", "ROSTER_MAIL_URL"),
        ({"ROSTER_MAIL_FROM": "nobody"}, ["programs"], "mail_from", "ROSTER_MAIL_FROM"),
    ],
)
def test_a_bad_setting_is_one_answer_naming_it_and_exit_2(
    tmp_path: Path, env: dict[str, str], args: list[str], setting: str, source: str
) -> None:
    (tmp_path / "learners.csv").write_text("Full Name,Email,External ID\nAnn,ann@example.com,\n")
    env = {**env, "PWD": str(tmp_path)}
    args = [str(tmp_path / arg) if arg == "learners.csv" else arg for arg in args]
    error = refused(run(*args, "--format", "json", tmp_path=tmp_path, env=env))
    assert error["code"] == "bad_setting"
    assert (error["setting"], error["source"]) == (setting, source)
    assert setting in error["message"] and source in error["message"]
    plain = run(*args, tmp_path=tmp_path, env=env)
    assert plain.returncode == 2
    assert plain.stderr.count("\n") == 1 and setting in plain.stderr
    assert "Traceback" not in plain.stderr


def test_the_limits_in_the_config_file_hold_for_check_as_for_every_command(tmp_path: Path) -> None:
    config = tmp_path / "config" / "roster" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("max_rows = 1\n")
    learners = tmp_path / "learners.csv"
    learners.write_text("Full Name,Email,External ID\nAnn,a@example.com,\nBob,b@example.com,\n")
    result = run("check", str(learners), "--format", "json", tmp_path=tmp_path)
    assert result.returncode == 2
    [problem] = json.loads(result.stdout)["file_errors"]
    assert problem["code"] == "too_many_rows" and "the limit is 1." in problem["message"]
    shown = json.loads(run("config", "--format", "json", tmp_path=tmp_path).stdout)["items"]
    assert {"setting": "max_rows", "value": "1", "source": str(config)} in shown

    config.write_text('max_rows = "many"\n')  # the same answer from both readers
    answers = [
        refused(run(*command, "--format", "json", tmp_path=tmp_path))["message"]
        for command in (["check", str(learners)], ["programs"])
    ]
    assert answers[0] == answers[1]
    assert answers[0] == (
        f"The setting max_rows from {config} is 'many': expected a positive whole number."
    )


def test_a_config_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    config = tmp_path / "config" / "roster" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("api_url = https://unquoted\n")
    error = refused(run("programs", "--format", "json", tmp_path=tmp_path))
    assert error["code"] == "bad_setting"
    assert str(config) in error["message"]


def test_an_unreachable_database_is_named_with_its_password_masked(tmp_path: Path) -> None:
    url = "postgresql://roster:pa55word@127.0.0.1:9/roster"
    error = refused(
        run("programs", "--format", "json", tmp_path=tmp_path, env={"ROSTER_DATABASE_URL": url})
    )
    assert error["code"] == "bad_database"
    assert "postgresql://roster:***@127.0.0.1:9/roster" in error["message"]
    assert "pa55word" not in json.dumps(error)


def test_a_data_directory_that_is_a_file_or_a_damaged_database_is_named(tmp_path: Path) -> None:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    error = refused(
        run("programs", "--format", "json", "--data-dir", str(a_file), tmp_path=tmp_path)
    )
    assert (error["code"], error["path"]) == ("bad_data_dir", str(a_file))

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "roster.db").write_bytes(os.urandom(8192))
    for args in (["programs"], ["admin", "create-org", "Acme"]):
        error = refused(
            run(*args, "--format", "json", "--data-dir", str(damaged), tmp_path=tmp_path)
        )
        assert error["code"] == "bad_database"
        assert str(damaged / "roster.db") in error["message"]


def test_unreachable_service_and_refused_token_are_json_with_their_exit_codes(
    tmp_path: Path, served: tuple[str, str, Path], smtp_server: SmtpServer
) -> None:
    base, _, _ = served
    nobody = run(
        "programs",
        "--format",
        "json",
        tmp_path=tmp_path,
        env={"ROSTER_API_URL": "http://127.0.0.1:9", "ROSTER_TOKEN": "rst_x"},
    )
    error = refused(nobody, exit_code=4)
    assert (error["code"], error["url"]) == ("service_unreachable", "http://127.0.0.1:9")
    wrong = run(
        "programs",
        "--format",
        "json",
        tmp_path=tmp_path,
        env={"ROSTER_API_URL": base, "ROSTER_TOKEN": "rst_wrong"},
    )
    error = refused(wrong, exit_code=3)
    assert (error["code"], error["status"]) == ("unauthorized", 401)


def test_login_reads_the_token_from_stdin_keeps_it_private_and_logout_forgets_it(
    tmp_path: Path, served: tuple[str, str, Path], smtp_server: SmtpServer
) -> None:
    base, token, _ = served
    wrong = run("login", "--api-url", base, tmp_path=tmp_path, stdin="rst_wrong\n")
    assert wrong.returncode == 3 and "Traceback" not in wrong.stderr
    logged = run("login", "--api-url", base, tmp_path=tmp_path, stdin=token + "\n")
    assert logged.returncode == 0, logged.stderr
    config = tmp_path / "config" / "roster" / "config.toml"
    assert config.stat().st_mode & 0o777 == 0o600
    assert token not in logged.stdout + logged.stderr
    programs = run("programs", "--format", "json", tmp_path=tmp_path)
    assert [item["name"] for item in json.loads(programs.stdout)["items"]] == ["Onboarding"]
    shown = json.loads(run("config", "--format", "json", tmp_path=tmp_path).stdout)["items"]
    settings = {item["setting"]: item for item in shown}
    assert settings["token"]["value"] == "***"
    assert settings["token"]["source"] == str(config)
    assert token not in json.dumps(shown)
    assert run("logout", tmp_path=tmp_path).returncode == 0
    assert "token" not in config.read_text()


@pytest.mark.parametrize(
    "args",
    [
        ["programs"],
        ["programs", "--format", "json"],
        ["contracts", "--program", "Inclusive Hiring"],
        ["invitations", "--program", "Cybersecurity Awareness 2026"],
        ["config"],
        ["template", "-"],
        ["check", "learners.csv", "--format", "json"],
    ],
)
def test_a_closed_pipe_ends_quietly(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "learners.csv").write_text("Full Name,Email,External ID\nAnn,ann@example.com,\n")
    args = [str(tmp_path / arg) if arg == "learners.csv" else arg for arg in args]
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte, as with `| head -c 0`
    environment = {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "ROSTER_DATA_DIR": str(tmp_path / "data"),
    }
    process = subprocess.run(
        [sys.executable, "-m", "tui", *args],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
        env=environment,
    )
    os.close(write_end)
    assert "Traceback" not in process.stderr
    assert "BrokenPipeError" not in process.stderr
    assert process.returncode == 0


def test_operator_input_is_checked_before_it_reaches_the_database(tmp_path: Path) -> None:
    def admin(*args: str) -> subprocess.CompletedProcess[str]:
        return run("admin", *args, "--format", "json", tmp_path=tmp_path)

    assert admin("create-org", "Acme").returncode == 0
    assert admin("create-program", "--org", "Acme", "Leadership").returncode == 0
    negative = admin(
        "create-contract", "--org", "Acme", "--program", "Leadership", "C", "--seats", "-5"
    )
    # Refused by the arguments' own check, and told as JSON: the command asked for it.
    assert negative.returncode == 2
    assert refused(negative)["code"] == "usage"
    assert "at least 1 seat" in refused(negative)["message"]
    backwards = admin(
        "create-contract",
        "--org",
        "Acme",
        "--program",
        "Leadership",
        "C",
        "--starts",
        "2030-01-01",
        "--ends",
        "2020-01-01",
    )
    assert refused(backwards)["code"] == "invalid_input"
    for name in ("", "Two\r\nLines", "x" * 201):
        assert refused(admin("create-program", "--org", "Acme", name))["code"] == "invalid_input"
    elsewhere = run(
        "admin", "create-org", "Globex", "--api-url", "https://roster.example", tmp_path=tmp_path
    )
    assert elsewhere.returncode == 2 and "--api-url" in elsewhere.stderr
    assert (
        run(
            "--api-url",
            "https://roster.example",
            "admin",
            "create-org",
            "Globex",
            tmp_path=tmp_path,
        ).returncode
        == 2
    )
    assert "--api-url" not in run("admin", "create-org", "--help", tmp_path=tmp_path).stdout


def test_version_is_printed(tmp_path: Path) -> None:
    result = run("--version", tmp_path=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("roster ")


def test_an_import_reports_the_file_s_error_before_a_program_it_cannot_find(
    tmp_path: Path,
) -> None:
    # The program is looked up while the file is read; a broken file still speaks first.
    broken = tmp_path / "broken.csv"
    broken.write_text("Name,Mail\nAda,ada@example.com\n")
    result = run(
        "import",
        str(broken),
        "--program",
        "Nope",
        "--contract",
        "x",
        "--yes",
        "--format",
        "json",
        tmp_path=tmp_path,
    )
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert (document["status"], document["error"]["code"]) == ("not_started", "missing_header")

    fine = tmp_path / "fine.csv"
    fine.write_text("Full Name,Email,External ID\nAda,ada@example.com,\n")
    result = run(
        "import",
        str(fine),
        "--program",
        "Nope",
        "--contract",
        "x",
        "--yes",
        "--format",
        "json",
        tmp_path=tmp_path,
    )
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["code"] == "program_not_found"


def test_an_import_the_service_refuses_is_one_json_document_with_the_seats_left(
    tmp_path: Path,
) -> None:
    learners = tmp_path / "learners.csv"
    learners.write_text(
        "Full Name,Email,External ID\n"
        + "".join(f"Learner {n},learner{n}@example.com,\n" for n in range(5))
    )
    result = run(
        "import",
        str(learners),
        "--program",
        "Leadership Essentials",
        "--contract",
        "Pilot - 30 seats",
        "--yes",
        "--format",
        "json",
        tmp_path=tmp_path,
    )
    assert result.returncode == 3
    document = json.loads(result.stdout)
    assert (document["status"], document["invited"]) == ("not_started", 0)
    assert document["error"]["code"] == "contract_capacity"
    assert document["error"]["seats_left"] == 2


def test_operators_edit_and_archive_contracts_and_programs_under_the_api_s_rules(
    tmp_path: Path,
) -> None:
    import sqlite3

    def admin(*args: str) -> subprocess.CompletedProcess[str]:
        return run("admin", *args, "--org", "1", "--format", "json", tmp_path=tmp_path)

    assert run("programs", tmp_path=tmp_path).returncode == 0  # the demo organization, seeded
    below = refused(admin("edit-contract", "Pilot - 30 seats", "--seats", "20"))
    assert below["code"] == "seats_in_use"
    assert below["message"].startswith("Pilot - 30 seats has 28 seats in use; at least 28.")
    backwards = refused(admin("edit-contract", "Pilot - 30 seats", "--ends", "2025-01-01"))
    assert backwards["code"] == "dates_out_of_order"

    edited = admin("edit-contract", "Pilot - 30 seats", "--seats", "40", "--name", "Pilot")
    assert edited.returncode == 0, edited.stderr
    assert json.loads(edited.stdout)["changed"] == {
        "name": ["Pilot - 30 seats", "Pilot"],
        "seats": [30, 40],
    }
    archived = admin("archive-contract", "Pilot")
    assert json.loads(archived.stdout)["changed"] is True
    contracts = run(
        "contracts",
        "--program",
        "Data Literacy for Everyone",
        "--format",
        "json",
        tmp_path=tmp_path,
    )
    assert "Pilot" not in [contract["name"] for contract in json.loads(contracts.stdout)["items"]]
    assert json.loads(admin("archive-contract", "Pilot", "--restore").stdout)["archived_at"] is None

    created = admin("create-program", "Onboarding")
    assert created.returncode == 0, created.stderr
    with sqlite3.connect(tmp_path / "data" / "roster.db") as database:
        entries = database.execute(
            "SELECT action, actor FROM audit_entries WHERE action LIKE 'contract.%' "
            "OR action LIKE 'program.%' ORDER BY seq"
        ).fetchall()
    assert [action for action, _ in entries] == [
        "contract.edited",
        "contract.archived",
        "contract.restored",
        "program.created",
    ]
    assert all(actor.startswith("operator (") for _, actor in entries)


def test_owners_change_contracts_and_programs_through_the_service(tmp_path: Path) -> None:
    def roster(*args: str) -> subprocess.CompletedProcess[str]:
        return run(*args, "--format", "json", tmp_path=tmp_path)

    data = "Data Literacy for Everyone"
    below = roster("contracts", "edit", "Pilot - 30 seats", "--program", data, "--seats", "20")
    assert refused(below, exit_code=3)["code"] == "seats_in_use"
    edited = roster("contracts", "edit", "Pilot - 30 seats", "--program", data, "--seats", "40")
    assert (json.loads(edited.stdout)["seats_total"], edited.returncode) == (40, 0)

    assert roster("programs", "archive", data).returncode == 0
    names = [p["name"] for p in json.loads(roster("programs").stdout)["items"]]
    assert data not in names
    archived = json.loads(roster("programs", "--archived").stdout)["items"]
    assert [program["name"] for program in archived] == [data]
    # Its history still lists, by name.
    invitations = json.loads(roster("invitations", "--program", data).stdout)
    assert invitations["total"] == 8
    assert {i["program_name"] for i in invitations["items"]} == {f"{data} (archived)"}
