"""Long polling (the default) or webhooks: migrations first, then updates until SIGINT/SIGTERM; updates in
flight are finished."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.redis import RedisStorage
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.app import create_bot, create_dispatcher
from bot.metrics import ApiRetryCounter, Metrics
from bot.polling import Poller
from bot.settings import Settings
from bot.webhook import Health, TelegramWebhook, WebhookServer
from handlers.officer.digest import send_weekly
from handlers.team.reminders import send_reminders
from storage.db import Database
from storage.handled import claim_slot, prune_stmt
from storage.migrate import open_migrated
from storage.unit_files import no_units_warning

log = logging.getLogger(__name__)


async def open_database(settings: Settings) -> Database:
    return await open_migrated(settings.database_url, settings.busy_timeout_ms)


async def prune_handled(db: Database) -> None:
    await db.write_unmarked(prune_stmt())


def once(name: str, job: Callable[..., Awaitable[Any]], db: Database, tz: ZoneInfo) -> Callable[..., Awaitable[None]]:
    """The job, run by whichever worker claims this minute's slot first (every worker's scheduler fires it)."""

    async def run(**kwargs: Any) -> None:
        if await claim_slot(db, name, datetime.now(tz).strftime("%Y-%m-%dT%H:%M")):
            await job(**kwargs)
        else:
            log.info("scheduled %s: another worker runs it this time", name)

    return run


def schedule(scheduler: AsyncIOScheduler, bot: Bot, db: Database, dp: Dispatcher, tz: ZoneInfo) -> None:
    jobs = {"bot": bot, "db": db, "i18n": dp["i18n"], "tz": tz}
    scheduler.add_job(once("reminders", send_reminders, db, tz), CronTrigger(minute=0), kwargs=jobs)
    weekly = CronTrigger(day_of_week="mon", hour=8, minute=5)
    scheduler.add_job(once("weekly", send_weekly, db, tz), weekly, kwargs=jobs)
    scheduler.add_job(once("prune", prune_handled, db, tz), CronTrigger(hour=3, minute=17), kwargs={"db": db})


async def poll(dp: Dispatcher, bot: Bot, grace: float) -> None:
    """Poll until SIGINT/SIGTERM, then let the updates in flight finish and confirm them."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    poller = Poller(dp, bot, allowed_updates=dp.resolve_used_update_types(), **dp.workflow_data)
    me = await bot.me()
    log.info("polling as @%s (id %s); an update is confirmed only after it is handled", me.username, me.id)
    try:
        await poller.run(stop)
    finally:
        log.info("stopping: finishing %d update(s) in flight", len(poller.running))
        await poller.drain(grace)


async def drop_webhook(bot: Bot) -> None:
    """Long polling does not work while a webhook is set (after ``run --webhook``): remove it, keeping updates."""
    try:
        if (await bot.get_webhook_info()).url:
            await bot.delete_webhook(drop_pending_updates=False)
            log.info("the webhook was removed: this process polls")
    except Exception as exc:
        log.warning("could not check or remove the webhook (%s); polling may fail while one is set", exc)


@asynccontextmanager
async def started(settings: Settings, db: Database, bot: Bot, mode: str) -> AsyncIterator[Dispatcher]:
    """The dispatcher with its scheduled jobs, started; on the way out it is shut down and everything closed."""
    tz = ZoneInfo(settings.timezone)
    scheduler = AsyncIOScheduler(timezone=tz)
    try:
        dp = create_dispatcher(settings, db)
        schedule(scheduler, bot, db, dp, tz)
        scheduler.start()
        if warning := await no_units_warning(db):
            log.warning(warning)
        log.info("database %s ready; starting %s", db.safe_url, mode)
        await dp.emit_startup(bot=bot, **dp.workflow_data)
        try:
            yield dp
        finally:
            await dp.emit_shutdown(bot=bot, **dp.workflow_data)
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await bot.session.close()
        await db.close()
    log.info("stopped cleanly")


async def run_polling(settings: Settings) -> None:
    settings.token()  # fail fast, before touching the database
    db = await open_database(settings)
    bot = create_bot(settings)
    async with started(settings, db, bot, "long polling") as dp:
        await drop_webhook(bot)
        await poll(dp, bot, settings.shutdown_grace_s)


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def run_webhook(settings: Settings) -> None:
    """Webhook mode: migrations, the server (webhooks, /healthz, /metrics), setWebhook; until SIGINT/SIGTERM,
    then no new deliveries are accepted and those in flight finish. A refused setWebhook raises WebhookRefused.
    The webhook is left set on exit: Telegram keeps the updates until this or another worker answers."""
    base_url, secret = settings.webhook()  # fail fast, before touching the database
    settings.token()
    stop = stop_on_signals()
    db = await open_database(settings)
    bot = create_bot(settings)
    metrics = Metrics()
    bot.session.middleware(ApiRetryCounter(metrics))  # after the group pacing, so each retried attempt counts
    metrics.watch_outbox(db)
    async with started(settings, db, bot, "the webhook server") as dp:
        telegram = TelegramWebhook(dp, bot, secret, metrics)
        redis = dp.storage.redis if isinstance(dp.storage, RedisStorage) else None
        server = WebhookServer([telegram], Health(db, redis), metrics, host=settings.webhook_host,
                               port=settings.webhook_port, grace=settings.shutdown_grace_s)  # fmt: skip
        await server.start()
        try:
            url = await telegram.register(base_url, secret)
            log.info("webhook set: Telegram delivers to %s; a delivery is answered only after it is handled", url)
            await stop.wait()
        finally:
            await server.stop()
