"""Settings from the environment or ``.env`` (pydantic-settings). Nothing is read at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from aiogram.utils.token import TokenValidationError, validate_token
from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    database_url: str = "sqlite+aiosqlite:///./data/sangkien.db"
    telegram_api_base: str | None = None
    redis_url: str | None = None
    default_language: Literal["vi", "en"] = "vi"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    timezone: str = "Asia/Ho_Chi_Minh"
    busy_timeout_ms: int = 5000
    shutdown_grace_s: float = 20.0
    group_messages_per_minute: int = 20
    admin_ids: Annotated[list[int], NoDecode] = []
    fields_of_work: Annotated[list[str], NoDecode] = []
    locales_dir: Path = ROOT / "locales"

    @field_validator("admin_ids", "fields_of_work", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def token(self) -> str:
        """The bot token, checked; raises ValueError with a one-line reason."""
        if self.bot_token is None or not self.bot_token.get_secret_value().strip():
            raise ValueError("BOT_TOKEN is not set (put it in the environment or in .env)")
        value = self.bot_token.get_secret_value().strip()
        try:
            validate_token(value)
        except TokenValidationError as exc:
            raise ValueError("BOT_TOKEN is malformed: expected digits, a colon and a key, like 123456:ABC-def") from exc
        return value
