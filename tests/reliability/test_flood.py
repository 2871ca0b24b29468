"""Flood: Telegram answers a share of calls 429 "retry after N", some authors have blocked the bot, and the
network fails now and then. Every message is delivered exactly once or recorded as undeliverable: none lost,
none sent twice.

The busy review is played twice on fresh databases: once against a well-behaved Telegram (what the bot means to
send) and once under faults; the chats must then hold the same messages, apart from those recorded as refused."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from sqlalchemy import text

from bot.outbox import Sender
from bot.pacing import GroupPacing
from handlers.delivery import Delivery
from handlers.ui.callbacks import DraftAction, DraftCb, FormCb, Nav, ReviewAction, ReviewCb, SubmitAction, SubmitCb
from storage.members import get_member
from storage.outbox import outbox_stmt
from tests.conftest import App, build_app, close_app, make_settings, register
from tests.fake_telegram import ApiError, FakeTelegram, Sent
from tests.flows import fill_to_preview
from tests.test_pacing import Clock
from tests.test_review import GROUP, team
from tests.tgclient import TgUser

pytestmark = pytest.mark.reliability

NUMBER = re.compile(r"SK-\d{6}")
CLOCK_TIME = re.compile(r"\d{1,2}:\d{2}|\d{1,2}/\d{1,2}/\d{2,4}")  # decision times differ between the two runs
FLOODED = {"sendMessage", "editMessageText"}
GROUP_ID = cast(int, GROUP["id"])


# -- time under the test's control -------------------------------------------------------------------------
class VirtualClock(Clock):
    """The pacing test's clock, started later: waits for the group pacing cost no real time."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0


class UtcClock:
    """``utcnow`` of the outbox, moved by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def pace_on(app: App, clock: VirtualClock) -> GroupPacing:
    pacing = next(m for m in app.bot.session.middleware if isinstance(m, GroupPacing))
    pacing.clock, pacing.sleep = clock, clock.sleep
    return pacing


class Flood:
    """Every ``every``-th send or edit is answered 429 "retry after ``retry_after``"; like Telegram, the chat
    then stays closed until that time has passed, and a request retried earlier is noted in ``early``."""

    def __init__(self, clock: VirtualClock, every: int = 3, retry_after: int = 1) -> None:
        self.clock, self.every, self.retry_after = clock, every, retry_after
        self.calls = 0
        self.closed_until: dict[int, float] = {}
        self.refused: dict[tuple[Any, ...], float] = {}  # request -> when it may be retried
        self.issued: list[tuple[str, int]] = []
        self.early: list[tuple[Any, ...]] = []

    def __call__(self, method: str, params: dict[str, Any]) -> int | None:
        if method not in FLOODED:
            return None
        chat, now = int(params["chat_id"]), self.clock()
        key = (method, chat, params.get("message_id"), params.get("text"))
        if now < self.refused.get(key, now):
            self.early.append(key)
        if now < self.closed_until.get(chat, now):
            return self._refuse(key, self.closed_until[chat])
        self.calls += 1
        if self.calls % self.every:
            return None
        self.issued.append((method, chat))
        self.closed_until[chat] = now + self.retry_after
        return self._refuse(key, now + self.retry_after)

    def _refuse(self, key: tuple[Any, ...], until: float) -> int:
        self.refused[key] = until
        return max(1, int(until - self.clock() + 0.999))


# -- the busy review -----------------------------------------------------------------------------------------
@dataclass
class Outcome:
    chats: dict[int, Counter[str]]  # chat -> what it shows now (text and buttons), as a multiset
    alerts: Counter[str]
    numbers: dict[int, str]  # author's chat -> the number of their initiative
    blocked: set[int]


def shown(message: Sent) -> str:
    return CLOCK_TIME.sub("<t>", message.text) + " " + repr(message.button_texts())


def chats_of(fake: FakeTelegram) -> dict[int, Counter[str]]:
    return {chat: Counter(shown(m) for m in fake.in_chat(chat)) for chat in fake.messages if fake.messages[chat]}


def number_of(worker: TgUser) -> str:
    return NUMBER.findall(" ".join(m.text for m in worker.history))[-1]


def card(app: App, number: str) -> Sent:
    return next(m for m in reversed(app.fake.in_chat(GROUP_ID)) if m.text.startswith(number))


def button(prefix: str, action: str) -> Callable[[str], bool]:
    """A button by what it does (its callback data), not by its label, which is translated and reworded."""
    return lambda data: data.split(":")[:2] == [prefix, action]


SUBMIT = button(FormCb.__prefix__, Nav.SUBMIT.value)
RESUME = button(DraftCb.__prefix__, DraftAction.RESUME.value)
ANYWAY = button(SubmitCb.__prefix__, SubmitAction.ANYWAY.value)


def on_card(action: ReviewAction) -> Callable[[str], bool]:
    return button(ReviewCb.__prefix__, action.value)


async def press(user: TgUser, what: Callable[[str], bool], message: Sent | None = None) -> list[Sent]:
    """Press the button that does ``what`` on ``message``, or on the newest message that has one."""
    for m in [message] if message else reversed(user.history):
        for data in (b.get("callback_data", "") for row in m.buttons for b in row):
            if what(data):
                return await user.press(m, data, expect=0)
    raise AssertionError(f"no such button; last message: {user.last.text!r}")


async def submit_anyway(worker: TgUser) -> None:
    """Submit; the five authors' initiatives are alike, so when the bot first lists the others, submit anyway."""
    await press(worker, SUBMIT)
    if any(ANYWAY(b.get("callback_data", "")) for row in worker.last.buttons for b in row):
        await press(worker, ANYWAY, worker.last)


async def ask_reason(member: TgUser, app: App, number: str, action: ReviewAction, reason: str) -> None:
    replies = await press(member, on_card(action), card(app, number))
    prompt = next(m for m in reversed(replies) if (m.markup or {}).get("force_reply"))
    await member.send(reason, reply_to=prompt, expect=0)


async def busy_review(app: App, *, block: bool) -> Outcome:
    """Five authors submit to the bound support group; two of them then block the bot (when ``block``); two
    team members take, confirm, return with a reason and reject, and one author resubmits a returned one."""
    crew = await team(app, supports=2)
    first, second = crew.in_group(crew.support[0]), crew.in_group(crew.support[1])
    workers = [crew.worker]
    for i in range(4):
        worker = app.user(first_name=f"Công nhân {i + 1}", last_name="Trần", username=f"congnhan{i + 1}")
        await register(worker)
        workers.append(worker)
    numbers: dict[int, str] = {}
    for worker, money in zip(workers, ("14 triệu/năm", "2tr5", "1,2 tỷ", "350 nghìn/tháng", "0"), strict=True):
        await fill_to_preview(worker, money=money)
        await submit_anyway(worker)
        numbers[worker.id] = number_of(worker)
    blocked = {workers[3].id, workers[4].id} if block else set()
    app.fake.blocked |= blocked
    w0, w1, w2, w3, w4 = (numbers[w.id] for w in workers)

    await press(first, on_card(ReviewAction.TAKE), card(app, w0))
    await ask_reason(first, app, w0, ReviewAction.CHANGES, "Cần ghi rõ số tiền tiết kiệm mỗi tháng.")
    await press(second, on_card(ReviewAction.CONFIRM), card(app, w1))
    await ask_reason(first, app, w2, ReviewAction.REJECT, "Đã đăng ký năm ngoái.")
    await ask_reason(second, app, w3, ReviewAction.CHANGES, "Thiếu số liệu.")
    await press(first, on_card(ReviewAction.TAKE), card(app, w4))
    await press(first, on_card(ReviewAction.CONFIRM), card(app, w4))

    author, returned = crew.worker, card(app, w0)  # reopened from the notice and resubmitted: a new card
    await press(author, RESUME)
    await submit_anyway(author)
    assert card(app, w0).message_id != returned.message_id
    await press(second, on_card(ReviewAction.CONFIRM), card(app, w0))
    await crew.in_group(crew.officer).send("/queue")

    await app.dp["outbox"].flush()  # whatever the background loop has not delivered yet
    alerts = Counter(CLOCK_TIME.sub("<t>", a.get("text", "")) for a in app.fake.callback_answers)
    return Outcome(chats_of(app.fake), alerts, numbers, blocked)


async def outbox_rows(app: App) -> list[tuple[int, str, dict[str, Any], Any, str | None]]:
    async with app.db.read_engine.connect() as conn:
        result = await conn.execute(text("SELECT id, kind, payload, done_at, error FROM outbox ORDER BY id"))
        return [(r[0], r[1], json.loads(r[2]), r[3], r[4]) for r in result.all()]


async def author_chat(app: App, iid: int) -> int:
    async with app.db.read_engine.connect() as conn:
        sql = "SELECT m.tg_user_id FROM initiative i JOIN member m ON m.id = i.author_id WHERE i.id = :i"
        return int((await conn.execute(text(sql), {"i": iid})).scalar_one())


@pytest.fixture
async def calm(tmp_path: Path, template_db: Path) -> AsyncIterator[App]:
    """A second bot on its own database and its own well-behaved Telegram: the reference run."""
    import shutil

    fake = FakeTelegram()
    await fake.start()
    path = tmp_path / "calm.db"
    shutil.copy(template_db, path)
    application = await build_app(fake, make_settings(f"sqlite+aiosqlite:///{path}", fake))
    yield application
    await close_app(application)
    await fake.stop()


async def test_under_flood_every_message_arrives_once_or_is_recorded_as_undeliverable(
    app: App, calm: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    pace_on(calm, VirtualClock())
    expected = await busy_review(calm, block=False)

    clock = VirtualClock()
    pace_on(app, clock)
    flood = Flood(clock)
    app.fake.flood = flood
    caplog.clear()
    got = await busy_review(app, block=True)

    # Nothing sent twice, nothing extra, nothing lost: chat by chat, what the bot meant to send is there once,
    # except for the blocked authors, whose missing messages are exactly the outbox items closed as refused.
    assert set(got.chats) <= set(expected.chats)
    for chat, meant in expected.chats.items():
        arrived = got.chats.get(chat, Counter())
        assert arrived - meant == Counter(), f"chat {chat}: sent twice or unexpected"
        if chat not in got.blocked:
            assert meant - arrived == Counter(), f"chat {chat}: lost"
    assert got.alerts == expected.alerts
    assert got.numbers == expected.numbers

    flooded = {chat for _, chat in flood.issued}
    assert len(flood.issued) >= 40 and GROUP_ID in flooded and len(flooded) > 5  # a real flood, everywhere
    assert flood.early == []  # nothing was retried before the time Telegram named
    assert clock.slept.count(flood.retry_after) >= len(flood.issued)  # each 429 was waited out

    rows = await outbox_rows(app)
    assert rows and all(done is not None for _, _, _, done, _ in rows)  # nothing left undone
    refused: Counter[int] = Counter()
    for _, kind, payload, _, error in rows:
        chat = await author_chat(app, int(payload["iid"]))
        if chat in got.blocked and kind == "author.notice":
            assert error is not None and "blocked" in error, (kind, payload, error)
            refused[chat] += 1
        else:
            assert error is None, (kind, payload, error)
    for chat in got.blocked:
        lost = expected.chats[chat] - got.chats.get(chat, Counter())
        assert sum(lost.values()) == refused[chat] == 1, (chat, lost)  # the decision's notice, recorded
        assert all(got.numbers[chat] in line for line in lost)

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    waits = [r for r in caplog.records if "Telegram asked to wait" in r.getMessage()]
    assert len(waits) >= len(flood.issued) and all(r.levelno == logging.WARNING for r in waits)


# -- the sender alone ----------------------------------------------------------------------------------------
@dataclass
class Lone:
    app: App
    author: TgUser
    sender: Sender
    clock: UtcClock
    iid: int
    number: str

    def __post_init__(self) -> None:
        self.before = self._sends_to_author()
        self.seen = self.author.last.message_id

    async def enqueue(self, status: str, reason: str | None = None) -> int:
        payload = {"iid": self.iid, "status": status, "reason": reason}
        await self.app.db.write_unmarked(outbox_stmt("author.notice", payload))
        async with self.app.db.read_engine.connect() as conn:
            return int((await conn.execute(text("SELECT max(id) FROM outbox"))).scalar_one())

    async def row(self, oid: int) -> dict[str, Any]:
        sql = "SELECT due_at, done_at, attempts, error FROM outbox WHERE id = :i"
        async with self.app.db.read_engine.connect() as conn:
            due, done, attempts, error = (await conn.execute(text(sql), {"i": oid})).one()
        return {"due": _when(due), "done": done is not None, "attempts": attempts, "error": error}

    def _sends_to_author(self) -> int:
        return sum(1 for m, p in self.app.fake.log if m == "sendMessage" and int(p["chat_id"]) == self.author.id)

    def attempts_to_author(self) -> int:
        """Messages the sender tried to send the author."""
        return self._sends_to_author() - self.before

    def new_to_author(self) -> list[str]:
        """What the author received from the sender."""
        return [m.text for m in self.author.history if m.message_id > self.seen]


def _when(value: Any) -> datetime:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@pytest.fixture
async def lone(app: App, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Lone]:
    """A submitted initiative, the app's own sender stopped, and a sender on a bot without the group pacing (so
    it meets Telegram's answers itself), whose outbox clock the test moves."""
    crew = await team(app, supports=1)
    await fill_to_preview(crew.worker)
    await press(crew.worker, SUBMIT)
    await app.dp["outbox"].stop()
    member = await get_member(app.db, crew.worker.id)
    assert member is not None
    async with app.db.read_engine.connect() as conn:
        sql = text("SELECT id FROM initiative WHERE author_id = :a")
        iid = int((await conn.execute(sql, {"a": member.id})).scalar_one())
    clock = UtcClock()
    monkeypatch.setattr("storage.outbox.utcnow", clock)
    session = AiohttpSession(api=TelegramAPIServer.from_base(app.fake.base_url))
    bot = Bot(app.fake.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    sender = Sender(Delivery(bot, app.db, app.dp["i18n"], app.dp["form"], app.dp["tz"]))
    yield Lone(app, crew.worker, sender, clock, iid, number_of(crew.worker))
    await bot.session.close()


def too_many(seconds: int) -> ApiError:
    return ApiError(f"Too Many Requests: retry after {seconds}", 429, {"retry_after": seconds})


async def test_sender_waits_out_two_429s_and_delivers_once(lone: Lone) -> None:
    lone.app.fake.fail_next["sendMessage"] = [too_many(7), too_many(7)]
    oid = await lone.enqueue("confirmed")
    start = lone.clock.now
    assert await lone.sender.flush() == 0
    row = await lone.row(oid)
    assert not row["done"] and row["due"] == start + timedelta(seconds=7) and "retry after 7" in row["error"]
    lone.clock.advance(6.9)
    assert await lone.sender.flush() == 0 and lone.attempts_to_author() == 1  # not before the time named
    lone.clock.advance(0.1)
    assert await lone.sender.flush() == 0 and lone.attempts_to_author() == 2  # the second 429
    assert (await lone.row(oid))["due"] == lone.clock.now + timedelta(seconds=7)
    lone.clock.advance(7)
    assert await lone.sender.flush() == 1
    lone.clock.advance(3600)
    assert await lone.sender.flush() == 0
    assert await lone.row(oid) == {"due": start + timedelta(seconds=14), "done": True, "attempts": 3, "error": None}
    assert lone.attempts_to_author() == 3
    assert len(lone.new_to_author()) == 1 and lone.number in lone.new_to_author()[0]
    assert (lone.sender.delivered, lone.sender.retried, lone.sender.closed) == (1, 2, 0)


async def test_sender_retries_network_errors_with_back_off_and_delivers_once(
    lone: Lone, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    lone.app.fake.drop_next["sendMessage"] = 1  # the connection is lost before any answer
    lone.app.fake.broken_next["sendMessage"] = 1  # then a proxy answers 502 with an HTML page
    oid = await lone.enqueue("rejected", "Trùng với SK-000001.")
    assert await lone.sender.flush() == 0
    row = await lone.row(oid)
    assert row["due"] == lone.clock.now + timedelta(seconds=2) and "Server disconnected" in row["error"]
    lone.clock.advance(1.9)
    assert await lone.sender.flush() == 0 and lone.attempts_to_author() == 1
    lone.clock.advance(0.1)
    assert await lone.sender.flush() == 0 and lone.attempts_to_author() == 2
    row = await lone.row(oid)
    assert row["due"] == lone.clock.now + timedelta(seconds=4) and not row["done"]  # the back-off grows
    lone.clock.advance(4)
    assert await lone.sender.flush() == 1
    lone.clock.advance(3600)
    assert await lone.sender.flush() == 0
    row = await lone.row(oid)
    assert row["done"] and row["attempts"] == 3 and row["error"] is None
    assert lone.attempts_to_author() == 3
    assert len(lone.new_to_author()) == 1 and "Trùng với SK-000001." in lone.new_to_author()[0]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_sender_closes_an_item_for_a_user_who_blocked_the_bot_without_retrying(lone: Lone) -> None:
    lone.app.fake.blocked.add(lone.author.id)
    oid = await lone.enqueue("changes_requested", "Thiếu số liệu.")
    assert await lone.sender.flush() == 1
    row = await lone.row(oid)
    assert row["done"] and row["attempts"] == 1 and "Forbidden: bot was blocked by the user" in row["error"]
    lone.clock.advance(3600)
    assert await lone.sender.flush() == 0
    assert lone.attempts_to_author() == 1 and lone.new_to_author() == []
    assert lone.sender.closed == 1 and lone.sender.delivered == 0
