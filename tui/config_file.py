"""The config file and the environment, read with the standard library alone: where each setting
comes from, and the intake limits, for the commands that must start fast (`roster check`).
`tui.settings` builds every setting on these."""

from __future__ import annotations

import os
import tomllib
from typing import Any

from platformdirs import user_config_path

from tui.intake.limits import LIMIT_SETTINGS, Limits, positive_whole_number

CONFIG_FILE = user_config_path("roster") / "config.toml"


class SettingsProblem(Exception):
    """A setting that cannot be used: which one, from where, its value and what is expected."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


def bad_setting(name: str, source: str, value: str, expected: str) -> SettingsProblem:
    """The one wording of a bad setting, whichever reader found it."""
    return SettingsProblem(
        f"The setting {name} from {source} is {value!r}: {expected}.",
        setting=name,
        source=source,
        value=value,
    )


def config_file_values() -> dict[str, Any]:
    """The config file's settings; none when it is missing or damaged (which `load_settings`
    reports, to the commands that load every setting)."""
    try:
        with CONFIG_FILE.open("rb") as file:
            return tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def roster_environment() -> dict[str, str]:
    """The ROSTER_* variables, by their upper-case names: one written in another case
    (roster_max_rows) counts as well."""
    return {
        name.upper(): value
        for name, value in os.environ.items()
        if name.upper().startswith("ROSTER_")
    }


def source_of(name: str, flags: dict[str, Any]) -> str:
    """Where a setting's value comes from: a flag, the environment, the config file, a default."""
    if name in flags:
        return f"--{name.replace('_', '-')}"
    variable = f"ROSTER_{name.upper()}"
    given = [each for each in os.environ if each.upper() == variable]
    if given:
        return given[0]  # as the admin wrote it
    if name in config_file_values():
        return str(CONFIG_FILE)
    return "default"


def intake_limits() -> Limits:
    """The limits on a learner file, from the environment, then the config file, then the
    defaults: the values `Settings` has, read without loading it."""
    in_file = config_file_values()
    environment = roster_environment()
    limits: dict[str, int] = {}
    for name, field in LIMIT_SETTINGS.items():
        variable = f"ROSTER_{name.upper()}"
        if variable in environment:
            source, value = source_of(name, {}), environment[variable]
        elif name in in_file:
            source, value = str(CONFIG_FILE), in_file[name]
        else:
            continue
        try:
            limits[field] = positive_whole_number(value)
        except ValueError as error:
            raise bad_setting(name, source, str(value)[:80], str(error)) from None
    return Limits(**limits)
