"""The settings as an operator writes them: a flag over ROSTER_<NAME> over the config file over
the default, durations in the forms DEPLOY.md shows, and a bad value named with its source."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

import tui.config_file
from tui.config_file import SettingsProblem
from tui.settings import Settings


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty config file of its own, and no ROSTER_* variable from the machine running this."""
    path = tmp_path / "config.toml"
    path.write_text("")
    monkeypatch.setattr(tui.config_file, "CONFIG_FILE", path)
    for name in [name for name in os.environ if name.upper().startswith("ROSTER_")]:
        monkeypatch.delenv(name)
    return path


def test_a_flag_wins_over_the_environment_which_wins_over_the_file(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config.write_text('theme = "nord"\nmax_rows = 5\ntoken = "rst_file"\n')
    monkeypatch.setenv("roster_max_rows", "7")  # any case, as a shell user may write it
    settings = Settings(token="rst_flag", data_dir=str(config.parent))
    assert (settings.theme, settings.max_rows, settings.token) == ("nord", 7, "rst_flag")
    assert settings.data_dir == config.parent
    assert settings.mail_retry_window == timedelta(hours=24)  # the default
    assert Settings(unknown="ignored").max_rows == 7


@pytest.mark.parametrize(
    ("given", "seconds"),
    [
        ("3600", 3600),
        ("PT24H", 86_400),
        ("P1D", 86_400),
        ("P1DT30M", 88_200),
        ("48:00", 172_800),  # hours and minutes, as before
        ("1 day, 0:00:00", 86_400),  # the default as `roster config` shows it
        ("0", 0),  # a transient failure fails at once
    ],
)
def test_the_retry_window_takes_seconds_or_an_iso_duration(
    config: Path, monkeypatch: pytest.MonkeyPatch, given: str, seconds: int
) -> None:
    monkeypatch.setenv("ROSTER_MAIL_RETRY_WINDOW", given)
    assert Settings().mail_retry_window == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('mail_retry_window = "soon"', "expected seconds or an ISO 8601 duration"),
        ("mail_retry_window = -5", "from zero to ten years"),
        ('mail_retry_window = "P99999999999D"', "expected seconds or an ISO 8601 duration"),
        ("sync_max_removal_share = 1.5", "expected a share from 0 to 1"),
        ("api_url = 8000", "expected text"),
        ('secret_key = "short"', "expected at least 32 random characters"),
        ('mail_from = "nobody"', "expected an address"),
    ],
)
def test_a_bad_value_in_the_file_names_the_setting_the_file_and_what_is_expected(
    config: Path, line: str, expected: str
) -> None:
    config.write_text(line + "\n")
    with pytest.raises(SettingsProblem) as problem:
        Settings()
    name = line.partition(" =")[0]
    assert problem.value.details["setting"] == name
    assert problem.value.details["source"] == str(config)
    assert expected in problem.value.message
    assert "short" not in problem.value.message  # a secret is never shown, even a bad one


def test_a_variable_in_lower_case_is_named_as_written_wherever_it_is_read(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("roster_max_rows", "many")
    with pytest.raises(SettingsProblem) as problem:
        Settings()
    with pytest.raises(SettingsProblem) as limits:  # `roster check`'s reader, without Settings
        tui.config_file.intake_limits()
    for refused in (problem.value, limits.value):
        assert refused.details["source"] == "roster_max_rows"
        assert refused.message == (
            "The setting max_rows from roster_max_rows is 'many': expected a positive whole number."
        )
