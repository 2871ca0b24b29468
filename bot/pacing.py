"""Telegram allows about 20 messages a minute into one group: sends to a group are paced to that, and a
429 "retry after N" is waited out and retried (a few times) instead of failing the user's action.

The pace is kept per process; with several webhook workers give each a share (``GROUP_MESSAGES_PER_MINUTE``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod

log = logging.getLogger(__name__)
PACED = {"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "editMessageText", "editMessageReplyMarkup"}


class GroupPacing(BaseRequestMiddleware):
    def __init__(self, per_minute: int = 20, window: float = 60.0, retries: int = 3,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:  # fmt: skip
        self.limit, self.window, self.retries = per_minute, window, retries
        self.clock, self.sleep = clock, sleep
        self._sent: dict[int, deque[float]] = defaultdict(deque)
        self._locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def _slot(self, chat_id: int) -> None:
        async with self._locks[chat_id]:
            sent = self._sent[chat_id]
            while sent and self.clock() - sent[0] >= self.window:
                sent.popleft()
            if len(sent) >= self.limit:
                await self.sleep(self.window - (self.clock() - sent[0]))
                sent.popleft()
            sent.append(self.clock())

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Response[Any]:  # fmt: skip
        chat_id = getattr(method, "chat_id", None)
        if isinstance(chat_id, int) and chat_id < 0 and method.__api_method__ in PACED:
            await self._slot(chat_id)
        for attempt in range(self.retries + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.retries:
                    raise
                log.warning(
                    "Telegram asked to wait %ss before %s to %s", exc.retry_after, method.__api_method__, chat_id
                )
                await self.sleep(exc.retry_after)
        raise AssertionError("unreachable")
