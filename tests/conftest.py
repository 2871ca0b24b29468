from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import Update

from bot.app import create_bot, create_dispatcher
from bot.settings import Settings
from storage.db import Database
from storage.migrate import upgrade
from storage.unit_files import read_units
from storage.units import import_units
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo
from tests.tgclient import TgUser
from tests.zalo_app import TwoChannels, serving_files, settings_for, start_two, stop_two

ROOT = Path(__file__).resolve().parent.parent
UNITS_CSV = Path(__file__).parent / "data" / "units.csv"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The tests never read the developer's own settings (DATABASE_URL, REDIS_URL, BOT_TOKEN, …): each test passes
# what it needs, and processes it starts inherit this cleaned environment.
for _name in Settings.model_fields:
    os.environ.pop(_name.upper(), None)


def service_missing(what: str, reason: str) -> None:
    """Skip with a visible reason on a developer machine; fail under CI, where the service must be there."""
    message = f"{what} is not reachable ({reason})"
    if IN_CI:
        pytest.fail(message + "; CI=true requires it")
    pytest.skip(message)


PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _redis_test_url() -> str:
    """Redis database 15 (or TEST_REDIS_URL's), one lower for each parallel test worker (gw1: 14, …), so workers
    never empty each other's database."""
    from urllib.parse import urlsplit, urlunsplit

    base = urlsplit(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    db = int(base.path.strip("/") or 15) - worker
    if db < 1:  # database 0 is everybody's default: never empty it
        raise RuntimeError(f"parallel test worker {worker} would use Redis database {db}: run fewer workers "
                           "(pytest -n) or give TEST_REDIS_URL a higher database number")  # fmt: skip
    return urlunsplit(base._replace(path=f"/{db}"))


REDIS_TEST_URL = _redis_test_url()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test (dropped afterwards), as a SQLAlchemy asyncpg URL."""
    import uuid

    import asyncpg

    try:
        admin = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        service_missing(f"PostgreSQL at {PG_ADMIN_URL}", str(exc))
    name = f"sangkien_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """Redis database 15, emptied before and after the test."""
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=3)
    try:
        await client.ping()
    except (OSError, RedisError) as exc:
        await client.aclose()
        service_missing(f"Redis at {REDIS_TEST_URL}", str(exc))
    await client.flushdb()
    yield REDIS_TEST_URL
    await client.flushdb()
    await client.aclose()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with the test units, built once and copied for each test."""
    import asyncio

    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await db.start()
        await upgrade(db.engine)
        await import_units(db, read_units(UNITS_CSV))
        await db.close()

    asyncio.run(build())
    return path


@pytest.fixture
def db_path(tmp_path: Path, template_db: Path) -> Path:
    target = tmp_path / "sangkien.db"
    shutil.copy(template_db, target)
    return target


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()


def make_settings(db_url: str, fake: FakeTelegram, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,
        bot_token=fake.token,
        database_url=db_url,  # type: ignore[call-arg]
        telegram_api_base=fake.base_url,
        **extra,
    )


class App:
    """The bot built by the production factories, fed updates in-process; Telegram is the fake server."""

    def __init__(self, fake: FakeTelegram, db: Database, bot: Bot, dp: Dispatcher) -> None:
        self.fake, self.db, self.bot, self.dp = fake, db, bot, dp
        self._users = 0

    async def deliver(self, update: dict[str, Any], user: TgUser, expect: int) -> None:
        full = {"update_id": self.fake.next_update_id(), **update}
        await self.dp.feed_update(self.bot, Update.model_validate(full, context={"bot": self.bot}))
        # The notices this update queued go out now, as the sender would send them a moment later: what the test
        # reads next is what the people would see once the bot has caught up (no race with the sender's task).
        outbox = self.dp.workflow_data.get("outbox")
        if outbox is not None:
            await outbox.settle()

    def user(self, user_id: int | None = None, **kwargs: Any) -> TgUser:
        self._users += 1
        return TgUser(self.fake, self.deliver, user_id or 10_000 + self._users, **kwargs)


async def build_app(fake: FakeTelegram, settings: Settings, *, units: bool = False) -> App:
    db = Database(settings.database_url)
    await db.start()
    await upgrade(db.engine)
    if units:
        await import_units(db, read_units(UNITS_CSV))
    bot = create_bot(settings)
    dp = create_dispatcher(settings, db)
    await dp.emit_startup(bot=bot)
    return App(fake, db, bot, dp)


async def close_app(app: App) -> None:
    await app.dp.emit_shutdown(bot=app.bot)
    await app.bot.session.close()
    await app.db.close()


@pytest.fixture
async def app(fake: FakeTelegram, db_path: Path) -> AsyncIterator[App]:
    application = await build_app(fake, make_settings(f"sqlite+aiosqlite:///{db_path}", fake))
    yield application
    await close_app(application)


async def register(user: TgUser, *, lang: str = "vi", unit_query: str = "cấp nước") -> None:
    """Walk /start to the end, as a worker would: the language is the Telegram app's (a button switches it), the
    name is the suggested one, the unit is found by a few words."""
    await user.send("/start", expect=2)
    if lang != user.user["language_code"]:
        await user.click("Tiếng Việt" if lang == "vi" else "English")
    await user.click(user.last.button_texts()[0])
    await user.send(unit_query)
    await user.click(user.last.button_texts()[0])


@pytest.fixture
async def worker(app: App) -> TgUser:
    user = app.user()
    await register(user)
    return user


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZalo]:
    server = FakeZalo()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def two(fake: FakeTelegram, zalo: FakeZalo, db_path: Path) -> AsyncIterator[TwoChannels]:
    app = await start_two(fake, zalo, settings_for(f"sqlite+aiosqlite:///{db_path}", fake, zalo))
    yield app
    await stop_two(app)


@pytest.fixture
async def two_files(fake: FakeTelegram, zalo: FakeZalo, db_path: Path) -> AsyncIterator[TwoChannels]:
    """Both channels, with PUBLIC_BASE_URL and the /files/… links served (charts and QR codes on Zalo)."""
    async with serving_files(fake, zalo, f"sqlite+aiosqlite:///{db_path}") as app:
        yield app
