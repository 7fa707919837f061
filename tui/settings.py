"""Settings: flags, then ROSTER_* environment variables, then the TOML config file, then defaults.

The config file is `config.toml` in the user config directory (platformdirs), for example:

    api_url = "https://roster.example.org"
    token = "rst_..."

Read with the standard library alone: the app draws its first frame and every command starts
without loading pydantic (a third of a second here). Each setting has a reader that turns what
a flag, the environment or the file gives into its value, or raises ValueError saying what is
expected; a value that fails is a SettingsProblem naming the setting and where it came from.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from platformdirs import user_data_path

from tui.config_file import (
    CONFIG_FILE,
    SettingsProblem,
    bad_setting,
    config_file_values,
    roster_environment,
    source_of,
)
from tui.intake.limits import Limits, positive_whole_number
from tui.urls import (
    Kind,
    check_database_url,
    check_http_url,
    check_mail_url,
    check_public_url,
    mask_url,
)

MIN_SECRET_KEY = 32


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("expected text (in the config file, a quoted string)")
    return value


def _optional(check: Callable[[str], None] | None = None) -> Callable[[object], str | None]:
    def read(value: object) -> str | None:
        if value is None:  # given as None: not set
            return None
        text = _text(value)
        if check is not None:
            check(text)
        return text

    return read


def _public_url(value: object) -> str:
    text = _text(value)
    check_public_url(text)
    return text


def _mail_from(value: object) -> str:
    from email.utils import parseaddr

    text = _text(value)
    address = parseaddr(text)[1]
    if "@" not in address:
        raise ValueError('expected an address such as "Roster <invitations@example.org>"')
    if not address.rpartition("@")[0].isascii():
        raise ValueError("expected an address whose part before the @ is ASCII")
    return text


def _secret_key(value: object) -> str | None:
    if value is None:
        return None
    text = _text(value).strip()
    if not text:
        return None
    if len(text) < MIN_SECRET_KEY:
        raise ValueError(f"expected at least {MIN_SECRET_KEY} random characters")
    return text


def _path(value: object) -> Path:
    if isinstance(value, Path):
        return value.expanduser()
    text = _text(value)
    if not text:
        raise ValueError("expected a folder's path")
    return Path(text).expanduser()


DURATION_EXPECTED = "expected seconds or an ISO 8601 duration such as P1D or PT12H"
# Ten years: a retry window beyond it is a typo, and beyond datetime's range an overflow.
MAX_DURATION = 10 * 365 * 86_400


def duration(value: object) -> timedelta:
    """A duration as the environment or the config file gives it: seconds (3600, "3600"), or
    a text in any form pydantic reads ("PT24H", "P1D", "48:00:00", "1 day, 0:00:00"), from
    zero (a transient failure fails at once) to ten years."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            seconds = _read_duration(value.strip())
    else:
        raise ValueError(DURATION_EXPECTED)
    if not 0 <= seconds <= MAX_DURATION:  # NaN too
        raise ValueError(DURATION_EXPECTED + ", from zero to ten years")
    return timedelta(seconds=seconds)


def _read_duration(text: str) -> float:
    """Seconds of a duration text, read by pydantic as the settings always were: loaded only
    for such a text, not at every start."""
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(timedelta).validate_python(text).total_seconds()
    except (ValidationError, OverflowError):
        raise ValueError(DURATION_EXPECTED) from None


def _share(value: object) -> float:
    try:
        share = -1.0 if isinstance(value, bool) else float(str(value))
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise ValueError("expected a share from 0 to 1, such as 0.10")
    return share


def _default_data_dir() -> Path:
    return user_data_path("roster")


# Each setting: its reader and its default (a value, or a function giving it). Each URL is read
# as the program that uses it reads it (tui.urls): one it cannot read is a bad setting, before
# anything prints or opens it.
FIELDS: dict[str, tuple[Callable[[object], Any], object]] = {
    # Client: a remote `roster serve`; without api_url, the embedded service.
    "api_url": (_optional(check_http_url), None),
    "token": (_optional(), None),
    "data_dir": (_path, _default_data_dir),
    # Service.
    "database_url": (_optional(check_database_url), None),  # default: sqlite in data_dir
    "mail_url": (_optional(check_mail_url), None),  # default: maildir in data_dir/outbox
    "mail_from": (_mail_from, "Roster invitations <invitations@roster.invalid>"),
    "public_url": (_public_url, "http://127.0.0.1:8000"),
    # Makes the learners' links (tui.service.links); default: a file in data_dir, SQLite only.
    "secret_key": (_secret_key, None),
    # How long a transiently failing email (server down, 4xx) is retried, from when it was
    # queued: seconds or an ISO 8601 duration. A 5xx reply fails it at once.
    "mail_retry_window": (duration, timedelta(hours=24)),
    # The app's theme, as the admin last chose it (the command palette's Change theme).
    "theme": (_optional(), None),
    # Intake limits (tui.intake.limits).
    "max_file_bytes": (positive_whole_number, Limits.max_bytes),
    "max_rows": (positive_whole_number, Limits.max_rows),
    # A sync that would remove more than this share of a program's learners is refused unless
    # its --max-removals allows that many (tui.service.sync).
    "sync_max_removal_share": (_share, 0.10),
}


class Settings:
    """Every setting, resolved: `Settings(name=value, ...)` takes the given values first (the
    flags), then ROSTER_<NAME> (in any case), then the config file, then the default; a value
    that cannot be used raises SettingsProblem. Names it does not know are ignored."""

    __slots__ = tuple(FIELDS)

    api_url: str | None
    token: str | None
    data_dir: Path
    database_url: str | None
    mail_url: str | None
    mail_from: str
    public_url: str
    secret_key: str | None
    mail_retry_window: timedelta
    theme: str | None
    max_file_bytes: int
    max_rows: int
    sync_max_removal_share: float

    def __init__(self, **flags: Any) -> None:
        environment = roster_environment()
        in_file: dict[str, Any] | None = None
        for name, (read, default) in FIELDS.items():
            variable = f"ROSTER_{name.upper()}"
            if name in flags:
                value = flags[name]
            elif variable in environment:
                value = environment[variable]
            else:
                if in_file is None:
                    in_file = config_file_values()
                if name not in in_file:
                    setattr(self, name, default() if callable(default) else default)
                    continue
                value = in_file[name]
            try:
                setattr(self, name, read(value))
            except ValueError as error:
                shown_value = shown(name, value)[:80]
                raise bad_setting(name, source_of(name, flags), shown_value, str(error)) from None

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(FIELDS)

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes`, each read as a flag would be."""
        copy = object.__new__(Settings)
        for name in FIELDS:
            setattr(copy, name, getattr(self, name))
        for name, value in changes.items():
            setattr(copy, name, FIELDS[name][0](value))
        return copy

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={shown(name, getattr(self, name))!r}" for name in FIELDS)
        return f"Settings({values})"

    @property
    def limits(self) -> Limits:
        return Limits(max_bytes=self.max_file_bytes, max_rows=self.max_rows)

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'roster.db'}"

    def resolved_mail_url(self) -> str:
        return self.mail_url or f"maildir://{self.data_dir / 'outbox'}"


SECRETS = ("token", "secret_key")
# Each URL setting and the program that reads it (tui.urls).
URLS: dict[str, Kind] = {
    "api_url": "http",
    "database_url": "database",
    "mail_url": "mail",
    "public_url": "public",
}


def shown(name: str, value: object) -> str:
    """A setting's value as Roster prints it: secrets masked."""
    if value is None:
        return ""
    if name in SECRETS:
        return "***" if value else ""
    text = str(value)
    return mask_url(text, URLS[name]) if name in URLS else text


def load_settings(flags: dict[str, Any]) -> Settings:
    """The settings, checked before anything runs: a bad value is a SettingsProblem."""
    if CONFIG_FILE.exists():
        try:
            with CONFIG_FILE.open("rb") as file:
                tomllib.load(file)
        except tomllib.TOMLDecodeError as error:
            raise SettingsProblem(
                f"The config file {CONFIG_FILE} is not valid TOML ({error}); fix or remove it.",
                source=str(CONFIG_FILE),
            ) from None
        except OSError as error:
            raise SettingsProblem(
                f"Cannot read the config file {CONFIG_FILE}: {error.strerror}.",
                source=str(CONFIG_FILE),
            ) from None
    return Settings(**flags)


def update_config_file(values: dict[str, str | None]) -> None:
    """Set (or, with None, remove) flat keys of the config file, keeping the others; the file is
    private to its owner (0600): it may hold a token."""
    current = config_file_values()
    for key, value in values.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
    CONFIG_FILE.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lines = [f"{key} = {_toml_value(value)}" for key, value in current.items()]
    descriptor = os.open(CONFIG_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + ("\n" if lines else ""))
    os.chmod(CONFIG_FILE, 0o600)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    import json

    return json.dumps(str(value))  # a JSON string is a valid TOML basic string
