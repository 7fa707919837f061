"""Settings: ROSTER_* environment variables, then the TOML config file, then defaults.

The config file is `config.toml` in the user config directory (platformdirs), for example:

    api_url = "https://roster.example.org"
    token = "rst_..."
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from platformdirs import user_config_path, user_data_path
from pydantic import field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE = user_config_path("roster") / "config.toml"


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
    # How long a transiently failing email (server down, 4xx) is retried, from when it was
    # queued: seconds or an ISO 8601 duration. A 5xx reply fails it at once.
    mail_retry_window: timedelta = timedelta(hours=24)
    # Intake limits.
    max_file_bytes: int = 200_000_000
    max_rows: int = 1_000_000

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

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'roster.db'}"

    def resolved_mail_url(self) -> str:
        return self.mail_url or f"maildir://{self.data_dir / 'outbox'}"
