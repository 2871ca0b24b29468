"""Sends are paced to Telegram's limits, and a 429 "retry after N" is waited out and retried (a few times)
instead of failing the user's action.

Telegram allows about 20 messages a minute into one group, about one message a second into one chat and about
30 messages a second overall. Each paced send (``PACED``) takes a slot from every window it falls in: its
group's (``per_minute`` per ``window`` seconds, chats with a negative id), its chat's (``per_chat_per_second``
per ``second``) and the bot's (``per_second_overall`` per ``second``); it waits (asynchronously) until all of
them have one. A limit of ``None`` or 0 is not applied. The per-chat limit is off unless asked for: Telegram lets a
short burst into one chat through, and at one a second a reply of two or three messages (a greeting and the first
question, a summary) would pause a second before each. Chat ids given as names (``@channel``) are paced as chats,
never as groups.

With ``redis`` (a ``redis.asyncio.Redis`` client) the windows are shared by every process of the bot: they are
sorted sets (``pace:group:<chat>``, ``pace:chat:<chat>``, ``pace:all:<bot id>``) checked and taken in one Lua
script on Redis' clock, so several webhook workers together stay within the limits. Without it, or while Redis
cannot be reached (a warning is logged once per outage; Redis is tried again after ``redis_retry_s``), the
windows are kept in this process only."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import time
import uuid
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod

log = logging.getLogger(__name__)
PACED = {"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "editMessageText", "editMessageReplyMarkup"}
REDIS_TIMEOUT = 2.0  # seconds a Redis call may take before the process paces on its own
REDIS_RETRY_S = 30.0  # after an outage, how long the process paces on its own before it tries Redis again
SWEEP_EVERY = 1024  # sends between two sweeps of the per-process windows (empty ones are forgotten)

Window = tuple[str, int, float]  # key, limit, seconds

# KEYS: the windows; ARGV[1]: a unique member for this send; then, per key, its limit and its span in microseconds.
# Returns 0 when a slot was taken in every window, else the microseconds until one may be free in all of them
# (nothing is taken then). Redis' clock, so that the workers' clocks need not agree.
TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local span = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local free = tonumber(oldest[2]) + span - now
    if free > wait then wait = free end
  end
end
if wait > 0 then return math.ceil(wait) end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[2 * i + 1]) / 1000) + 1000)
end
return 0
"""


class LocalWindows:
    """Sliding windows kept in this process: the times of the sends still inside each window."""

    def __init__(self) -> None:
        self._sent: dict[str, deque[float]] = {}
        self._spans: dict[str, float] = {}
        self._takes = 0

    def take(self, windows: list[Window], now: float) -> float:
        """0 and a slot taken in every window, or the seconds until each may have one (nothing taken)."""
        wait = 0.0
        for key, limit, span in windows:
            sent = self._sent.get(key)
            if sent is None:
                continue
            while sent and now - sent[0] >= span:
                sent.popleft()
            if len(sent) >= limit:
                wait = max(wait, sent[len(sent) - limit] + span - now)
        if wait > 0:
            return wait
        for key, _, span in windows:
            self._sent.setdefault(key, deque()).append(now)
            self._spans[key] = span
        self._takes += 1
        if self._takes % SWEEP_EVERY == 0:
            self._sweep(now)
        return 0.0

    def _sweep(self, now: float) -> None:
        for key in [k for k, sent in self._sent.items() if not sent or now - sent[-1] >= self._spans[k]]:
            del self._sent[key], self._spans[key]

    def __len__(self) -> int:
        return len(self._sent)


class GroupPacing(BaseRequestMiddleware):
    def __init__(self, per_minute: int | None = 20, window: float = 60.0, retries: int = 3,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep, *, redis: Any = None,
                 per_second_overall: int | None = 30, per_chat_per_second: int | None = None, second: float = 1.0,
                 redis_timeout: float = REDIS_TIMEOUT, redis_retry_s: float = REDIS_RETRY_S) -> None:  # fmt: skip
        self.limit, self.window, self.retries = per_minute, window, retries
        self.per_second_overall, self.per_chat_per_second, self.second = per_second_overall, per_chat_per_second, second
        self.clock, self.sleep = clock, sleep
        self.redis, self.redis_timeout, self.redis_retry_s = redis, redis_timeout, redis_retry_s
        self.local = LocalWindows()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._script: Any = redis.register_script(TAKE_SLOT) if redis is not None else None
        self._members = itertools.count()
        self._me = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._redis_down_until: float | None = None  # time.monotonic() until which Redis is not tried

    # -- which windows a send falls in ---------------------------------------------------------------------------
    def windows(self, chat_id: int | str, bot_id: int | str) -> list[Window]:
        found: list[Window] = []
        if isinstance(chat_id, int) and chat_id < 0 and self.limit:
            found.append((f"pace:group:{chat_id}", self.limit, self.window))
        if self.per_chat_per_second:
            found.append((f"pace:chat:{chat_id}", self.per_chat_per_second, self.second))
        if self.per_second_overall:
            found.append((f"pace:all:{bot_id}", self.per_second_overall, self.second))
        return found

    # -- taking a slot -------------------------------------------------------------------------------------------
    def _lock(self, chat_id: int | str) -> asyncio.Lock:
        lock = self._locks.get(str(chat_id))
        if lock is None:
            lock = self._locks[str(chat_id)] = asyncio.Lock()
        return lock

    async def _slot(self, chat_id: int | str, bot_id: int | str = 0) -> None:
        windows = self.windows(chat_id, bot_id)
        if not windows:
            return
        async with self._lock(chat_id):  # one chat's sends leave in the order they came
            while (wait := await self._take(windows)) > 0:
                await self.sleep(wait)

    async def _take(self, windows: list[Window]) -> float:
        """0 when a slot is taken in every window; else the seconds to wait before trying again."""
        if self._script is not None and self._redis_usable():
            task = asyncio.current_task()
            cancels = task.cancelling() if task is not None else 0
            try:
                async with asyncio.timeout(self.redis_timeout):
                    wait = await self._redis_take(windows)
                    if task is not None and task.cancelling() > cancels:
                        # redis-py (8.1) may swallow a cancellation that arrives during a command and answer
                        # normally; raise it again, so that neither our timeout nor a stop is lost
                        raise asyncio.CancelledError
            except Exception as exc:  # Redis down, slow or refusing: pace in this process, never fail the send
                self._redis_failed(exc)
            else:
                if self._redis_down_until is not None:
                    self._redis_down_until = None
                    log.info("Redis answers again: the pace is shared with the other workers again")
                return wait
        return self.local.take(windows, self.clock())

    async def _redis_take(self, windows: list[Window]) -> float:
        args: list[Any] = [f"{self._me}-{next(self._members)}"]
        for _, limit, span in windows:
            args += [limit, int(span * 1_000_000)]
        waited = int(await self._script(keys=[key for key, _, _ in windows], args=args))
        # a little jitter, so that the workers waiting for the same slot do not all ask again at the same moment
        return waited / 1_000_000 + (random.uniform(0, 0.01) if waited else 0.0)

    def _redis_usable(self) -> bool:
        return self._redis_down_until is None or time.monotonic() >= self._redis_down_until

    def _redis_failed(self, exc: BaseException) -> None:
        if self._redis_down_until is None:
            log.warning("Redis cannot be reached for the shared send pace (%s: %s); pacing in this process only, "
                        "and trying Redis again every %.0f s", type(exc).__name__, exc, self.redis_retry_s)  # fmt: skip
        self._redis_down_until = time.monotonic() + self.redis_retry_s

    # -- the middleware ------------------------------------------------------------------------------------------
    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Response[Any]:  # fmt: skip
        chat_id = getattr(method, "chat_id", None)
        if isinstance(chat_id, int | str) and method.__api_method__ in PACED:
            await self._slot(chat_id, self._bot_id(bot))
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

    @staticmethod
    def _bot_id(bot: Bot | None) -> int | str:
        try:
            return bot.id if bot is not None else 0
        except Exception:  # a token aiogram cannot read an id from
            return 0
