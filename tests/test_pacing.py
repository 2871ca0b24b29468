"""Pacing of messages into groups, and waiting out Telegram's 429."""

from __future__ import annotations

from typing import Any

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
