"""Factories: the Bot, the Dispatcher with its storage, isolation, middlewares and routers."""

from __future__ import annotations

import logging
from datetime import date
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis

from bot.commands import set_commands
from bot.files import FileLinks, mime_for
from bot.i18n import LocaleMiddleware, create_i18n
from bot.isolation import WatchdogRedisEventIsolation
from bot.middlewares import HandledUpdates, InFlight, MemberMiddleware
from bot.outbox import Sender
from bot.pacing import GroupPacing
from bot.settings import Settings
from channels.routing import ChannelRoute, connect
from channels.zalo.api import ZaloApi
from channels.zalo.menus import Menus
from channels.zalo.session import ZaloSession
from channels.zalo.updates import Inbound
from forms.engine import Form
from forms.field_templates import FIELDS_DIR, match_templates
from forms.template import DEFAULT_FIELDS_OF_WORK, Choice, build_fields
from forms.template_files import load_templates
from forms.text import normalize
from handlers import routers
from handlers.delivery import Delivery
from storage.channels import external_id
from storage.db import Database
from storage.fsm import SqlStorage
from storage.outbox import release_claims

log = logging.getLogger(__name__)


class ApiSession(AiohttpSession):
    """aiogram's session. Its ``close`` waits 250 ms for TLS connections to shut down; a Bot API server reached
    over plain http (a local server, or the tests' fake) has none, so there it closes at once."""

    async def close(self) -> None:
        if self.api.base.startswith("http://") and self._session is not None and not self._session.closed:
            await self._session.close()
            return
        await super().close()


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    if session is None and (settings.telegram_api_base or settings.telegram_proxy):
        api = TelegramAPIServer.from_base(settings.telegram_api_base) if settings.telegram_api_base else PRODUCTION
        session = ApiSession(api=api, proxy=settings.telegram_proxy)  # a proxy needs aiohttp-socks
    bot = Bot(settings.token(), session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    bot.session.middleware(ChannelRoute("telegram"))  # first: another channel's chat goes to that channel's bot
    bot.session.middleware(pacing(settings))
    return bot


def pacing(settings: Settings) -> GroupPacing:
    """The send pace; with REDIS_URL shared by every worker of the bot (its client is closed with the bot)."""
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    return GroupPacing(per_minute=settings.group_messages_per_minute, redis=redis)


async def close_bot(bot: Bot) -> None:
    for middleware in bot.session.middleware:
        if isinstance(middleware, GroupPacing) and middleware.redis is not None:
            await middleware.redis.aclose()
    await bot.session.close()


def create_zalo_bot(settings: Settings) -> Bot:
    """The Zalo channel as an aiogram Bot: the handlers' calls take their Zalo form in ``ZaloSession``."""
    token = settings.zalo_token()
    bot = Bot(token, session=ZaloSession(ZaloApi(token, settings.zalo_api_base)),
              default=DefaultBotProperties(parse_mode=ParseMode.HTML))  # fmt: skip
    bot.session.middleware(ChannelRoute("zalo"))
    bot.session.middleware(pacing(settings))
    return bot


def create_bots(settings: Settings) -> list[Bot]:
    """The bot of every configured channel, Telegram first; each reaches the others' chats."""
    bots = ([create_bot(settings)] if settings.telegram_on else []) + (
        [create_zalo_bot(settings)] if settings.zalo_on else []
    )
    connect(bots)
    return bots


def attach_zalo(dp: Dispatcher, bot: Bot, db: Database, files: FileLinks | None) -> Inbound:
    """Give the Zalo session what it needs from the dispatcher (menus in the shared state storage, addresses,
    file links) and return the reader of Zalo's updates."""
    assert isinstance(bot.session, ZaloSession)
    menus = Menus(dp.storage, bot.id)

    async def link(data: bytes, name: str) -> str:
        assert files is not None
        return await files.link(data, name, mime_for(name))

    bot.session.attach(menus=menus, resolve=partial(external_id, db), link=link if files else None)
    return Inbound(dp, bot, db, menus)


_FORMS: dict[tuple[object, ...], Form] = {}  # read once per process for the same settings and files


def create_form(settings: Settings) -> Form:
    """The template, with the help and examples of each field of work (FIELD_TEMPLATES_DIR, or the built-in
    ones); a bad template file raises TemplateError (a ValueError: one line, exit status 2). The same settings and
    unchanged files on the same day give the same (read-only) form without reading the files again."""
    folder = settings.field_templates_dir or FIELDS_DIR
    files = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(folder.glob("*.toml")))
    key = (tuple(settings.fields_of_work), str(folder), files, date.today())
    if key not in _FORMS:
        _FORMS.clear()
        _FORMS[key] = _read_form(settings, folder)
    return _FORMS[key]


def _read_form(settings: Settings, folder: Path) -> Form:
    fields = tuple(Choice(f"c{i}", normalize(name), translate=False) for i, name in enumerate(settings.fields_of_work))
    built = build_fields(fields or DEFAULT_FIELDS_OF_WORK)
    if folder == FIELDS_DIR and not folder.is_dir():  # an install without the data files: the general examples
        log.warning("no field templates at %s; every field of work gets the general examples", folder)
        return Form(built)
    matched = match_templates(built, load_templates(folder, built))
    unmatched = [c.label for c in fields if c.key not in matched]
    if unmatched:  # a configured field no file names: its workers see the general examples
        log.info("fields of work without a template (general examples): %s", ", ".join(unmatched))
    return Form(built, matched)


def create_storage(settings: Settings, db: Database) -> tuple[BaseStorage, BaseEventIsolation]:
    """Redis when configured (several workers share state and per-user locks), else our database."""
    if settings.redis_url:
        storage = RedisStorage.from_url(settings.redis_url)
        return storage, WatchdogRedisEventIsolation(storage.redis)  # a killed worker's lock lapses in seconds
    return SqlStorage(db), SimpleEventIsolation()


def create_dispatcher(
    settings: Settings, db: Database, *, storage: BaseStorage | None = None, isolation: BaseEventIsolation | None = None
) -> Dispatcher:
    if storage is None:
        storage, isolation = create_storage(settings, db)
    i18n = create_i18n(settings.locales_dir, settings.default_language)
    db.count_basis = settings.count_toward_quota  # every tally read counts the same way
    inflight = InFlight()
    dp = Dispatcher(
        storage=storage,
        events_isolation=isolation or SimpleEventIsolation(),
        db=db,
        form=create_form(settings),
        tz=ZoneInfo(settings.timezone),
        settings=settings,
        admins=frozenset(settings.admin_ids),
        inflight=inflight,
        i18n=i18n,
    )
    dp.startup.register(partial(set_commands, i18n=i18n))
    dp.startup.register(start_outbox)
    dp.shutdown.register(partial(inflight.drained, timeout=settings.shutdown_grace_s))
    dp.shutdown.register(stop_outbox)
    dp.update.outer_middleware(inflight)
    dp.update.outer_middleware(MemberMiddleware(db))  # its username refresh is harmless to repeat
    dp.update.outer_middleware(HandledUpdates(db))
    LocaleMiddleware(i18n).setup(dp)
    dp.include_routers(*routers())
    return dp


async def start_outbox(bot: Bot, router: Dispatcher) -> None:
    """The sender of what handlers commit to send; it first delivers what a previous run left undelivered."""
    db: Database = router["db"]
    if db.is_sqlite:  # one process owns a SQLite database: claims left by a killed run are void
        await release_claims(db)
    sender = Sender(Delivery(bot, db, router["i18n"], router["form"], router["tz"]))
    router["outbox"] = sender
    sender.start()


async def stop_outbox(router: Dispatcher) -> None:
    sender = router.workflow_data.get("outbox")
    if isinstance(sender, Sender):
        await sender.stop()
