"""Long polling that confirms an update to Telegram only after it is handled.

aiogram's own polling confirms an update (the next ``getUpdates`` carries ``offset = update_id + 1``) as soon as
it hands the update to a task, so a crash before the handler commits loses it. Here updates are still handled
concurrently, but the offset only moves past an update once it and every update before it have finished:
the offset is the lowest update still running. Telegram then returns the unconfirmed ones again; those
already running or finished here are skipped, and after a restart the handled-update record skips them.

Telegram returns at most 100 updates from the offset, so one update that never finishes would hide every later
one: each update gets ``handler_timeout`` seconds (it is then cancelled, which is no worse than a crash: its write,
if any, committed whole or not at all) and the offset moves on.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import GetUpdates
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig

log = logging.getLogger(__name__)
BACKOFF = BackoffConfig(min_delay=1.0, max_delay=30.0, factor=1.5, jitter=0.1)
BUSY = 50  # updates running at once above which a fetch waits for one of them to finish


class Poller:
    def __init__(self, dp: Dispatcher, bot: Bot, *, allowed_updates: list[str], timeout: int = 10,
                 idle_wait: float = 1.0, handler_timeout: float = 90.0, **data: Any) -> None:  # fmt: skip
        self.dp, self.bot, self.data = dp, bot, data
        self.allowed_updates, self.timeout, self.idle_wait = allowed_updates, timeout, idle_wait
        self.handler_timeout = handler_timeout
        self.running: dict[int, asyncio.Task[None]] = {}
        self.finished: set[int] = set()  # handled, but behind a running update, so not yet confirmed
        self.offset: int | None = None
        self.highest: int | None = None

    def confirmable(self) -> int | None:
        """The offset that confirms every handled update and none still running."""
        if self.running:
            return min(self.running)
        return None if self.highest is None else self.highest + 1

    async def _handle(self, update: Update) -> None:
        try:
            await asyncio.wait_for(self.dp.feed_update(self.bot, update, **self.data), self.handler_timeout)
        except TimeoutError:
            log.warning("update %s took more than %.0f s and was stopped", update.update_id, self.handler_timeout)
        except Exception:
            log.exception("update %s could not be handled", update.update_id)
        finally:
            del self.running[update.update_id]
            self.finished.add(update.update_id)

    def _accept(self, updates: list[Update]) -> int:
        fresh = 0
        for update in updates:
            uid = update.update_id
            if uid in self.running or uid in self.finished or (self.offset is not None and uid < self.offset):
                continue
            fresh += 1
            self.highest = uid if self.highest is None else max(self.highest, uid)
            self.running[uid] = asyncio.create_task(self._handle(update), name=f"update-{uid}")
        return fresh

    async def _fetch(self, stop: asyncio.Event, backoff: Backoff) -> list[Update] | None:
        """One getUpdates call; None when stopped or failed (after a backoff)."""
        call = GetUpdates(offset=self.offset, limit=100, timeout=self.timeout, allowed_updates=self.allowed_updates)
        request = asyncio.ensure_future(self.bot(call, request_timeout=int(self.bot.session.timeout + self.timeout)))
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait((request, stopped), return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not request.done():
            request.cancel()
            return None
        try:
            updates = request.result()
        except Exception as exc:
            log.warning(
                "cannot fetch updates (%s: %s); retrying in %.1f s", type(exc).__name__, exc, backoff.next_delay
            )
            await backoff.asleep()
            return None
        backoff.reset()
        return updates

    async def run(self, stop: asyncio.Event) -> None:
        backoff = Backoff(config=BACKOFF)
        while not stop.is_set():
            updates = await self._fetch(stop, backoff)
            if updates is None:
                continue
            fresh = self._accept(updates)
            self.offset = self.confirmable()
            self.finished = {uid for uid in self.finished if self.offset is None or uid >= self.offset}
            # Only updates still being handled came back, or the window of 100 is mostly taken by them: wait
            # until one finishes rather than fetch (and parse) the same ones again at once.
            if self.running and updates and (not fresh or len(self.running) >= BUSY):
                waits = [*self.running.values(), asyncio.ensure_future(stop.wait())]
                await asyncio.wait(waits, timeout=self.idle_wait, return_when=asyncio.FIRST_COMPLETED)
                waits[-1].cancel()

    async def drain(self, grace: float) -> None:
        """Let the updates in flight finish, then confirm them so a restart does not see them again."""
        if self.running:
            await asyncio.wait(list(self.running.values()), timeout=grace)
        offset = self.confirmable()
        if offset is not None and offset != self.offset:
            try:
                await self.bot(GetUpdates(offset=offset, timeout=0, limit=1, allowed_updates=self.allowed_updates))
            except Exception as exc:
                log.warning("could not confirm the last updates (%s); they will be skipped after a restart", exc)
