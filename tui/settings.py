"""Settings: ROSTER_* environment variables, then the TOML config file, then defaults.

The config file is `config.toml` in the user config directory (platformdirs), for example:

    api_url = "https://roster.example.org"
    token = "rst_..."
"""

from __future__ import annotations

import os
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

from platformdirs import user_data_path
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tui.config_file import (
    CONFIG_FILE,
    SettingsProblem,
    bad_setting,
    config_file_values,
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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROSTER_", toml_file=CONFIG_FILE, extra="ignore")

    # Client: a remote `roster serve`; without api_url, the embedded service.
    api_url: str | None = None
    token: str | None = None
    data_dir: Path = user_data_path("roster")
    # Service.
    database_url: str | None = None  # default: sqlite in data_dir
    mail_url: str | None = None  # default: maildir in data_dir/outbox
    mail_from: str = "Roster invitations <invitations@roster.invalid>"
    public_url: str = "http://127.0.0.1:8000"
    # Makes the learners' links (tui.service.links); default: a file in data_dir, SQLite only.
    secret_key: str | None = None
    # How long a transiently failing email (server down, 4xx) is retried, from when it was
    # queued: seconds or an ISO 8601 duration. A 5xx reply fails it at once.
    mail_retry_window: timedelta = timedelta(hours=24)
    # The app's theme, as the admin last chose it (the command palette's Change theme).
    theme: str | None = None
    # Intake limits (tui.intake.limits).
    max_file_bytes: int = Limits.max_bytes
    max_rows: int = Limits.max_rows
    # A sync that would remove more than this share of a program's learners is refused unless
    # its --max-removals allows that many (tui.service.sync).
    sync_max_removal_share: float = Field(default=0.10, ge=0, le=1)

    @field_validator("max_file_bytes", "max_rows", mode="before")
    @classmethod
    def _limit(cls, value: object) -> int:
        return positive_whole_number(value)

    @property
    def limits(self) -> Limits:
        return Limits(max_bytes=self.max_file_bytes, max_rows=self.max_rows)

    @field_validator("mail_retry_window", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> object:
        # ROSTER_MAIL_RETRY_WINDOW=3600 means seconds, as a number in the config file does.
        if isinstance(value, str) and value.replace(".", "", 1).isdigit():
            return float(value)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)

    # Each URL is read here as the program that uses it reads it (tui.urls): one it cannot
    # read is a bad setting, before anything prints or opens it.
    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is not None:
            check_database_url(value)
        return value

    @field_validator("mail_url")
    @classmethod
    def _mail_url(cls, value: str | None) -> str | None:
        if value is not None:
            check_mail_url(value)
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        from email.utils import parseaddr

        address = parseaddr(value)[1]
        if "@" not in address:
            raise ValueError('expected an address such as "Roster <invitations@example.org>"')
        if not address.rpartition("@")[0].isascii():
            raise ValueError("expected an address whose part before the @ is ASCII")
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if len(value.strip()) < MIN_SECRET_KEY:
            raise ValueError(f"expected at least {MIN_SECRET_KEY} random characters")
        return value.strip()

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        if value is not None:
            check_http_url(value)
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        check_public_url(value)
        return value

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
    try:
        return Settings(**flags)
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        source = source_of(name, flags)
        value = shown(name, first.get("input"))[:80]
        expected = first["msg"].removeprefix("Value error, ")
        expected = expected[:1].lower() + expected[1:]
        raise bad_setting(name, source, value, expected) from None


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
