"""The outbox sender: delivers what handlers committed to send, right after their commit (``flush``) and from a
background loop that resumes after a restart and retries what failed."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from datetime import timedelta

from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from handlers.delivery import Delivery, deliver
from storage.handled import current
from storage.outbox import GIVE_UP_AFTER, Item, claim, due, finish, retry_later

log = logging.getLogger(__name__)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts, 1), 300))


class Sender:
    def __init__(self, ctx: Delivery, interval: float = 2.0) -> None:
        self.ctx, self.interval = ctx, interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.delivered = self.retried = self.closed = 0

    async def flush(self) -> int:
        """Deliver everything due now; returns how many items this call delivered or closed."""
        token = current.set(None)  # deliveries are not the effect of the update being handled
        try:
            count = 0
            while items := await due(self.ctx.db):
                claimed = await claim(self.ctx.db, items)
                if not claimed:
                    return count
                for item in claimed:
                    count += await self._one(item)
            return count
        finally:
            current.reset(token)

    async def _one(self, item: Item) -> int:
        try:
            await deliver(self.ctx, item.kind, item.payload)
        except TelegramRetryAfter as exc:
            await self._retry(item, timedelta(seconds=exc.retry_after), f"flood control: {exc.message}")
            return 0
        except (TelegramNetworkError, TelegramServerError, TimeoutError, OSError) as exc:
            await self._retry(item, backoff(item.attempts + 1), f"{type(exc).__name__}: {exc}")
            return 0
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            log.info("outbox %s %s %s cannot be delivered: %s", item.id, item.kind, item.payload, exc)
            await finish(self.ctx.db, item, error=str(exc))
            self.closed += 1
            return 1
        except Exception as exc:
            log.exception("outbox %s %s %s failed", item.id, item.kind, item.payload)
            await self._retry(item, backoff(item.attempts + 1), f"{type(exc).__name__}: {exc}")
            return 0
        await finish(self.ctx.db, item)
        self.delivered += 1
        return 1

    async def _retry(self, item: Item, delay: timedelta, error: str) -> None:
        if item.attempts + 1 >= GIVE_UP_AFTER:
            log.warning("outbox %s %s %s: giving up after %d attempts: %s", item.id, item.kind, item.payload,
                        item.attempts + 1, error)  # fmt: skip
            await finish(self.ctx.db, item, error=f"gave up: {error}")
            self.closed += 1
            return
        log.info("outbox %s %s will be retried in %s: %s", item.id, item.kind, delay, error)
        await retry_later(self.ctx.db, item, delay, error)
        self.retried += 1

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                await self.flush()
            except Exception:
                log.exception("the outbox sender failed; retrying in %.0f s", self.interval)
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="outbox-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
