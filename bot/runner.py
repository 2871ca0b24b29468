"""Long polling (the default) or webhooks: migrations first, then updates until SIGINT/SIGTERM; updates in
flight are finished."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.redis import RedisStorage
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.app import attach_zalo, close_bot, create_bots, create_dispatcher
from bot.files import FileLinks
from bot.metrics import ApiRetryCounter, Metrics
from bot.polling import Poller
from bot.settings import Settings, plain_http_warning
from bot.webhook import Channel, Health, TelegramWebhook, WebhookServer, ZaloWebhook
from channels.zalo.api import ZaloApi, ZaloError, ZaloNetworkError
from channels.zalo.polling import ZaloPoller
from channels.zalo.session import ZaloSession
from channels.zalo.updates import Inbound
from handlers.officer.digest import send_weekly
from handlers.team.reminders import send_reminders
from storage.db import Database
from storage.files import prune_files
from storage.handled import claim_slot, prune_stmt
from storage.migrate import open_migrated
from storage.unit_files import no_units_warning

log = logging.getLogger(__name__)


async def open_database(settings: Settings) -> Database:
    return await open_migrated(settings.database_url, settings.busy_timeout_ms, settings.database_pool_size)


async def prune_handled(db: Database) -> None:
    """Forget old handled-update keys and expired file links."""
    await db.write_unmarked(prune_stmt())
    await prune_files(db)


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


async def poll(dp: Dispatcher, bot: Bot, stop: asyncio.Event, grace: float) -> None:
    """Poll Telegram until ``stop``, then let the updates in flight finish and confirm them."""
    poller = Poller(dp, bot, allowed_updates=dp.resolve_used_update_types(), **dp.workflow_data)
    me = await bot.me()
    log.info("polling Telegram as @%s (id %s); an update is confirmed only after it is handled", me.username, me.id)
    try:
        await poller.run(stop)
    finally:
        log.info("stopping: finishing %d Telegram update(s) in flight", len(poller.running))
        await poller.drain(grace)


async def poll_zalo(dp: Dispatcher, inbound: Inbound, api: ZaloApi, stop: asyncio.Event, grace: float) -> None:
    """Poll Zalo until ``stop``; each update is kept in the inbox until it is handled."""
    poller = ZaloPoller(inbound, api, **dp.workflow_data)
    me = await inbound.bot.me()
    log.info("polling Zalo as %s (id %s); an update is kept until it is handled", me.first_name, me.id)
    try:
        await poller.run(stop)
    finally:
        log.info("stopping: finishing %d Zalo update(s) in flight", len(poller.running))
        await poller.drain(grace)


async def drop_webhook(bot: Bot) -> None:
    """Long polling does not work while a webhook is set (after ``run --webhook``): remove it, keeping updates."""
    try:
        if (await bot.get_webhook_info()).url:
            await bot.delete_webhook(drop_pending_updates=False)
            log.info("the webhook was removed: this process polls")
    except Exception as exc:
        log.warning("could not check or remove the webhook (%s); polling may fail while one is set", exc)


async def drop_zalo_webhook(api: ZaloApi) -> None:
    try:
        if ((await api.call("getWebhookInfo")) or {}).get("url"):
            await api.call("deleteWebhook")
            log.info("Zalo's webhook was removed: this process polls Zalo")
    except (ZaloError, ZaloNetworkError) as exc:
        log.warning("could not check or remove Zalo's webhook (%s); polling Zalo may fail while one is set", exc)


@dataclass
class Running:
    """What ``started`` hands over: the dispatcher, the bots, the Zalo reader and the file links if configured."""

    dp: Dispatcher
    bots: list[Bot]
    inbound: Inbound | None
    files: FileLinks | None

    @property
    def telegram(self) -> Bot | None:
        return next((bot for bot in self.bots if not isinstance(bot.session, ZaloSession)), None)

    @property
    def zalo_api(self) -> ZaloApi:
        assert self.inbound is not None
        return self.inbound.session.zalo


@asynccontextmanager
async def started(settings: Settings, db: Database, bots: list[Bot], mode: str) -> AsyncIterator[Running]:
    """The dispatcher with its scheduled jobs, started; on the way out it is shut down and everything closed.
    The first bot is the one the outbox and the scheduled jobs send with (each reaches every channel)."""
    tz = ZoneInfo(settings.timezone)
    scheduler = AsyncIOScheduler(timezone=tz)
    bot = bots[0]
    try:
        dp = create_dispatcher(settings, db)
        files = FileLinks(db, settings.public_base_url) if settings.public_base_url else None
        zalo = next((b for b in bots if isinstance(b.session, ZaloSession)), None)
        inbound = attach_zalo(dp, zalo, db, files) if zalo is not None else None
        schedule(scheduler, bot, db, dp, tz)
        scheduler.start()
        if warning := await no_units_warning(db):
            log.warning(warning)
        if warning := plain_http_warning(settings.public_base_url, zalo is not None):
            log.warning(warning)
        log.info("database %s ready; starting %s", db.safe_url, mode)
        await dp.emit_startup(bot=bot, **dp.workflow_data)
        try:
            yield Running(dp, bots, inbound, files)
        finally:
            await dp.emit_shutdown(bot=bot, **dp.workflow_data)
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        for each in bots:
            await close_bot(each)
        await db.close()
    log.info("stopped cleanly")


async def run_polling(settings: Settings) -> None:
    """Poll every configured channel; with PUBLIC_BASE_URL also serve the file links (and /healthz, /metrics)."""
    settings.check_channels()  # fail fast, before touching the database
    stop = stop_on_signals()
    db = await open_database(settings)
    bots = create_bots(settings)
    async with started(settings, db, bots, "long polling") as run:
        server = None
        if run.files is not None:
            server = serve(settings, db, run, [], Metrics())
            await server.start()
        pollers = []
        if run.telegram is not None:
            await drop_webhook(run.telegram)
            pollers.append(poll(run.dp, run.telegram, stop, settings.shutdown_grace_s))
        if run.inbound is not None:
            await drop_zalo_webhook(run.zalo_api)
            pollers.append(poll_zalo(run.dp, run.inbound, run.zalo_api, stop, settings.shutdown_grace_s))
        try:
            await asyncio.gather(*pollers)
        finally:
            if server is not None:
                await server.stop()


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


def serve(
    settings: Settings, db: Database, run: Running, channels: Sequence[Channel], metrics: Metrics
) -> WebhookServer:
    """The one aiohttp server: the channels' webhooks, the file links, /healthz and /metrics."""
    redis = run.dp.storage.redis if isinstance(run.dp.storage, RedisStorage) else None
    return WebhookServer(channels, Health(db, redis), metrics, host=settings.webhook_host, port=settings.webhook_port,
                         grace=settings.shutdown_grace_s, files=run.files)  # fmt: skip


async def run_webhook(settings: Settings) -> None:
    """Webhook mode: migrations, the server (webhooks, file links, /healthz, /metrics), setWebhook on every
    channel; until SIGINT/SIGTERM, then no new deliveries are accepted and those in flight finish. A refused
    setWebhook raises WebhookRefused. The webhooks are left set on exit: the platforms keep the updates until
    this or another worker answers."""
    base_url, secret = settings.webhook()  # fail fast, before touching the database
    settings.check_channels()
    stop = stop_on_signals()
    db = await open_database(settings)
    bots = create_bots(settings)
    metrics = Metrics()
    for bot in bots:
        bot.session.middleware(ApiRetryCounter(metrics))  # after the group pacing, so each retried attempt counts
    metrics.watch_outbox(db)
    async with started(settings, db, bots, "the webhook server") as run:
        telegram = TelegramWebhook(run.dp, run.telegram, secret, metrics) if run.telegram is not None else None
        zalo = ZaloWebhook(run.dp, run.inbound, run.zalo_api, secret, metrics) if run.inbound is not None else None
        channels: list[TelegramWebhook | ZaloWebhook] = [c for c in (telegram, zalo) if c is not None]
        server = serve(settings, db, run, channels, metrics)
        await server.start()
        try:
            for channel in channels:
                url = await channel.register(base_url, secret)
                log.info("webhook set: %s delivers to %s; a delivery is answered only after it is handled",
                         channel.name, url)  # fmt: skip
            await stop.wait()
        finally:
            await server.stop()
