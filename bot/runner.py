"""Long polling: migrations first, then polling until SIGINT/SIGTERM; updates in flight are finished."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.app import create_bot, create_dispatcher
from bot.settings import Settings
from handlers.digest import send_weekly
from handlers.reminders import send_reminders
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
    scheduler = AsyncIOScheduler(timezone=ZoneInfo(settings.timezone))
    try:
        dp = create_dispatcher(settings, db)
        jobs = {"bot": bot, "db": db, "i18n": dp["i18n"], "tz": ZoneInfo(settings.timezone)}
        scheduler.add_job(send_reminders, CronTrigger(minute=0), kwargs=jobs)
        scheduler.add_job(send_weekly, CronTrigger(day_of_week="mon", hour=8, minute=5), kwargs=jobs)
        scheduler.start()
        log.info("database %s ready; starting long polling", db.safe_url)
        await dp.start_polling(bot, allowed_updates=dp.resolve_used_update_types(), handle_signals=True)
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await bot.session.close()
        await db.close()
    log.info("stopped cleanly")
