"""The bot with both channels, built by the production factories, in-process: Telegram is the fake Telegram
server and Zalo the fake Zalo server, both over HTTP; Zalo's updates are long-polled as in production."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiohttp import web

from bot.app import attach_zalo, create_bots, create_dispatcher
from bot.files import FileLinks
from bot.settings import Settings
from channels.zalo.polling import ZaloPoller
from channels.zalo.session import ZaloSession
from channels.zalo.updates import Inbound
from storage.db import Database
from storage.migrate import upgrade
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo


@dataclass
class TwoChannels:
    fake: FakeTelegram
    zalo: FakeZalo
    db: Database
    telegram: Bot  # the first bot: Telegram's, or Zalo's when Telegram is off
    zbot: Bot
    dp: Dispatcher
    inbound: Inbound
    poller: ZaloPoller
    stop: asyncio.Event
    task: asyncio.Task[None]


def settings_for(db_url: str, fake: FakeTelegram, zalo: FakeZalo, **extra: Any) -> Settings:
    """Both channels; ``bot_token=None`` leaves Telegram off (Zalo alone)."""
    given: dict[str, Any] = {"bot_token": fake.token, **extra}
    return Settings(
        _env_file=None,
        database_url=db_url,  # type: ignore[call-arg]
        telegram_api_base=fake.base_url,
        zalo_bot_token=zalo.token,
        zalo_api_base=zalo.base,
        **given,
    )


async def start_two(
    fake: FakeTelegram, zalo: FakeZalo, settings: Settings, files_base: str | None = None
) -> TwoChannels:
    db = Database(settings.database_url)
    await db.start()
    await upgrade(db.engine)
    bots = create_bots(settings)
    telegram, zbot = bots[0], bots[-1]  # with Zalo alone, the first bot (the one that starts the app) is Zalo's
    assert isinstance(zbot.session, ZaloSession)
    dp = create_dispatcher(settings, db)
    files = FileLinks(db, files_base) if files_base else None
    inbound = attach_zalo(dp, zbot, db, files)
    await dp.emit_startup(bot=telegram)
    poller = ZaloPoller(inbound, zbot.session.zalo, timeout=1, **dp.workflow_data)
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    return TwoChannels(fake, zalo, db, telegram, zbot, dp, inbound, poller, stop, task)


async def stop_two(app: TwoChannels) -> None:
    app.stop.set()
    await app.task
    await app.poller.drain(5)
    await app.dp.emit_shutdown(bot=app.telegram)
    for bot in (app.telegram, app.zbot) if app.telegram is not app.zbot else (app.zbot,):
        await bot.session.close()
    await app.db.close()


@asynccontextmanager
async def serving_files(fake: FakeTelegram, zalo: FakeZalo, db_url: str, **extra: Any) -> AsyncIterator[TwoChannels]:
    """The bot with PUBLIC_BASE_URL set and /files/… served from its own routes, as `sangkien run` serves them: a
    photo on Zalo goes out as a link the fake platform downloads. ``extra``: more settings (bot_token=None)."""
    runner = web.AppRunner(web.Application())  # a free port for PUBLIC_BASE_URL, before the bot is built
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    await runner.cleanup()
    base = f"http://127.0.0.1:{port}"
    app = await start_two(fake, zalo, settings_for(db_url, fake, zalo, public_base_url=base, **extra), base)
    server = web.Application()
    FileLinks(app.db, base).add_routes(server)
    runner = web.AppRunner(server)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield app
    finally:
        await stop_two(app)
        await runner.cleanup()
