"""Per-user locks in Redis: short-lived when their holder dies, kept while it works. Needs Redis (skips without it,
fails under CI=true)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from typing import Literal

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisEventIsolation
from redis.asyncio import Redis
from redis.asyncio.lock import Lock

from bot.isolation import WatchdogRedisEventIsolation


def key_of(user_id: int, chat_id: int | None = None) -> StorageKey:
    return StorageKey(bot_id=1, chat_id=user_id if chat_id is None else chat_id, user_id=user_id)


def start_holder(redis_url: str, timeout: float, user_id: int) -> int:
    """A worker process (forked: aiogram is already imported) that takes the user's lock and works forever."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        try:
            os.close(ready_r)

            async def hold() -> None:
                isolation = WatchdogRedisEventIsolation(Redis.from_url(redis_url), timeout=timeout)
                async with isolation.lock(key_of(user_id)):
                    os.write(ready_w, b"held")
                    await asyncio.sleep(3600)

            asyncio.run(hold())
        finally:
            os._exit(1)
    os.close(ready_w)
    with os.fdopen(ready_r, "rb") as ready:
        assert ready.read(4) == b"held"
    return pid


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[Callable[[], Redis]]:
    """A new Redis client per call (one per simulated worker), all closed after the test."""
    made: list[Redis] = []

    def new() -> Redis:
        made.append(Redis.from_url(redis_url))
        return made[-1]

    yield new
    for client in made:
        await client.aclose()


async def test_lock_of_a_killed_worker_is_free_within_its_timeout(redis_url: str, clients: Callable[[], Redis]) -> None:
    timeout = 2.0
    redis = clients()
    lock_key = DefaultKeyBuilder().build(key_of(42), "lock")
    holder = await asyncio.to_thread(start_holder, redis_url, timeout, 42)
    try:
        await asyncio.sleep(timeout * 1.25)  # alive past its timeout: its watchdog keeps the lock
        assert 0 < await redis.pttl(lock_key) <= timeout * 1000
    finally:
        os.kill(holder, signal.SIGKILL)  # kill -9: no release, no watchdog
        await asyncio.to_thread(os.waitpid, holder, 0)
    loop = asyncio.get_running_loop()
    killed_at = loop.time()
    assert await redis.exists(lock_key)  # left behind

    isolation = WatchdogRedisEventIsolation(clients(), timeout=timeout)  # the restarted worker
    async with isolation.lock(key_of(42)):
        waited = loop.time() - killed_at
    # aiogram's own lock would have kept this user waiting up to 60 s
    assert timeout / 3 < waited < timeout + 0.5, waited
    assert not await redis.exists(lock_key)


async def test_default_timeout_is_five_seconds_and_the_key_is_aiograms(clients: Callable[[], Redis]) -> None:
    redis = clients()
    ours = WatchdogRedisEventIsolation(redis)
    theirs = RedisEventIsolation(clients())
    lock_key = DefaultKeyBuilder().build(key_of(7), "lock")
    assert lock_key == "fsm:7:7:lock"
    async with ours.lock(key_of(7)):
        assert 4_000 < await redis.pttl(lock_key) <= 5_000
        # a worker still on aiogram's class waits for ours (rolling upgrade)
        theirs_cm = theirs.lock(key_of(7))
        blocked = asyncio.create_task(theirs_cm.__aenter__())
        await asyncio.sleep(0.3)
        assert not blocked.done()
    await asyncio.wait_for(blocked, 5)
    assert 55_000 < await redis.pttl(lock_key) <= 60_000  # now held by aiogram's lock
    await theirs_cm.__aexit__(None, None, None)
    assert not await redis.exists(lock_key)


async def test_a_long_handler_keeps_its_lock_past_the_timeout(
    clients: Callable[[], Redis], caplog: pytest.LogCaptureFixture
) -> None:
    timeout, hold = 1.0, 3.5
    first = WatchdogRedisEventIsolation(clients(), timeout=timeout)
    second = WatchdogRedisEventIsolation(clients(), timeout=timeout)  # another worker, its own connection
    loop = asyncio.get_running_loop()
    times: dict[str, float] = {}

    async def long_handler() -> None:
        async with first.lock(key_of(9)):
            times["first in"] = loop.time()
            await asyncio.sleep(hold)
            times["first out"] = loop.time()

    async def next_update() -> None:
        await asyncio.sleep(0.2)
        async with second.lock(key_of(9)):
            times["second in"] = loop.time()

    with caplog.at_level(logging.WARNING, logger="bot.isolation"):
        await asyncio.gather(long_handler(), next_update())
    assert times["first out"] - times["first in"] >= hold
    assert times["second in"] >= times["first out"]  # waited for the whole handler, not for the timeout
    assert times["second in"] - times["first out"] < 0.5
    assert caplog.records == []  # never expired, released by its owner


async def test_different_users_are_not_serialised(clients: Callable[[], Redis]) -> None:
    isolation = WatchdogRedisEventIsolation(clients(), timeout=1.0)
    loop = asyncio.get_running_loop()
    done: dict[str, float] = {}
    start = loop.time()

    async def handler(name: str, key: StorageKey, seconds: float) -> None:
        async with isolation.lock(key):
            await asyncio.sleep(seconds)
            done[name] = loop.time() - start

    await asyncio.gather(
        handler("slow", key_of(1), 1.5),
        handler("other user", key_of(2), 0.1),
        handler("same user, group chat", key_of(1, chat_id=-100500), 0.1),  # another chat: another key
        handler("other user, group chat", key_of(3, chat_id=-100500), 0.1),
    )
    assert done["slow"] >= 1.5
    for name in ("other user", "same user, group chat", "other user, group chat"):
        assert done[name] < 0.6, (name, done)


async def test_a_failing_handler_releases_and_stops_its_watchdog(clients: Callable[[], Redis]) -> None:
    redis = clients()
    isolation = WatchdogRedisEventIsolation(redis, timeout=1.0)
    lock_key = DefaultKeyBuilder().build(key_of(5), "lock")
    with pytest.raises(RuntimeError, match="handler failed"):
        async with isolation.lock(key_of(5)):
            assert await redis.exists(lock_key)
            raise RuntimeError("handler failed")
    assert not await redis.exists(lock_key)
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("lock-watchdog")]


def test_timeouts_are_checked() -> None:
    redis = Redis()
    with pytest.raises(ValueError, match="timeout must be positive"):
        WatchdogRedisEventIsolation(redis, timeout=0)
    with pytest.raises(ValueError, match="renew_every"):
        WatchdogRedisEventIsolation(redis, timeout=1, renew_every=1)
    assert WatchdogRedisEventIsolation(redis, timeout=6).renew_every == 2


class SwallowingLock(Lock):
    """A renewal that takes a while and swallows a cancellation arriving meanwhile, as redis-py 8.1 often does."""

    renewals = 0

    async def reacquire(self) -> Literal[True]:
        SwallowingLock.renewals += 1
        with contextlib.suppress(asyncio.CancelledError):  # answered normally: the task goes on
            await asyncio.sleep(0.3)
        return await super().reacquire()


async def test_a_watchdog_that_misses_its_cancellation_still_stops(
    clients: Callable[[], Redis], monkeypatch: pytest.MonkeyPatch
) -> None:
    redis = clients()
    monkeypatch.setattr("bot.isolation.Lock", SwallowingLock)
    isolation = WatchdogRedisEventIsolation(redis, timeout=0.6, renew_every=0.1)
    lock_key = DefaultKeyBuilder().build(key_of(6), "lock")
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(5):  # before the fix the handler waited for its watchdog for ever
        async with isolation.lock(key_of(6)):
            await asyncio.sleep(0.25)  # the watchdog is inside a renewal when the handler ends
        released = loop.time()
    assert SwallowingLock.renewals >= 1
    assert not await redis.exists(lock_key)  # released, and no later renewal brought it back
    renewals = SwallowingLock.renewals
    await asyncio.sleep(0.5)
    assert SwallowingLock.renewals == renewals  # the watchdog has stopped
    assert not await redis.exists(lock_key)
    assert loop.time() - released < 1.0
    async with isolation.lock(key_of(6)):  # the person's next update gets the lock at once
        pass
