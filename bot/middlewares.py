"""Small middlewares: the current member as a handler argument, a count of updates in flight, and the
handled-update record that gives every update exactly one effect."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update, User

from storage.db import Database
from storage.handled import AlreadyHandled, Handling, current
from storage.members import get_member, set_reachable, update_member

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
        if member is not None and not member.reachable:  # they write again: they unblocked the bot
            member = await set_reachable(self.db, member, True)
        data["member"] = member
        return await handler(event, data)


class HandledUpdates(BaseMiddleware):
    """Skips an update whose effect is already committed; records the others with their effect (see
    ``storage.handled``), or after the handler when it wrote nothing.

    Telegram's update ids increase, and so do Zalo's message dates (the number Zalo's keys are ordered by), so
    only an update at or below the highest one handled before this process started can be a redelivery worth a
    look in the database; newer ones are checked by the record's unique key when their first write commits
    (another worker may have handled the same update meanwhile)."""

    def __init__(self, db: Database, remember: int = 10_000) -> None:
        self.db = db
        self._before_start: dict[str, int | None] = {}
        self._recent: OrderedDict[str, None] = OrderedDict()  # handled here lately (a retried delivery)
        self._remember = remember

    def _handled_here(self, key: str) -> None:
        self._recent[key] = None
        if len(self._recent) > self._remember:
            self._recent.popitem(last=False)

    async def _maybe_handled(self, handling: Handling) -> bool:
        if handling.key in self._recent:
            return True
        if handling.source not in self._before_start:
            self._before_start[handling.source] = await self.db.highest_handled(handling.source)
        highest = self._before_start[handling.source]
        return highest is not None and (handling.seq or 0) <= highest and await self.db.was_handled(handling.key)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        handling = data.get("handling")  # a channel whose updates carry no update_id gives its own key
        if not isinstance(handling, Handling):
            handling = Handling(f"tg:{data['bot'].id}", str(event.update_id), event.update_id)
        if await self._maybe_handled(handling):
            log.info("update %s was already handled; skipped", handling.key)
            return UNHANDLED
        token = current.set(handling)
        try:
            result = await handler(event, data)
        except AlreadyHandled:
            log.info("update %s was handled meanwhile elsewhere; its second run changed nothing", handling.key)
            return UNHANDLED
        finally:
            current.reset(token)
        if not handling.recorded:
            try:
                await self.db.record_handled(handling)
            except Exception as exc:  # the update changed nothing; at worst it is answered again after a restart
                log.warning("could not record update %s as handled: %s", handling.key, exc)
        self._handled_here(handling.key)
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
