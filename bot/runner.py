"""Long polling: migrations first, then polling until SIGINT/SIGTERM; updates in flight are finished."""

from __future__ import annotations

import logging

from bot.app import create_bot, create_dispatcher
from bot.settings import Settings
from storage.db import Database
from storage.migrate import upgrade

log = logging.getLogger(__name__)


async def open_database(settings: Settings) -> Database:
    db = Database(settings.database_url, busy_timeout_ms=settings.busy_timeout_ms)
    await db.start()
    try:
        await upgrade(db.engine)
    except BaseException:
        await db.close()
        raise
    return db


async def run_polling(settings: Settings) -> None:
    settings.token()  # fail fast, before touching the database
    db = await open_database(settings)
    bot = create_bot(settings)
    try:
        dp = create_dispatcher(settings, db)
        log.info("database %s ready; starting long polling", db.safe_url)
        await dp.start_polling(bot, allowed_updates=dp.resolve_used_update_types(), handle_signals=True)
    finally:
        await bot.session.close()
        await db.close()
    log.info("stopped cleanly")
