"""The outbox sender: delivers what handlers committed to send, right after their commit (``flush``) and from a
background loop that resumes after a restart and retries what failed.

Some refusals are handled where they happen (an author who blocked the bot is skipped, a group that removed it is
marked unreachable), so the delivery itself succeeds; the sender still notes them, and the item is closed with
what could not be delivered instead of looking delivered."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod

from handlers.delivery import Delivery, deliver
from handlers.errors import harmless
from storage.handled import current
from storage.outbox import GIVE_UP_AFTER, LEASE, Item, claim, due, finish, renew, retry_later

log = logging.getLogger(__name__)
_refused: ContextVar[list[str] | None] = ContextVar("outbox_refused", default=None)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts, 1), 300))


class NoteRefusals(BaseRequestMiddleware):
    """Telegram's refusals during a delivery, even those the delivery code catches itself."""

    async def __call__(self, make_request: NextRequestMiddlewareType[Any], bot: Bot,
                       method: TelegramMethod[Any]) -> Response[Any]:  # fmt: skip
        try:
            return await make_request(bot, method)
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            refused = _refused.get()
            if refused is not None and not harmless(exc):
                refused.append(f"{method.__api_method__} to {getattr(method, 'chat_id', None)}: {exc.message}")
            raise


class Sender:
    def __init__(self, ctx: Delivery, interval: float = 2.0) -> None:
        self.ctx, self.interval = ctx, interval
        if not any(isinstance(m, NoteRefusals) for m in ctx.bot.session.middleware):
            ctx.bot.session.middleware(NoteRefusals())
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._delivering: set[int] = set()
        self._changed = asyncio.Condition()
        self._stopping = False
        self.delivered = self.retried = self.closed = 0

    async def flush(self) -> int:
        """Deliver what is due now: called by a handler, only what its own update wrote (the loop delivers the
        rest); returns how many items this call delivered or closed."""
        handling = current.get()
        origin = handling.key if handling else None
        token = current.set(None)  # deliveries are not the effect of the update being handled
        try:
            count = 0
            while not self._stopping and (items := await due(self.ctx.db, origin)):
                progress = False
                for item in items:  # one claim at a time, so nothing waits under a lease it cannot use
                    if self._stopping:
                        break
                    claimed = await claim(self.ctx.db, item)
                    if claimed is not None:
                        progress = True
                        count += await self._one(claimed)
                if not progress:  # all of them taken by another sender meanwhile
                    break
            return count
        finally:
            current.reset(token)

    async def settle(self) -> None:
        """Deliver everything due and wait for what this process is delivering meanwhile (tests, shutdown)."""
        while True:
            await self.flush()
            async with self._changed:
                await self._changed.wait_for(lambda: not self._delivering)
            if not await due(self.ctx.db):
                return

    async def _one(self, item: Item) -> int:
        self._delivering.add(item.id)
        keeper = asyncio.create_task(self._keep_claim(item))
        try:
            return await self._deliver(item)
        finally:
            keeper.cancel()
            self._delivering.discard(item.id)
            async with self._changed:
                self._changed.notify_all()

    async def _keep_claim(self, item: Item) -> None:
        """Renew the claim while the delivery goes on, so no other sender takes the item meanwhile."""
        while True:
            await asyncio.sleep(LEASE.total_seconds() / 3)
            try:
                if not await renew(self.ctx.db, item):
                    log.warning("outbox %s %s: the claim was lost during a slow delivery", item.id, item.kind)
                    return
            except Exception as exc:
                log.warning("outbox %s: could not renew the claim: %s", item.id, exc)

    async def _deliver(self, item: Item) -> int:
        refused: list[str] = []
        token = _refused.set(refused)
        try:
            await deliver(self.ctx, item.kind, item.payload)
        except TelegramRetryAfter as exc:
            await self._retry(item, timedelta(seconds=exc.retry_after), f"flood control: {exc.message}", True)
            return 0
        except (TelegramNetworkError, TelegramServerError, ClientDecodeError, TimeoutError, OSError) as exc:
            # ClientDecodeError: not Telegram's JSON but a proxy's error page (e.g. 502 Bad Gateway), as transient
            await self._retry(item, backoff(item.attempts), f"{type(exc).__name__}: {exc}", True)
            return 0
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            log.info("outbox %s %s %s cannot be delivered: %s", item.id, item.kind, item.payload, exc)
            await finish(self.ctx.db, item, error=str(exc))
            self.closed += 1
            return 1
        except Exception as exc:
            log.exception("outbox %s %s %s failed", item.id, item.kind, item.payload)
            await self._retry(item, backoff(item.attempts), f"{type(exc).__name__}: {exc}", False)
            return 0
        finally:
            _refused.reset(token)
        if refused:  # delivered as far as it could be; the rest is recorded, not retried
            log.info("outbox %s %s %s partly undeliverable: %s", item.id, item.kind, item.payload, "; ".join(refused))
            await finish(self.ctx.db, item, error="; ".join(refused))
            self.closed += 1
            return 1
        await finish(self.ctx.db, item)
        self.delivered += 1
        return 1

    async def _retry(self, item: Item, delay: timedelta, error: str, transient: bool) -> None:
        """Try again later; a network outage or flood control never makes the bot give up on a card or a notice,
        an unexpected failure does after ``GIVE_UP_AFTER`` attempts."""
        if not transient and item.attempts >= GIVE_UP_AFTER:
            log.warning("outbox %s %s %s: giving up after %d attempts: %s", item.id, item.kind, item.payload,
                        item.attempts, error)  # fmt: skip
            await finish(self.ctx.db, item, error=f"gave up: {error}")
            self.closed += 1
            return
        log.info("outbox %s %s will be retried in %s: %s", item.id, item.kind, delay, error)
        await retry_later(self.ctx.db, item, delay, error)
        self.retried += 1

    def wake(self) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await self.flush()
            except Exception:
                log.exception("the outbox sender failed; retrying in %.0f s", self.interval)
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="outbox-sender")

    async def stop(self, grace: float = 10.0) -> None:
        """Let the delivery under way finish (a card half-posted would be posted again after a restart), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), grace)
            except TimeoutError:
                self._task.cancel()
                with suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
