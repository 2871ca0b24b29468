"""Small middlewares: the current member as a handler argument, and a count of updates in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from storage.db import Database
from storage.members import get_member, update_member

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
