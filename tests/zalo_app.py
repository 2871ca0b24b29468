"""The bot with both channels, built by the production factories, in-process: Telegram is the fake Telegram
server and Zalo the fake Zalo server, both over HTTP; Zalo's updates are long-polled as in production."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher

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
    telegram: Bot
    zbot: Bot
    dp: Dispatcher
    inbound: Inbound
    poller: ZaloPoller
    stop: asyncio.Event
    task: asyncio.Task[None]


def settings_for(db_url: str, fake: FakeTelegram, zalo: FakeZalo, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,
        bot_token=fake.token,
        database_url=db_url,  # type: ignore[call-arg]
        telegram_api_base=fake.base_url,
        zalo_bot_token=zalo.token,
        zalo_api_base=zalo.base,
        **extra,
    )


async def start_two(
    fake: FakeTelegram, zalo: FakeZalo, settings: Settings, files_base: str | None = None
) -> TwoChannels:
    db = Database(settings.database_url)
    await db.start()
    await upgrade(db.engine)
    telegram, zbot = create_bots(settings)
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
    for bot in (app.telegram, app.zbot):
        await bot.session.close()
    await app.db.close()
