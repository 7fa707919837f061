"""`roster template` and `roster check` as an admin runs them: real processes, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPORT_KEYS = [
    "file",
    "encoding",
    "delimiter",
    "rows",
    "ready",
    "errors",
    "skipped",
    "blank_rows_skipped",
    "file_errors",
    "file_warnings",
    "issues",
]
ISSUE_KEYS = ["row", "column", "severity", "code", "message"]
Completed = subprocess.CompletedProcess[str]


def roster(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`roster ARGS`, its output uncolored; `env` adds to this process's environment."""
    run_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    run_env.pop("FORCE_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=run_env,
        check=False,
    )


def test_template_writes_the_three_headers_with_crlf(tmp_path: Path) -> None:
    result = roster("template", cwd=tmp_path)
    assert result.returncode == 0
    assert (tmp_path / "learners.csv").read_bytes() == b"Full Name,Email,External ID\r\n"
    assert "roster check" in result.stdout


def test_template_into_a_folder_and_to_stdout(tmp_path: Path) -> None:
    assert roster("template", str(tmp_path)).returncode == 0
    assert (tmp_path / "learners.csv").exists()
    raw = subprocess.run(
        [sys.executable, "-m", "tui", "template", "-"], capture_output=True, check=True
    )
    assert raw.stdout == b"Full Name,Email,External ID\r\n"


def test_template_never_replaces_a_file_without_force(tmp_path: Path) -> None:
    filled = tmp_path / "learners.csv"
    filled.write_text("Full Name,Email,External ID\nAnn Lee,ann@example.com,\n")
    result = roster("template", str(filled))
    assert result.returncode == 2
    assert "already exists" in result.stderr
    assert "--force" in result.stderr
    assert "Ann Lee" in filled.read_text()
    assert roster("template", str(filled), "--force").returncode == 0
    assert "Ann Lee" not in filled.read_text()


def test_the_filled_template_checks_clean(tmp_path: Path) -> None:
    roster("template", cwd=tmp_path)
    with (tmp_path / "learners.csv").open("a", newline="") as template:
        template.write("Ann Lee,ann@example.com,\r\n")
    result = roster("check", "learners.csv", cwd=tmp_path)
    assert result.returncode == 0
    assert "1 row · 1 ready · 0 with errors" in result.stdout
    assert "The row is ready to import." in result.stdout


def test_check_json_is_the_report_of_the_design(tmp_path: Path) -> None:
    path = tmp_path / "learners.csv"
    path.write_bytes(
        b"\xef\xbb\xbfFull Name,Email,External ID\r\n"
        b"Ann Lee,ann@example.com,A1\r\n\r\nBob Ray,ANN@example.com,\r\n"
    )
    result = roster("check", str(path), "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert list(report) == REPORT_KEYS
    assert report["file"] == "learners.csv"
    assert (report["encoding"], report["delimiter"]) == ("utf-8-sig", ",")
    assert (report["rows"], report["ready"], report["errors"], report["skipped"]) == (2, 1, 1, 0)
    assert report["blank_rows_skipped"] == 1
    assert report["issues"] == [
        {
            "row": 4,
            "column": "Email",
            "severity": "error",
            "code": "duplicate_email",
            "message": "Same learner as row 2",
        }
    ]
    assert list(report["issues"][0]) == ISSUE_KEYS


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "unsupported_file"),
        (b"Name,Mail\nAnn,ann@example.com\n", "missing_header"),
        (b"Full Name,Email,External ID\n", "no_rows"),
        (b"abc\x00def", "not_text"),
    ],
)
def test_bad_files_exit_2_with_a_report_and_no_traceback(
    tmp_path: Path, content: bytes, code: str
) -> None:
    path = tmp_path / "learners.csv"
    path.write_bytes(content)
    as_json = roster("check", str(path), "--format", "json")
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout)["file_errors"][0]["code"] == code
    as_table = roster("check", str(path))
    assert as_table.returncode == 2
    assert "File error" in as_table.stdout
    assert "cannot be imported" in as_table.stdout
    assert "Traceback" not in as_json.stderr + as_table.stderr


def test_missing_file_is_a_report_too(tmp_path: Path) -> None:
    result = roster("check", str(tmp_path / "nope.csv"), "--format", "json")
    assert result.returncode == 2
    assert json.loads(result.stdout)["file_errors"][0]["code"] == "file_not_found"


def test_bad_usage_exits_2(tmp_path: Path) -> None:
    assert roster("check").returncode == 2
    assert roster("check", "x.csv", "--format", "xml").returncode == 2


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("programs", "--bogus", "--format", "json"), "unrecognized arguments: --bogus"),
        (("audit", "--since", "yesterday", "--format=json"), "'yesterday' is not a date"),
        (("members", "--format", "json", "remove"), "--program"),
    ],
)
def test_bad_usage_asked_for_as_json_is_one_json_document(args: tuple[str, ...], said: str) -> None:
    """A script that asked for JSON reads its refusal as JSON too, exit status 2."""
    done = roster(*args)
    assert done.returncode == 2
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "usage" and said in error["message"]
    assert "Traceback" not in done.stderr


def test_table_groups_issues_by_problem_with_rows_and_fixes(tmp_path: Path) -> None:
    rows = "".join(f"Learner {i},learner{i}.example.com,\n" for i in range(8))
    path = tmp_path / "learners.csv"
    path.write_text(
        "Full Name;Email;External ID\n".replace(";", ",")
        + "Ann Lee,ann@example.com,\n"
        + rows
        + "Ann Again,ANN@example.com,\n"
        + ",bob@gmial.com,\n"
    )
    result = roster("check", str(path))
    assert result.returncode == 1
    out = result.stdout
    assert "learners.csv — UTF-8, comma-delimited" in out
    assert "11 rows · 1 ready · 10 with errors" in out
    assert "✗ Email is not valid — 8 rows (invalid_email)" in out
    assert "row 3       An email address must have an @-sign." in out
    assert "and 3 more: rows 8, 9, 10" in out
    assert "Fix: Correct each address as described." in out
    assert "✗ Same learner twice — 1 row (duplicate_email)" in out
    assert "Same learner as row 2" in out
    assert "! Possible typo in the email domain — 1 row" in out
    assert "did you mean bob@gmail.com?" in out
    assert out.index("Same learner twice") < out.index("Possible typo")
    assert "\x1b[" not in out


def test_table_is_colored_on_a_terminal(tmp_path: Path) -> None:
    path = tmp_path / "learners.csv"
    path.write_text("Full Name,Email,External ID\n,ann@example.com,\n")
    env = {**os.environ, "FORCE_COLOR": "1"}
    env.pop("NO_COLOR", None)
    result = subprocess.run(
        [sys.executable, "-m", "tui", "check", str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert "\x1b[1;31m✗\x1b[0m" in result.stdout


def test_check_with_program_and_contract_adds_the_service_checks(tmp_path: Path) -> None:
    env = {**os.environ, "ROSTER_DATA_DIR": str(tmp_path / "data"), "NO_COLOR": "1"}
    path = tmp_path / "learners.csv"
    path.write_text(
        "Full Name,Email,External ID\n"
        "Amara Okafor,AMARA.OKAFOR@example.com,\n"  # invited to this program in the demo
        "New Person,new.person@example.com,\n"
        "Other Person,other@example.com,EMP-1000\n"  # Amara's External ID
    )

    def check(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tui", "check", str(path), "--format", "json", *options],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )

    result = check(
        "--program", "Leadership Essentials", "--contract", "Enterprise Agreement 2026 (unlimited)"
    )
    report = json.loads(result.stdout)
    assert result.returncode == 1
    assert (report["rows"], report["ready"], report["skipped"], report["errors"]) == (3, 1, 1, 1)
    codes = {(issue["row"], issue["code"]) for issue in report["issues"]}
    assert codes == {(2, "already_member"), (4, "external_id_conflict")}

    path.write_text(
        "Full Name,Email,External ID\n"
        + "".join(f"Learner {n},learner{n}@example.com,\n" for n in range(3))
    )
    full = check("--program", "Leadership Essentials", "--contract", "Pilot - 30 seats")
    assert full.returncode == 2
    errors = json.loads(full.stdout)["file_errors"]
    assert [error["code"] for error in errors] == ["contract_capacity"]
    assert "2 seats left" in errors[0]["message"]
    expired = check(
        "--program", "Leadership Essentials", "--contract", "Spring Cohort 2025 (expired)"
    )
    assert json.loads(expired.stdout)["file_errors"][0]["code"] == "contract_unavailable"
    unknown = check("--program", "Nope", "--contract", "x")
    assert unknown.returncode == 2
    error = json.loads(unknown.stdout)["error"]
    assert error["code"] == "program_not_found"
    assert "No program 'Nope'" in error["message"]


def test_a_command_leaves_the_database_whole_with_no_write_ahead_log(tmp_path: Path) -> None:
    # The first command seeds the demo organization: its writes go to the log first, and are
    # folded into the database file when the command ends. A log left behind is read through
    # by every later command (a million-row import left one of 600 MB).
    data = tmp_path / "data"
    env = {**os.environ, "ROSTER_DATA_DIR": str(data), "NO_COLOR": "1"}
    listed = subprocess.run(
        [sys.executable, "-m", "tui", "programs", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["items"]
    assert (data / "roster.db").stat().st_size > 0
    assert not (data / "roster.db-wal").exists()


def test_a_table_dropped_outside_roster_is_said_so_and_asked_once(
    tmp_path: Path,
) -> None:
    import sqlite3

    data = tmp_path / "data"

    def invitations() -> Completed:
        arguments = ["invitations", "--program", "Leadership Essentials", "--format", "json"]
        return roster(*arguments, env={"ROSTER_DATA_DIR": str(data)})

    def without(table: str) -> dict[str, str]:
        """The error `roster invitations` ends with (exit 2) once `table` is dropped."""
        with sqlite3.connect(data / "roster.db") as database:
            database.execute(f"DROP TABLE {table}")
        listed = invitations()
        assert listed.returncode == 2, listed.stderr
        error: dict[str, str] = json.loads(listed.stdout)["error"]
        return error

    assert invitations().returncode == 0
    error = without("invitations")
    assert error["code"] == "database_damaged"
    assert error["message"] == (
        "The database lacks part of Roster's schema; it was changed outside Roster (SQLite: "
        "no such table: invitations). Restore a backup with `roster restore BACKUP`; the "
        "service log has the request that found it."
    )
    # The client asked once: no retry mends it (a busy database is asked up to five times).
    log = (data / "roster.log").read_text()
    assert log.count("database damaged: no such table: invitations") == 1

    # Found as the service starts (it reads its admins first): the same advice, not "fix the
    # space or permissions" as for a database SQLite finds sound but cannot open.
    error = without("admins")
    assert error["code"] == "bad_database"
    assert error["message"] == (
        f"The database {data / 'roster.db'} lacks part of Roster's schema (no such table: "
        "admins): it was changed outside Roster. Restore a backup with `roster restore BACKUP`."
    )


def test_settings_come_from_the_config_file_and_the_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "config" / "roster"
    config.mkdir(parents=True)
    (config / "config.toml").write_text(f'data_dir = "{tmp_path / "from-file"}"\n')
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("ROSTER_DATA_DIR", None)
    command = [sys.executable, "-m", "tui", "programs", "--format", "json"]
    subprocess.run(command, env=env, check=True, capture_output=True)
    assert (tmp_path / "from-file" / "roster.db").exists()
    token = tmp_path / "from-file" / "token"
    assert token.stat().st_mode & 0o777 == 0o600
    env["ROSTER_DATA_DIR"] = str(tmp_path / "from-env")
    subprocess.run(command, env=env, check=True, capture_output=True)
    assert (tmp_path / "from-env" / "roster.db").exists()


# `roster` with a part of the intake replaced by one that panics as polars does (a
# PanicException, which derives from BaseException): `python -c BROKEN PART ARGS...`.
BROKEN = """
import sys
import polars as pl
import tui.intake.learner_file as learner_file
from tui.cli.main import main


def panic(*args, **kwargs):
    raise pl.exceptions.PanicException("assertion failed: i < self.len()")


part = sys.argv[1]
if part == "rules":
    learner_file.check_learners = panic
else:
    learner_file.LearnerFile.write_report_json = panic
sys.exit(main(sys.argv[2:]))
"""


def broken_roster(part: str, *args: str, env: dict[str, str] | None = None) -> Completed:
    return subprocess.run(
        [sys.executable, "-c", BROKEN, part, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        check=False,
    )


def test_a_panic_in_the_rules_is_a_report_with_exit_2_in_both_formats(tmp_path: Path) -> None:
    path = tmp_path / "learners.csv"
    path.write_text("Full Name,Email,External ID\nAnn,ann@example.com,\nBo,bo@example.com,\n")
    result = broken_roster("rules", "check", str(path), "--format", "json")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)  # one JSON document
    assert list(report) == REPORT_KEYS
    [error] = report["file_errors"]
    assert error["code"] == "internal_error"
    assert error["message"].startswith(
        "Roster failed while checking the rows, with 2 learner rows read: "
        "PanicException: assertion failed: i < self.len()."
    )
    table = broken_roster("rules", "check", str(path))
    assert table.returncode == 2
    assert "Traceback" not in table.stderr
    assert "✗ File error: Roster failed while checking the rows, with 2 learner rows read" in (
        table.stdout
    )
    assert "(internal_error)" in table.stdout


def test_a_panic_while_writing_the_json_report_is_still_one_json_document(
    tmp_path: Path,
) -> None:
    path = tmp_path / "learners.csv"
    path.write_text("Full Name,Email,External ID\nAnn,ann@example.com,\n,bo@example.com,\n")
    result = broken_roster("report", "check", str(path), "--format", "json")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    [error] = report["file_errors"]
    assert error["code"] == "internal_error"
    assert "while writing the report, with 2 learner rows read" in error["message"]


def test_a_panic_while_reading_for_an_import_is_one_json_document_and_nothing_imported(
    tmp_path: Path,
) -> None:
    path = tmp_path / "learners.csv"
    path.write_text("Full Name,Email,External ID\nAnn,ann@example.com,\n")
    options = ["--program", "Leadership Essentials", "--contract", "Pilot - 30 seats", "--yes"]
    result = broken_roster(
        "rules",
        "import",
        str(path),
        *options,
        "--format",
        "json",
        env={"ROSTER_DATA_DIR": str(tmp_path / "data")},
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    document = json.loads(result.stdout)
    assert (document["import_id"], document["status"], document["invited"]) == (
        None,
        "not_started",
        0,
    )
    assert document["error"]["code"] == "internal_error"
    assert "with 1 learner row" in document["error"]["message"]
