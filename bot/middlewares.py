"""Small middlewares: the current member as a handler argument, a count of updates in flight, and the
handled-update record that gives every update exactly one effect."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update, User

from storage.db import Database
from storage.handled import AlreadyHandled, Handling, current
from storage.members import get_member, update_member

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class MemberMiddleware(BaseMiddleware):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        member = await get_member(self.db, user.id) if user is not None and not user.is_bot else None
        if member is not None and user is not None and user.username != member.username:
            member = await update_member(self.db, member, username=user.username)  # so /team add @name finds them
        data["member"] = member
        return await handler(event, data)


def update_key(bot: Bot, update: Update) -> str:
    return f"tg:{bot.id}:{update.update_id}"


class HandledUpdates(BaseMiddleware):
    """Skips an update whose effect is already committed; records the others with their effect (see
    ``storage.handled``), or after the handler when it wrote nothing."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        key = update_key(data["bot"], event)
        if await self.db.was_handled(key):
            log.info("update %s was already handled; skipped", key)
            return UNHANDLED
        handling = Handling(key)
        token = current.set(handling)
        try:
            result = await handler(event, data)
        except AlreadyHandled:
            log.info("update %s was handled meanwhile elsewhere; its second run changed nothing", key)
            return UNHANDLED
        finally:
            current.reset(token)
        if not handling.recorded:
            await self.db.record_handled(key)
        return result


class InFlight(BaseMiddleware):
    """Lets shutdown wait for the updates being handled, so SIGTERM finishes them before exiting."""

    def __init__(self) -> None:
        self.active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        self.active += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self.active -= 1
            if self.active == 0:
                self._idle.set()

    async def drained(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True
