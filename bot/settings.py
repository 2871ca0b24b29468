"""Settings from the environment or ``.env`` (pydantic-settings). Nothing is read at import time, and nothing of
aiogram is imported, so the ``sangkien`` commands that do not talk to Telegram start quickly."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
TOKEN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
ZALO_SECRET_MIN = 8  # Zalo's setWebhook takes a secret_token of 8 to 256 characters
LOCAL_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
PROXY_SCHEMES = ("http", "socks4", "socks5")
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


def check_token(value: str | None, name: str = "BOT_TOKEN", source: str = "@BotFather") -> str:
    """The token, stripped; raises ValueError with a one-line reason (the same rule as aiogram's, plus refusing
    placeholders and characters a token never has). Zalo's bot tokens have the same shape."""
    token = (value or "").strip()
    if not token:
        raise ValueError(f"{name} is not set (put it in the environment or in .env)")
    left, sep, key = token.partition(":")
    if any(word in key.lower() for word in PLACEHOLDER_WORDS):
        raise ValueError(f"{name} is still a placeholder: put the token {source} gave you in {name} in .env")
    if not sep or not left.isdigit() or not TOKEN_KEY.match(key):
        raise ValueError(f"{name} is malformed: expected digits, a colon and a key, like 123456:ABC-def")
    return token


PROJECT_NAME = "sangkien-bot"  # [project] name in this project's pyproject.toml
SYSTEM_DATA_DIR = Path("/var/lib/sangkien")
DATABASE_FILE = "sangkien.db"


def is_checkout(folder: Path) -> bool:
    """Whether ``folder`` is a checkout of this project: its pyproject.toml names the project."""
    try:
        with (folder / "pyproject.toml").open("rb") as file:
            return tomllib.load(file).get("project", {}).get("name") == PROJECT_NAME
    except (OSError, tomllib.TOMLDecodeError):
        return False


def data_dir(configured: Path | None = None) -> Path:
    """The folder of the default SQLite database, absolute, never a surprise of the folder a service starts in:
    1. SANGKIEN_DATA_DIR when it is set (a relative one is taken from the current folder);
    2. ``data`` in the current folder when that is a checkout of this project (``make run``);
    3. /var/lib/sangkien when it exists and may be written (a server: the systemd unit's StateDirectory);
    4. otherwise ``$XDG_DATA_HOME/sangkien``, that is ``~/.local/share/sangkien``."""
    if configured is not None:
        return Path(os.path.abspath(configured.expanduser()))
    here = Path.cwd()
    if is_checkout(here):
        return here / "data"
    if SYSTEM_DATA_DIR.is_dir() and os.access(SYSTEM_DATA_DIR, os.W_OK | os.X_OK):
        return SYSTEM_DATA_DIR
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "sangkien"


def check_proxy(value: str) -> str:
    """A proxy URL aiohttp-socks can use (``http://``, ``socks4://``, ``socks5://``, with a port); raises
    ValueError with a one-line reason that never echoes a password."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        port, parts = None, None
    if parts is None or parts.scheme.lower() not in PROXY_SCHEMES or not parts.hostname or port is None:
        raise ValueError(
            "TELEGRAM_PROXY must be http://host:port, socks5://host:port or socks4://host:port "
            "(with user:password@ before the host if the proxy needs it)"
        )
    return value


def check_public_base_url(value: str | None) -> str:
    """PUBLIC_BASE_URL without its trailing slash; raises ValueError with a one-line reason."""
    from urllib.parse import urlsplit

    if not value:
        raise ValueError(
            "PUBLIC_BASE_URL is not set: webhook mode needs the address Telegram calls, e.g. https://bot.example.org"
        )
    try:
        parts = urlsplit(value)
        _port = parts.port  # a port that is not a number raises ValueError
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("PUBLIC_BASE_URL must be an address like https://bot.example.org (with https://)")
    return value.rstrip("/")


def plain_http_warning(public_base_url: str | None, zalo_on: bool) -> str | None:
    """What to log when Zalo is to fetch the bot's file links over plain HTTP from an address that is not this
    host's own (a local address is a test's: nothing to warn about)."""
    from urllib.parse import urlsplit

    if not zalo_on or not public_base_url:
        return None
    parts = urlsplit(public_base_url)
    if parts.scheme == "https" or parts.hostname in LOCAL_HOSTS:
        return None
    return (
        f"PUBLIC_BASE_URL is {parts.scheme}://, not https://: Zalo may refuse the pictures the bot sends as links "
        "to it (charts, attachments); put the bot behind HTTPS"
    )


def check_webhook_secret(value: str | None) -> str:
    """The webhook's secret token (Telegram allows 1-256 of A-Z, a-z, 0-9, _ and -); raises ValueError."""
    secret = (value or "").strip()
    if not secret:
        raise ValueError(
            "WEBHOOK_SECRET is not set: webhook mode needs a secret token, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    if not WEBHOOK_SECRET.match(secret):
        raise ValueError("WEBHOOK_SECRET may only have letters, digits, _ and - (1 to 256 of them)")
    return secret


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    sangkien_data_dir: Path | None = None
    database_url: str = ""  # not set: sangkien.db in data_dir(), as an absolute path (see _default_database)
    telegram_api_base: str | None = None
    redis_url: str | None = None
    default_language: Literal["vi", "en"] = "vi"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    timezone: str = "Asia/Ho_Chi_Minh"
    # what counts toward a quota: initiatives the team checked, those recognised by their workplace (the programme's
    # rule), or only those uploaded to the TLĐ system
    count_toward_quota: Literal["checked", "recognised", "uploaded"] = "recognised"
    busy_timeout_ms: int = 5000
    database_pool_size: int = Field(default=10, ge=1)  # PostgreSQL: connections kept open per worker (twice at peaks)
    shutdown_grace_s: float = 20.0
    group_messages_per_minute: int = 20
    admin_ids: Annotated[list[int], NoDecode] = []
    fields_of_work: Annotated[list[str], NoDecode] = []
    locales_dir: Path = ROOT / "locales"
    field_templates_dir: Path | None = None  # help and examples per field of work; None: the built-in forms/fields
    # webhook mode (`sangkien run --webhook`)
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8080
    public_base_url: str | None = None
    webhook_secret: SecretStr | None = None
    telegram_proxy: str | None = None
    # the Zalo channel (Zalo Bot Platform), on when its token is set
    zalo_bot_token: SecretStr | None = None
    zalo_api_base: str | None = None

    @field_validator("admin_ids", "fields_of_work", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return ""  # DATABASE_URL= left empty (an env file's blank line) means the default
        return database_url(value) if isinstance(value, str) else value

    @field_validator("sangkien_data_dir", "field_templates_dir", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _default_database(self) -> Self:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{data_dir(self.sangkien_data_dir) / DATABASE_FILE}"
        return self

    @field_validator("telegram_proxy", "public_base_url", "zalo_api_base", "telegram_api_base", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return (value.strip() or None) if isinstance(value, str) else value

    @field_validator("telegram_proxy")
    @classmethod
    def _proxy(cls, value: str | None) -> str | None:
        return None if value is None else check_proxy(value)

    @field_validator("public_base_url")
    @classmethod
    def _public_base_url(cls, value: str | None) -> str | None:
        return None if value is None else check_public_base_url(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def webhook(self) -> tuple[str, str]:
        """The public base URL and the secret token of webhook mode, checked; raises ValueError with a one-line
        reason."""
        base_url = check_public_base_url(self.public_base_url)
        secret = check_webhook_secret(None if self.webhook_secret is None else self.webhook_secret.get_secret_value())
        if self.zalo_on and len(secret) < ZALO_SECRET_MIN:
            raise ValueError(
                f"WEBHOOK_SECRET is too short for Zalo's webhook: {len(secret)} characters, Zalo needs "
                f"{ZALO_SECRET_MIN} to 256 (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        return base_url, secret

    def token(self) -> str:
        """The bot token, checked; raises ValueError with a one-line reason."""
        return check_token(None if self.bot_token is None else self.bot_token.get_secret_value())

    @property
    def telegram_on(self) -> bool:
        return self.bot_token is not None and bool(self.bot_token.get_secret_value().strip())

    @property
    def zalo_on(self) -> bool:
        return self.zalo_bot_token is not None and bool(self.zalo_bot_token.get_secret_value().strip())

    def zalo_token(self) -> str:
        value = None if self.zalo_bot_token is None else self.zalo_bot_token.get_secret_value()
        return check_token(value, "ZALO_BOT_TOKEN", "the Zalo Bot Creator")

    def check_channels(self) -> None:
        """At least one channel, each token well formed; raises ValueError with a one-line reason."""
        if not self.telegram_on and not self.zalo_on:
            raise ValueError("BOT_TOKEN is not set (put it in the environment or in .env; ZALO_BOT_TOKEN for Zalo)")
        if self.telegram_on:
            self.token()
        if self.zalo_on:
            self.zalo_token()
