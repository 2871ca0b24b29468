"""Per-user locks in Redis that a killed worker does not leave behind for long.

aiogram's :class:`RedisEventIsolation` takes a Redis lock per user (and chat) with a 60 s timeout. If the worker
holding it is killed (``kill -9``, OOM, a lost VM), nobody releases it, and the restarted bot ignores that user
until the key expires: up to a minute of silence.

:class:`WatchdogRedisEventIsolation` takes the same lock under the same key, with a short timeout (5 s by
default), and renews it from a watchdog task every ``timeout / 3`` while the handler runs. A living holder keeps
its lock however long the handler takes; a dead holder's watchdog dies with it, and the lock expires at most
``timeout`` later. Renewal resets the time to live to ``timeout`` only when the key still holds this holder's
token (Redis' compare-and-renew script), so a lock that was lost is never taken back from its new owner, and a
renewal that runs after the release changes nothing.

The watchdog is told to stop by an event, not only by cancelling it: redis-py (8.1) may swallow a cancellation
that arrives during a command and return normally, and a watchdog that missed its cancellation would renew the
lock for ever while the handler waited for it (found under load: the update was never answered and the person's
lock stayed held). The handler waits for its watchdog at most ``renew_every`` seconds, then releases.

The event loop must not be blocked for longer than about ``2 * timeout / 3`` (slow work goes to a thread, as
``/chart`` does), or the lock may expire while its handler still runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from aiogram.fsm.storage.base import KeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisEventIsolation
from redis.asyncio.client import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, LockNotOwnedError, RedisError

log = logging.getLogger(__name__)

DEFAULT_LOCK_TIMEOUT_S = 5.0


class WatchdogRedisEventIsolation(RedisEventIsolation):
    """RedisEventIsolation whose lock lives ``timeout`` seconds past its holder's death, and no longer.

    Keys are built exactly as aiogram builds them (``key_builder.build(key, "lock")``, by default
    ``fsm:<chat_id>:<user_id>:lock``), so workers using this class and workers using aiogram's own class exclude
    each other during a rolling upgrade.
    """

    def __init__(
        self,
        redis: Redis,
        key_builder: KeyBuilder | None = None,
        lock_kwargs: dict[str, Any] | None = None,
        *,
        timeout: float = DEFAULT_LOCK_TIMEOUT_S,
        renew_every: float | None = None,
        sleep: float = 0.05,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive: a lock without expiry survives its holder")
        renew = timeout / 3 if renew_every is None else renew_every
        if not 0 < renew < timeout:
            raise ValueError("renew_every must be positive and shorter than timeout")
        # lock_kwargs may add e.g. blocking_timeout; timeout and sleep are ours
        kwargs = {**(lock_kwargs or {}), "timeout": timeout, "sleep": sleep}
        super().__init__(redis, key_builder=key_builder, lock_kwargs=kwargs)
        self.timeout = timeout
        self.renew_every = renew

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        redis_key = self.key_builder.build(key, "lock")
        # thread_local=False: the watchdog task must see the token the handler's task acquired with
        lock = Lock(self.redis, redis_key, thread_local=False, **self.lock_kwargs)
        if not await lock.acquire():
            raise LockError(f"unable to acquire {redis_key} within the time specified", lock_name=redis_key)
        done = asyncio.Event()
        watchdog = asyncio.create_task(self._keep(lock, done), name=f"lock-watchdog {redis_key}")
        try:
            yield None
        finally:
            done.set()
            watchdog.cancel()
            try:  # bounded: a renewal still under way when the key is released fails its token check
                await asyncio.wait({watchdog}, timeout=self.renew_every)
            finally:
                await self._release(lock)

    async def _keep(self, lock: Lock, done: asyncio.Event) -> None:
        """Reset the lock's time to live every ``renew_every`` seconds until ``done``, cancelled, or lost."""
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.renew_every):
                    await done.wait()
            if done.is_set():
                return
            try:
                await lock.reacquire()
            except LockNotOwnedError:
                log.warning("per-user lock %s expired while its handler was running; isolation lost", lock.name)
                return
            except RedisError as exc:  # try again at the next tick; the lock holds until it expires
                log.warning("cannot renew per-user lock %s: %s", lock.name, exc)

    @staticmethod
    async def _release(lock: Lock) -> None:
        try:
            await lock.release()
        except LockNotOwnedError:
            log.warning("per-user lock %s had expired before its handler finished", lock.name)
        except RedisError as exc:  # the lock expires by itself within its timeout
            log.warning("cannot release per-user lock %s: %s", lock.name, exc)
