"""Pacing of messages into groups, and waiting out Telegram's 429."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import socket
import time
from typing import Any

import pytest
from aiogram import Bot
from aiogram.methods import SendMessage

from bot.pacing import GroupPacing
from tests.conftest import App
from tests.fake_telegram import ApiError
from tests.flows import fill_to_preview
from tests.test_review import card_of, team


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_at_most_20_messages_a_minute_into_one_group() -> None:
    clock = Clock()
    pacing = GroupPacing(clock=clock, sleep=clock.sleep)
    sent: list[float] = []

    async def make_request(bot: Bot, method: Any) -> Any:
        sent.append(clock.now)
        return True

    for _ in range(21):
        await pacing(make_request, None, SendMessage(chat_id=-100, text="x"))  # type: ignore[arg-type]
        clock.now += 0.5
    for _ in range(5):  # private chats are not paced
        await pacing(make_request, None, SendMessage(chat_id=42, text="x"))  # type: ignore[arg-type]
    assert clock.slept == [50.0]  # the 21st message waited until the first left the 60-second window
    assert sent[20] - sent[0] == 60.0


async def test_a_429_is_waited_out_and_retried(app: App) -> None:
    crew = await team(app, supports=1)
    await fill_to_preview(crew.worker)
    app.fake.fail_next["sendMessage"] = [ApiError("Too Many Requests: retry after 1", 429, {"retry_after": 1})]
    replies = await crew.worker.click("Gửi duyệt")
    assert "đang chờ" not in replies[-1].text  # nothing was lost: the card was posted after the wait
    assert card_of(crew.support[0].in_group(crew.group)).text.startswith("SK-")
    assert app.fake.errors == [("sendMessage", "Too Many Requests: retry after 1")]


async def send_all(pacing: GroupPacing, chats: list[int | str], clock: Clock) -> list[float]:
    """Each chat's message in turn; when each left, on the virtual clock."""
    sent: list[float] = []

    async def make_request(bot: Bot, method: Any) -> Any:
        sent.append(clock.now)
        return True

    for chat in chats:
        await pacing(make_request, None, SendMessage(chat_id=chat, text="x"))  # type: ignore[arg-type]
    return sent


async def test_at_most_one_message_a_second_into_one_chat_when_asked() -> None:
    clock = Clock()
    pacing = GroupPacing(clock=clock, sleep=clock.sleep, per_chat_per_second=1)
    sent = await send_all(pacing, [42, 42, 43, 42], clock)
    assert sent == [0.0, 1.0, 1.0, 2.0]  # another chat does not wait for this one's window
    assert clock.slept == [1.0, 1.0]


async def test_at_most_30_messages_a_second_overall() -> None:
    clock = Clock()
    pacing = GroupPacing(clock=clock, sleep=clock.sleep)
    sent = await send_all(pacing, list(range(1, 62)), clock)  # 61 private chats, one message each
    assert sent[:30] == [0.0] * 30 and sent[30:60] == [1.0] * 30 and sent[60] == 2.0
    assert clock.slept == [1.0, 1.0]


async def test_a_chat_given_by_name_is_paced_as_a_chat_never_as_a_group() -> None:
    clock = Clock()
    pacing = GroupPacing(per_minute=2, clock=clock, sleep=clock.sleep, per_chat_per_second=1)
    sent = await send_all(pacing, ["@kenh_sangkien"] * 3, clock)
    assert sent == [0.0, 1.0, 2.0]  # one a second; the group limit (2 a minute) would have held the third back
    assert [key for key, _, _ in pacing.windows("@kenh_sangkien", 1)] == ["pace:chat:@kenh_sangkien", "pace:all:1"]
    assert [key for key, _, _ in pacing.windows(-100, 1)] == ["pace:group:-100", "pace:chat:-100", "pace:all:1"]


async def test_a_limit_of_none_is_not_applied() -> None:
    clock = Clock()
    pacing = GroupPacing(per_minute=None, per_second_overall=None, clock=clock, sleep=clock.sleep)
    await send_all(pacing, [-100] * 50, clock)
    assert clock.slept == []


# -- shared through Redis --------------------------------------------------------------------------------------
async def shared_sends(pacers: list[GroupPacing], chats: list[int], each: int) -> list[float]:
    """``each`` messages from every pacer ("worker process") at once, to the chats in turn; when each left."""
    sent: list[float] = []

    async def make_request(bot: Bot, method: Any) -> Any:
        sent.append(time.monotonic())
        return True

    async def worker(pacing: GroupPacing) -> None:
        await asyncio.gather(*(
            pacing(make_request, None, SendMessage(chat_id=chats[i % len(chats)], text="x"))  # type: ignore[arg-type]
            for i in range(each)
        ))  # fmt: skip

    await asyncio.gather(*(worker(p) for p in pacers))
    return sorted(sent)


def most_in_any_window(times: list[float], window: float, slack: float = 0.05) -> int:
    """The most sends inside any window a little shorter than ``window`` (the sends' own clock lags Redis' a bit)."""
    return max(bisect.bisect_left(times, start + window - slack) - i for i, start in enumerate(times))


async def test_two_processes_sharing_redis_send_at_most_20_into_a_group_per_window(redis_url: str) -> None:
    from redis.asyncio import Redis

    clients = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
    try:
        pacers = [GroupPacing(per_minute=20, window=0.5, per_second_overall=None, redis=c) for c in clients]
        started = time.monotonic()
        sent = await shared_sends(pacers, [-100], each=30)
        assert len(sent) == 60
        assert most_in_any_window(sent, 0.5) == 20  # between them, never more than 20 in a window
        assert 1.0 - 0.05 <= sent[-1] - started < 3.0  # 60 sends need three windows after the first
        assert 0 < await clients[0].pttl("pace:group:-100") <= 1500  # the window's key expires by itself
        assert not any(p.local for p in pacers)  # nothing was paced in-process
    finally:
        for client in clients:
            await client.aclose()


async def test_two_processes_sharing_redis_keep_the_overall_and_per_chat_limits(redis_url: str) -> None:
    from redis.asyncio import Redis

    clients = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
    try:
        overall = [GroupPacing(per_second_overall=10, second=0.4, redis=c) for c in clients]
        sent = await shared_sends(overall, list(range(1, 41)), each=20)  # 40 private chats, one message each
        assert len(sent) == 40 and most_in_any_window(sent, 0.4) == 10
        per_chat = [GroupPacing(per_second_overall=None, per_chat_per_second=2, second=0.4, redis=c) for c in clients]
        sent = await shared_sends(per_chat, [42], each=4)
        assert len(sent) == 8 and most_in_any_window(sent, 0.4) == 2
    finally:
        for client in clients:
            await client.aclose()


class BrokenRedis:
    """A client whose script calls fail like a Redis that went away (``working`` brings it back)."""

    def __init__(self) -> None:
        self.calls = 0
        self.working = False

    def register_script(self, script: str) -> Any:
        async def call(keys: list[str], args: list[Any]) -> int:
            self.calls += 1
            if not self.working:
                raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
            return 0

        return call


async def test_a_redis_outage_falls_back_to_pacing_in_the_process(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    redis = BrokenRedis()
    pacing = GroupPacing(clock=clock, sleep=clock.sleep, per_chat_per_second=1, redis=redis, redis_retry_s=60)
    with caplog.at_level(logging.WARNING, logger="bot.pacing"):
        sent = await send_all(pacing, [42, 42, 42], clock)
    assert sent == [0.0, 1.0, 2.0]  # paced in this process meanwhile, and nothing failed
    assert redis.calls == 1  # Redis is not asked again before redis_retry_s
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "pacing in this process only" in warnings[0]  # said once, not per send

    pacing._redis_down_until = time.monotonic()  # the wait before trying Redis again is over, and it is back
    redis.working = True
    await send_all(pacing, [42], clock)
    assert redis.calls == 2 and pacing._redis_down_until is None  # shared again


async def test_an_unreachable_redis_server_never_fails_a_send() -> None:
    from redis.asyncio import Redis

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.5)
    clock = Clock()
    try:
        pacing = GroupPacing(clock=clock, sleep=clock.sleep, per_chat_per_second=1, redis=client)
        sent = await send_all(pacing, [-100, -100], clock)
        assert sent == [0.0, 1.0]
    finally:
        await client.aclose()


class SwallowingRedis:
    """A client whose script call answers after ``delay`` seconds even when cancelled meanwhile (as redis-py 8.1
    may do), and then allows the send (0)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def register_script(self, script: str) -> Any:
        async def call(keys: list[str], args: list[Any]) -> int:
            with contextlib.suppress(asyncio.CancelledError):  # swallowed
                await asyncio.sleep(self.delay)
            return 0

        return call


async def test_a_redis_call_that_swallows_its_timeout_still_times_out() -> None:
    clock = Clock()
    pacing = GroupPacing(clock=clock, sleep=clock.sleep, per_chat_per_second=1, redis=SwallowingRedis(5),
                         redis_timeout=0.05)  # fmt: skip
    started = time.monotonic()
    sent = await send_all(pacing, [42, 42], clock)
    assert time.monotonic() - started < 1 and sent == [0.0, 1.0]  # timed out at once, then paced in-process


async def test_a_send_stopped_during_a_redis_call_that_swallows_it_is_still_stopped() -> None:
    pacing = GroupPacing(redis=SwallowingRedis(0.2), redis_timeout=5)
    calls: list[str] = []

    async def make_request(bot: Bot, method: Any) -> Any:
        calls.append(method.text)
        return True

    task = asyncio.create_task(pacing(make_request, None, SendMessage(chat_id=42, text="x")))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls == []  # the stop was not lost: nothing was sent
