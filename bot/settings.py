"""Settings from the environment or ``.env`` (pydantic-settings). Nothing is read at import time, and nothing of
aiogram is imported, so the ``sangkien`` commands that do not talk to Telegram start quickly."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
TOKEN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
# What a placeholder says instead of a key (.env.example, tutorials); a real key is random letters and digits.
PLACEHOLDER_WORDS = ("replace", "botfather", "your_token", "your-token", "yourtoken", "changeme", "example")
URL_EXAMPLES = "sqlite+aiosqlite:///./data/sangkien.db or postgresql+asyncpg://user:password@host:5432/name"
# the URL schemes people write, and the async driver the bot uses for each
SCHEMES = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def database_url(value: str) -> str:
    """The URL with the bot's async driver (``postgresql://`` and ``postgres://`` become ``postgresql+asyncpg://``,
    ``sqlite://`` becomes ``sqlite+aiosqlite://``); raises ValueError with a one-line reason, never echoing a
    password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    url = value.strip()
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme:
        raise ValueError(f"DATABASE_URL is not a database URL; write it like {URL_EXAMPLES}")
    driver = SCHEMES.get(scheme.lower())
    if driver is None:
        shown = scheme if re.fullmatch(r"[A-Za-z0-9+._-]{1,40}", scheme) else "a scheme"  # never a password
        raise ValueError(
            f"DATABASE_URL uses {shown}://, which the bot does not support; it needs SQLite or PostgreSQL, e.g. "
            f"{URL_EXAMPLES}"
        )
    url = f"{driver}://{rest}"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ValueError(f"DATABASE_URL cannot be read (is the port a number?); write it like {URL_EXAMPLES}") from None
    if driver.startswith("sqlite") and (parsed.host or not parsed.database):
        raise ValueError(
            "DATABASE_URL for SQLite needs three slashes before a relative path, e.g. sqlite+aiosqlite:///./data/sangkien.db"
        )
    return url


def check_token(value: str | None) -> str:
    """The token, stripped; raises ValueError with a one-line reason (the same rule as aiogram's, plus refusing
    placeholders and characters a token never has)."""
    token = (value or "").strip()
    if not token:
        raise ValueError("BOT_TOKEN is not set (put it in the environment or in .env)")
    left, sep, key = token.partition(":")
    if any(word in key.lower() for word in PLACEHOLDER_WORDS):
        raise ValueError("BOT_TOKEN is still a placeholder: put the token @BotFather gave you in BOT_TOKEN in .env")
    if not sep or not left.isdigit() or not TOKEN_KEY.match(key):
        raise ValueError("BOT_TOKEN is malformed: expected digits, a colon and a key, like 123456:ABC-def")
    return token


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

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: object) -> object:
        return database_url(value) if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def token(self) -> str:
        """The bot token, checked; raises ValueError with a one-line reason."""
        return check_token(None if self.bot_token is None else self.bot_token.get_secret_value())
