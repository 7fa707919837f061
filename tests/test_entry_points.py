"""What each entry point loads, read from the real command: `python -X importtime` reports every
module as it is first imported (even from `roster check`, which ends with os._exit). A command
that loads libraries it does not use starts slower, every time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# The app's, the service's and the HTTP client's libraries.
APP_AND_SERVICE = {"textual", "fastapi", "uvicorn", "sqlalchemy", "httpx"}


def loaded_by(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """The top-level packages `roster ARGS` imports, the command having succeeded."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tui", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return {
        line.split("|")[2].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }


def test_the_version_loads_nothing_heavy() -> None:
    loaded = loaded_by("--version")
    assert "tui" in loaded  # the probe sees the command's imports
    unwanted = loaded & {*APP_AND_SERVICE, "polars", "pydantic", "rich"}
    assert not unwanted


def test_check_loads_neither_the_app_nor_the_service(tmp_path: Path) -> None:
    learners = tmp_path / "learners.csv"
    learners.write_text("Full Name,Email,External ID\nAnn Lee,ann@example.com,\n")
    loaded = loaded_by("check", str(learners))
    assert "polars" in loaded  # the file was read
    unwanted = loaded & APP_AND_SERVICE
    assert not unwanted


def test_lists_from_the_embedded_service_load_no_polars(tmp_path: Path) -> None:
    env = {"ROSTER_DATA_DIR": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path)}
    loaded_by("programs", env=env)  # the first command seeds the demo organization
    for command in (["programs"], ["contracts", "--program", "1"]):
        loaded = loaded_by(*command, "--format", "json", env=env)
        assert {"fastapi", "sqlalchemy", "httpx"} <= loaded  # the embedded service answered
        unwanted = loaded & {"polars", "textual"}
        assert not unwanted, command


def test_the_app_draws_its_first_frame_before_loading_the_service_or_polars() -> None:
    """The app's module and Admin home load neither polars (the other pages' file reading), nor
    the client's modules, nor the service's: those load on a thread once the first frame is up."""
    probe = "import sys, tui.app; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    loaded = {name.split(".")[0] for name in result.stdout.split()}
    assert "textual" in loaded
    assert not loaded & {"polars", "fastapi", "uvicorn", "sqlalchemy", "httpx"}
    assert not {"tui.service", "tui.api.client", "tui.wire.models", "tui.screens.programs"} & set(
        result.stdout.split()
    )


def test_no_arguments_parse_to_the_app() -> None:
    """`roster` alone opens the app: the parser's probe for --format json takes no arguments."""
    from tui.cli.parser import build_parser

    assert build_parser([]).parse_args([]).command is None
