"""The form flow over Zalo against the same flow over Telegram, in one run, over the same transport: long polling,
webhooks, or both.

    .venv/bin/python -m bench.channels [--transport polling|webhook|both] [--users 200] [--quick] [--rounds 1]
                                       [--paced]

The bot is built as ``sangkien run`` builds it with both channels configured (``create_bots``,
``create_dispatcher``, ``attach_zalo``, ``open_migrated``) and talks to both local fakes over HTTP.

- Long polling: the production pollers with their production settings, ``bot.polling.Poller`` against the fake
  Telegram server (TELEGRAM_API_BASE), ``ZaloPoller`` against the fake Zalo server.
- Webhooks: the production webhook server of ``sangkien run --webhook`` (``TelegramWebhook``, ``ZaloWebhook`` and
  ``WebhookServer``, put together by ``bot.runner.serve``) on a local port, in this process. ``ZaloWebhook.register``
  sets the fake Zalo's webhook to it, and the fake POSTs each update to /webhook/zalo with Zalo's secret header,
  a chat's updates one at a time, the next once the previous one was answered 200. The fake Telegram server cannot
  push, so ``TelegramPush`` does the same for Telegram: each update POSTed to /webhook/telegram with Telegram's
  secret header, a chat's next update once the previous one was answered. Both clients are aiohttp sessions with
  aiohttp's default limit of 100 connections, so at most 100 deliveries per channel are in flight (Telegram's own
  default, ``max_connections``, is 40).

Each phase starts on a fresh copy of the same migrated SQLite file with the test units, and fresh fakes. In the
Telegram phase N users register and submit one initiative each, all at once, pressing buttons as a Telegram user
does (callback data of the message shown); in the Zalo phase N other users give the same answers as typed text,
choices by their number in the list. Both flows are 15 updates:

    /start, the name, a few words of the unit, the unit, /new, title, type, field, situation before, solution,
    place, date, money, Submit, Submit anyway

(On Zalo, the language question of /start is skipped: Vietnamese is already the default and the answer has no
reply to time.) Every user writes up the same initiative, and the template already holds one like it (submitted
through the bot by one more Telegram user), so every user's Submit shows the initiatives that look like theirs and
the user submits anyway: the same steps for every user, whoever submits first.

For each update the time runs from the moment the user pushes it (into the fake, or to ``TelegramPush``) to the
moment the fake holds the bot's last reply to it (2 messages for /start, 1 for every other step; on Telegram the
ticked type is an edit in place). Replies are noticed through each fake's change condition (``wait_for``), by one
watcher per fake, so the 2N waiting users do not each wake at every API call. Throughput is all updates over the
phase's wall time; the CPU time per update is this process's (the bot, both fakes and the users) over the phase.
At the end of each phase every initiative must be submitted, every chat must hold exactly the expected replies, no
call to a fake may have been refused, and with webhooks every delivery must have been answered 200 at the first
attempt.

Each bot's sends are paced by ``GroupPacing``, whose overall window (30 messages a second per bot, Telegram's
broadcast limit, applied to the Zalo bot alike) would make both phases run at that pace and the ratio about 1 by
construction. So by default that one window is lifted on both bots' middleware instances (the group and per-chat
windows stay; no group is involved); ``--paced`` keeps it. A warm-up of a few users on each channel and transport
runs first, unreported; ``--rounds`` repeats the pair of phases per transport, the order of the channels
alternating, and reports the median ratio per transport.

The poll loops are timed too (their ``_fetch`` wrapped on the instance, nothing else changed): how long an update
waits in the fake until a getUpdates call takes it, how many updates a call brings, and for Zalo how long one turn
of the loop takes (the call, then starting the update's task, which writes the inbox row and handles it, before the
next call).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiogram import Bot

from bench.harness import SECRET, free_port
from bot import runner
from bot.app import attach_zalo, create_bots, create_dispatcher
from bot.metrics import ApiRetryCounter, Metrics
from bot.pacing import GroupPacing
from bot.polling import Poller
from bot.settings import Settings
from bot.webhook import SECRET_HEADER, TelegramWebhook, WebhookServer, ZaloWebhook
from channels.zalo.api import ZaloApi, ZaloError
from channels.zalo.polling import ZaloPoller
from channels.zalo.session import ZaloSession
from storage.db import Database
from storage.migrate import open_migrated, upgrade
from storage.unit_files import read_units
from storage.units import import_units
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo, Sent
from tests.flows import BEFORE, PLACE, SOLUTION, TITLE, vi
from tests.tgclient import TgUser
from tests.zalo_app import settings_for
from tests.zaloclient import numbered

ROOT = Path(__file__).resolve().parent.parent
UNITS_CSV = ROOT / "tests" / "data" / "units.csv"
UNIT_QUERY = "cấp nước"
UNIT = "Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn"
TYPE, FIELD, SUBMIT = "Giải pháp kỹ thuật", "Sản xuất, vận hành", "📨 Gửi duyệt"
ANYWAY = vi("📨 Submit anyway")  # under the initiatives that look like the user's
ANSWERS = (BEFORE, SOLUTION, PLACE, "15/03/2022", "14 triệu/năm")
STEPS = 15  # updates per user, on either channel
REPLIES = STEPS + 1  # /start answers with two messages
STEP_NAMES = ("/start", "name", "unit search", "unit", "/new", "title", "type", "field", "before", "solution", "place",
              "date", "money", "Submit", "Submit anyway")  # fmt: skip
SEED_UID, FIRST_UID = 600_000, 700_000  # Telegram users: the one of the template's initiative, then each phase's
REPLY_TIMEOUT = 120.0
IN_FLIGHT = 100  # deliveries in flight per channel with webhooks: aiohttp's default, which the fake Zalo's client has
HOST = "127.0.0.1"


# -- waiting for replies --------------------------------------------------------------------------------------
@dataclass
class Waiter:
    target: int
    done: asyncio.Future[float]


class Watch:
    """Counts the bot's replies per chat as they land in a fake and wakes the user waiting for a given count. One
    task waits on the fake's condition (``wait_for``) and looks only at what changed since it last looked."""

    def __init__(self, wait_for: Callable[..., Coroutine[Any, Any, None]]) -> None:
        self.wait_for = wait_for
        self.count: dict[Any, int] = {}
        self.waiting: dict[Any, Waiter] = {}
        self.dirty: set[Any] = set()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.wait_for(self.scan, 3600.0))

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    def expect(self, chat: Any, replies: int) -> asyncio.Future[float]:
        """Before the user sends: a future that gets the time (perf_counter) the ``replies``-th new reply landed."""
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[chat] = Waiter(self.replies(chat) + replies, done)
        return done

    def replies(self, chat: Any) -> int:
        return self.count.get(chat, 0)

    def collect(self) -> None:
        """Note the chats that got something since the last look (``dirty``) and update ``count``."""
        raise NotImplementedError

    def scan(self) -> bool:
        self.collect()
        now = time.perf_counter()
        for chat in list(self.dirty):
            waiter = self.waiting.get(chat)
            if waiter is None:
                self.dirty.discard(chat)
            elif self.replies(chat) >= waiter.target:
                del self.waiting[chat]
                self.dirty.discard(chat)
                if not waiter.done.done():
                    waiter.done.set_result(now)
        return False  # never done: the task is cancelled at the end


class TelegramWatch(Watch):
    """A reply is a message sent to the chat or an edit of one; the log names the chats that were written to."""

    def __init__(self, fake: FakeTelegram) -> None:
        super().__init__(fake.wait_for)
        self.fake, self.seen = fake, 0

    def collect(self) -> None:
        log = self.fake.log
        for method, params in log[self.seen :]:
            if method in ("sendMessage", "editMessageText") and "chat_id" in params:
                self.dirty.add(int(params["chat_id"]))
        self.seen = len(log)

    def replies(self, chat: Any) -> int:
        messages = self.fake.messages.get(chat, {})
        return len(messages) + sum(sent.edits for sent in messages.values())


class ZaloWatch(Watch):
    """A reply is a message the fake stored for the chat (Zalo cannot edit: an edit is a new message)."""

    def __init__(self, fake: FakeZalo) -> None:
        super().__init__(fake.wait_for)
        self.fake, self.seen = fake, 0
        self.last: dict[str, Sent] = {}

    def collect(self) -> None:
        sent = self.fake.sent
        for message in sent[self.seen :]:
            self.count[message.chat_id] = self.count.get(message.chat_id, 0) + 1
            self.last[message.chat_id] = message
            self.dirty.add(message.chat_id)
        self.seen = len(sent)


# -- the bot, as ``sangkien run`` starts it with both channels --------------------------------------------------
@dataclass
class Figures:
    channel: str
    transport: str
    users: int
    seconds: float = 0.0
    cpu: float = 0.0  # CPU seconds of this process (bot, fakes, users) over the phase
    samples: list[float] = field(default_factory=list)  # seconds from push to the last reply, per update
    pushed: dict[Any, float] = field(default_factory=dict)  # update id -> when the user pushed it
    replied: dict[Any, float] = field(default_factory=dict)  # update id -> when its last reply landed
    step: dict[Any, int] = field(default_factory=dict)  # update id -> its place in the user's flow (STEP_NAMES)
    fetched: dict[Any, float] = field(default_factory=dict)  # update id -> when a getUpdates call first returned it
    fetches: list[tuple[float, float, list[Any]]] = field(default_factory=list)  # (start, end, update ids)

    @property
    def updates(self) -> int:
        return len(self.samples)

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def timed_fetch(poller: Poller | ZaloPoller, figures: Figures, ident: Callable[[Any], Any]) -> None:
    """Wrap the poller's one ``getUpdates`` call (on this instance) to note when each update was first taken."""
    original = poller._fetch

    async def fetch(stop: asyncio.Event, backoff: Any) -> Any:
        started = time.perf_counter()
        result = await original(stop, backoff)
        ended = time.perf_counter()
        ids = [ident(update) for update in result or []]
        figures.fetches.append((started, ended, ids))
        for update_id in ids:
            figures.fetched.setdefault(update_id, ended)
        return result

    setattr(poller, "_fetch", fetch)  # noqa: B010 - an instance attribute, for this run only


class TelegramPush:
    """Telegram's side of its webhook, which the fake Telegram server does not do: each update POSTed to
    /webhook/telegram with the secret token header, a chat's updates one at a time in order (the next once the
    previous one was answered), as the fake Zalo pushes to /webhook/zalo. The answers are kept (None: no answer)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.headers = {"Content-Type": "application/json", SECRET_HEADER: SECRET}
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=IN_FLIGHT), timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT)
        )
        self.tails: dict[int, asyncio.Task[None]] = {}  # chat -> its latest delivery, which the next one waits for
        self.statuses: list[int | None] = []

    def push(self, chat: int, update: dict[str, Any]) -> None:
        self.tails[chat] = asyncio.create_task(self._post(self.tails.get(chat), json.dumps(update).encode()))

    async def _post(self, before: asyncio.Task[None] | None, body: bytes) -> None:
        if before is not None:
            await before
        status: int | None = None
        try:
            async with self.http.post(self.url, data=body, headers=self.headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            pass
        self.statuses.append(status)

    async def close(self) -> None:
        await asyncio.gather(*self.tails.values())
        await self.http.close()


@dataclass
class Running:
    db: Database
    telegram: Any
    zbot: Any
    dp: Any
    telegram_poller: Poller | None = None
    zalo_poller: ZaloPoller | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    server: WebhookServer | None = None
    push: TelegramPush | None = None  # Telegram's deliveries to the webhook


def lift_overall_pace(bot: Bot) -> None:
    """Drop the bot's overall send window (30 messages a second, Telegram's broadcast limit, applied to each
    channel's bot alike) on this instance, so that the run measures the channel's path, not the pacer."""
    pacers = [m for m in bot.session.middleware if isinstance(m, GroupPacing)]
    assert pacers, "no GroupPacing on the bot's session"
    for pacer in pacers:
        pacer.per_second_overall = None


async def start_bot(settings: Settings, figures: Figures, paced: bool) -> Running:
    """The production factories, then the production pollers (production poll timeouts: 10 s Telegram, 30 s Zalo)
    or the production webhook server, as ``run_polling`` and ``run_webhook`` start them."""
    db = await open_migrated(settings.database_url, settings.busy_timeout_ms)
    telegram, zbot = create_bots(settings)
    assert isinstance(zbot.session, ZaloSession)
    if not paced:
        lift_overall_pace(telegram)
        lift_overall_pace(zbot)
    metrics = Metrics()
    if figures.transport == "webhook":
        for bot in (telegram, zbot):
            bot.session.middleware(ApiRetryCounter(metrics))  # as run_webhook does
    dp = create_dispatcher(settings, db)
    inbound = attach_zalo(dp, zbot, db, None)
    await dp.emit_startup(bot=telegram, **dp.workflow_data)
    run = Running(db, telegram, zbot, dp)
    if figures.transport == "webhook":
        zalo = ZaloWebhook(dp, inbound, zbot.session.zalo, SECRET, metrics)
        hooks = TelegramWebhook(dp, telegram, SECRET, metrics), zalo
        started = runner.Running(dp, [telegram, zbot], inbound, None)
        run.server = runner.serve(settings, db, started, hooks, metrics)
        await run.server.start()
        base = f"http://{settings.webhook_host}:{settings.webhook_port}"
        await zalo.register(base, SECRET)  # the fake Zalo now POSTs every update to /webhook/zalo
        run.push = TelegramPush(base + hooks[0].path)
        return run
    run.telegram_poller = Poller(dp, telegram, allowed_updates=dp.resolve_used_update_types(), **dp.workflow_data)
    run.zalo_poller = ZaloPoller(inbound, zbot.session.zalo, **dp.workflow_data)
    if figures.channel == "telegram":
        timed_fetch(run.telegram_poller, figures, lambda update: update.update_id)
    else:
        timed_fetch(run.zalo_poller, figures, lambda raw: raw["message"]["message_id"])
    run.tasks = [asyncio.create_task(run.telegram_poller.run(run.stop)),
                 asyncio.create_task(run.zalo_poller.run(run.stop))]  # fmt: skip
    return run


async def stop_bot(run: Running) -> None:
    if run.push is not None:
        await run.push.close()
    if run.server is not None:
        await run.server.stop()
    run.stop.set()
    await asyncio.gather(*run.tasks)
    for poller in (run.telegram_poller, run.zalo_poller):
        if poller is not None:
            await poller.drain(5)
    await run.dp.emit_shutdown(bot=run.telegram, **run.dp.workflow_data)
    for bot in (run.telegram, run.zbot):
        await bot.session.close()
    await run.db.close()


async def build_template(path: Path) -> None:
    """A migrated SQLite file with the test units, as the tests' template database, and one initiative submitted
    through the bot by a Telegram user of the same unit, with the title and solution every user gives: each user's
    Submit then shows it as a look-alike and the user submits anyway, the same steps for all whatever the timing
    (without it, whether a user sees the others' initiatives would depend on who submitted first)."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.start()
    await upgrade(db.engine)
    await import_units(db, read_units(UNITS_CSV))
    await db.close()
    await phase("telegram", "polling", 1, path, paced=False, seeded=False)
    conn = sqlite3.connect(path)
    with conn:  # each phase's fake numbers its updates from 1 again: they are not redeliveries
        conn.execute("DELETE FROM handled_update")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it into the file, which the phases copy
    conn.close()


def copy_of(template: Path, workdir: Path) -> Path:
    path = workdir / f"phase-{time.monotonic_ns()}.db"
    shutil.copy(template, path)
    return path


def submitted(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM initiative WHERE status = 'submitted'").fetchone()[0])


# -- the users --------------------------------------------------------------------------------------------------
async def telegram_user(fake: FakeTelegram, push: TelegramPush | None, watch: Watch, figures: Figures, uid: int,
                        look_alike: bool = True) -> None:  # fmt: skip
    """With ``push``, the updates go to the webhook; without, into the fake for getUpdates. With ``look_alike``,
    Submit shows the initiative already like this one, and the user submits anyway."""

    async def deliver(update: dict[str, Any], user: TgUser, expect: int) -> None:
        done = watch.expect(user.chat_id, expect)
        pushed = time.perf_counter()
        if push is None:
            update_id = fake.push_update(update)
        else:
            update_id = fake.next_update_id()
            push.push(user.chat_id, {"update_id": update_id, **update})
        replied = await asyncio.wait_for(done, REPLY_TIMEOUT)
        figures.samples.append(replied - pushed)
        figures.pushed[update_id], figures.replied[update_id] = pushed, replied
        figures.step[update_id] = next(steps)

    steps = itertools.count()
    user = TgUser(fake, deliver, uid)
    await user.send("/start", expect=2)
    await user.click(user.last.button_texts()[0])  # the suggested name (a reply-keyboard button: its text)
    await user.send(UNIT_QUERY)
    await user.click(UNIT)
    await user.send("/new")
    await user.send(TITLE)
    await user.click(TYPE)  # ticked in place: an edit
    await user.click(FIELD)
    for answer in ANSWERS:
        await user.send(answer)
    await user.click(SUBMIT)
    if look_alike:
        await user.click(ANYWAY)


async def zalo_user(fake: FakeZalo, watch: ZaloWatch, figures: Figures, index: int) -> None:
    user_id = fake.add_user(name=f"Trần Thị Bình {index}")
    steps = itertools.count()

    async def send(text: str, expect: int = 1) -> None:
        update = fake.text_update(user_id, text)
        done = watch.expect(user_id, expect)
        pushed = time.perf_counter()
        fake.push(update)
        replied = await asyncio.wait_for(done, REPLY_TIMEOUT)
        figures.samples.append(replied - pushed)
        message_id = update["message"]["message_id"]
        figures.pushed[message_id], figures.replied[message_id] = pushed, replied
        figures.step[message_id] = next(steps)

    def number(label: str) -> str:
        return numbered(watch.last[user_id])[label]

    await send("/start", expect=2)
    await send(fake.users[user_id])  # the name, typed
    await send(UNIT_QUERY)
    await send(number(UNIT))
    await send("/new")
    await send(TITLE)
    await send(number(TYPE))
    await send(number(FIELD))
    for answer in ANSWERS:
        await send(answer)
    await send(number(SUBMIT))  # the initiative already like this one is shown
    await send(number(ANYWAY))


# -- one phase ----------------------------------------------------------------------------------------------------
async def phase(channel: str, transport: str, users: int, path: Path, paced: bool, *, seeded: bool = True) -> Figures:
    """N users on one channel, on the SQLite file ``path``; ``seeded``: it holds an initiative like theirs."""
    steps, replies, first_uid = (STEPS, REPLIES, FIRST_UID) if seeded else (STEPS - 1, REPLIES - 1, SEED_UID)
    fake, zalo = FakeTelegram(), FakeZalo()
    zalo.webhook_timeout = REPLY_TIMEOUT  # a slow answer is measured, not retried
    await fake.start()
    await zalo.start()
    figures = Figures(channel, transport, users)
    settings = settings_for(f"sqlite+aiosqlite:///{path}", fake, zalo, webhook_host=HOST, webhook_port=free_port())
    run = await start_bot(settings, figures, paced)
    watch: Watch = TelegramWatch(fake) if channel == "telegram" else ZaloWatch(zalo)
    watch.start()
    try:
        started, cpu = time.perf_counter(), time.process_time()
        if isinstance(watch, ZaloWatch):
            assert seeded, "the template's initiative comes from Telegram"
            await asyncio.gather(*(zalo_user(zalo, watch, figures, i) for i in range(users)))
            if transport == "webhook":  # the last replies come before the 200s that end the deliveries
                await zalo.wait_for(lambda: not zalo.pending, REPLY_TIMEOUT)
        else:
            await asyncio.gather(*(telegram_user(fake, run.push, watch, figures, first_uid + i, seeded)
                                   for i in range(users)))  # fmt: skip
        figures.seconds = max(figures.replied.values()) - started
        figures.cpu = time.process_time() - cpu
    finally:
        await watch.stop()
        await stop_bot(run)
        await fake.stop()
        await zalo.stop()
    if transport == "webhook":  # every delivery answered 200 at the first attempt
        assert run.push is not None
        answers = run.push.statuses if channel == "telegram" else [status for _, status in zalo.webhook_attempts]
        wrong = [status for status in answers if status != 200]
        assert not wrong and not zalo.webhook_dropped, f"{channel}: deliveries answered {wrong[:5]}"
        assert len(answers) == users * steps, f"{channel}: {len(answers)} deliveries for {users * steps} updates"
    done = submitted(path) - seeded
    assert done == users, f"{channel} {transport}: expected {users} submitted initiatives, found {done}"
    chats: list[Any] = [chat for chat in fake.messages if chat > 0] if channel == "telegram" else list(zalo.users)
    counts = [watch.replies(chat) for chat in chats]
    assert counts == [replies] * users, f"{channel}: replies per chat differ from {replies}: {sorted(set(counts))}"
    assert figures.updates == users * steps
    refused = fake.errors if channel == "telegram" else [e for e in zalo.errors if e[1] != 408]
    assert not refused, f"{channel}: the fake refused calls: {refused[:3]}"
    return figures


# -- a bare round trip --------------------------------------------------------------------------------------------
async def zalo_round_trip(calls: int) -> list[float]:
    """The fake Zalo's getUpdates round trip with an update waiting each time, through the bot's own client,
    with nothing else running: the floor of one turn of the Zalo poll loop."""
    fake = FakeZalo()
    await fake.start()
    api = ZaloApi(fake.token, fake.base)
    user = fake.add_user()
    for _ in range(calls):
        fake.push(fake.text_update(user, "1"))
    await asyncio.sleep(0)
    times = []
    try:
        for _ in range(calls):
            started = time.perf_counter()
            await api.call("getUpdates", {"timeout": 30}, timeout=45)
            times.append(time.perf_counter() - started)
        try:
            await api.call("getUpdates", {"timeout": 0}, timeout=5)
        except ZaloError as exc:
            assert exc.code == 408  # the queue is empty
    finally:
        await api.close()
        await fake.stop()
    return times


# -- report -------------------------------------------------------------------------------------------------------
def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def table(rounds: dict[str, list[dict[str, Figures]]]) -> None:
    print(
        f"{'transport':<9} {'round':>5} {'channel':<9} {'users':>5} {'updates':>7} {'seconds':>7} {'updates/s':>9} "
        f"{'p50 ms':>7} {'p99 ms':>8} {'CPU ms/update':>13}"
    )
    for number, results in ((n, r) for each in rounds.values() for n, r in enumerate(each, 1)):
        for f in (results["telegram"], results["zalo"]):
            print(
                f"{f.transport:<9} {number:>5} {f.channel:<9} {f.users:>5} {f.updates:>7} {f.seconds:>7.2f} "
                f"{f.per_second:>9.1f} {ms(statistics.median(f.samples)):>7} {ms(percentile(f.samples, 0.99)):>8} "
                f"{ms(f.cpu / f.updates):>13}"
            )


def ratio(transport: str, rounds: list[dict[str, Figures]]) -> None:
    ratios = [r["zalo"].per_second / r["telegram"].per_second for r in rounds]
    median = statistics.median(ratios)
    each = f" (rounds: {', '.join(f'{r:.2f}' for r in ratios)})" if len(ratios) > 1 else ""
    print(f"{transport}: ratio Zalo/Telegram throughput {median:.2f}{each}; goal >= 0.8: "
          f"{'met' if median >= 0.8 else 'NOT met'}")  # fmt: skip


def by_step(f: Figures) -> None:
    """p50 / p99 from push to the last reply, step by step."""
    seconds: dict[int, list[float]] = {}
    for update_id, step in f.step.items():
        seconds.setdefault(step, []).append(f.replied[update_id] - f.pushed[update_id])
    print(f"  {f.channel}: " + " · ".join(
        f"{STEP_NAMES[step]} {statistics.median(values) * 1000:.0f}/{percentile(values, 0.99) * 1000:.0f}"
        for step, values in sorted(seconds.items())
    ))  # fmt: skip


def breakdown(f: Figures) -> None:
    """Where an update's time goes: waiting in the fake until a getUpdates call takes it, then in the bot; for
    Zalo, one turn of the poll loop per update, timed over the turns that found an update already waiting."""
    ids = [i for i in f.pushed if i in f.fetched]
    queued = [f.fetched[i] - f.pushed[i] for i in ids]
    handled = [f.replied[i] - f.fetched[i] for i in ids]
    returned = sum(len(got) for *_, got in f.fetches)
    brought = [len(got) for *_, got in f.fetches if got]
    print(
        f"  {f.channel}: {len(f.fetches)} getUpdates calls returned {returned} updates ({returned / f.updates:.1f} "
        f"per update handled; an update not yet confirmed comes again), {statistics.fmean(brought):.1f} per call "
        f"that brought any; per update: push -> taken by getUpdates p50 {ms(statistics.median(queued))} / p99 "
        f"{ms(percentile(queued, 0.99))} ms, taken -> last reply p50 {ms(statistics.median(handled))} / p99 "
        f"{ms(percentile(handled, 0.99))} ms"
    )
    if f.channel != "zalo":
        return
    # (call, after the call until the next one starts, the whole turn), for calls whose update was already queued
    turns = [
        (end - start, next_start - end, next_start - start)
        for (start, end, got), (next_start, _, _) in zip(f.fetches, f.fetches[1:], strict=False)
        if got and f.pushed[got[0]] <= start
    ]
    calls, rest, whole = ([turn[k] for turn in turns] for k in range(3))
    print(
        f"  zalo poll loop: {len(turns)} of {f.updates} updates were already waiting when the call that took "
        f"them started; on those turns getUpdates took p50 {ms(statistics.median(calls))} ms (mean "
        f"{ms(statistics.fmean(calls))}), the rest of the turn (starting the update's task) p50 "
        f"{ms(statistics.median(rest))} ms (mean {ms(statistics.fmean(rest))}), one turn p50 "
        f"{ms(statistics.median(whole))} ms (mean {ms(statistics.fmean(whole))}) -> at most "
        f"{1 / statistics.fmean(whole):.0f} updates/s through this loop"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--transport",
        choices=("polling", "webhook", "both"),
        default="both",
        help="long polling, webhooks, or both in each round (default both)",
    )
    parser.add_argument("--users", type=int, default=200, help="simulated users per channel (default 200)")
    parser.add_argument("--quick", action="store_true", help="30 users")
    parser.add_argument("--rounds", type=int, default=1, help="Telegram and Zalo phases, the order alternating")
    parser.add_argument(
        "--paced",
        action="store_true",
        help="keep the production send pace of 30 messages a second per bot (then both channels run at that pace)",
    )
    args = parser.parse_args()
    users = 30 if args.quick else args.users
    transports = ("polling", "webhook") if args.transport == "both" else (args.transport,)
    print(
        f"{users} users per channel x {STEPS} updates each (register + one initiative to Submit, then Submit anyway "
        "under the look-alike); "
        f"{' and '.join(transports)} over local HTTP; SQLite file (WAL, synchronous=FULL), a fresh copy of the same "
        "template per phase; "
        + ("production send pace (30 messages/s per bot)" if args.paced else "overall send pace lifted on both bots")
    )
    rounds: dict[str, list[dict[str, Figures]]] = {transport: [] for transport in transports}
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.db"
        await build_template(template)
        for transport in transports:  # warm-up, not reported: first-time costs fall on no phase
            for channel in ("telegram", "zalo"):
                await phase(channel, transport, min(users, 5), copy_of(template, Path(tmp)), args.paced)
        for number in range(args.rounds):
            order = ("telegram", "zalo") if number % 2 == 0 else ("zalo", "telegram")
            for transport in transports:
                figures = [await phase(channel, transport, users, copy_of(template, Path(tmp)), args.paced)
                           for channel in order]  # fmt: skip
                rounds[transport].append({f.channel: f for f in figures})
    print()
    table(rounds)
    print()
    for transport in transports:
        ratio(transport, rounds[transport])
    print("\nper step, from push to the last reply, p50/p99 ms:")
    for transport in transports:
        for number, results in enumerate(rounds[transport], 1):
            print(f" {transport}, round {number}")
            for f in (results["telegram"], results["zalo"]):
                by_step(f)
    if "polling" not in rounds:
        return
    rtt = await zalo_round_trip(500)
    print("\nwhere the time goes with long polling:")
    for number, results in enumerate(rounds["polling"], 1):
        if len(rounds["polling"]) > 1:
            print(f" round {number}")
        for f in (results["telegram"], results["zalo"]):
            breakdown(f)
    print(
        f"  the fake Zalo's getUpdates round trip alone (500 calls, an update always waiting, nothing else "
        f"running): p50 {ms(statistics.median(rtt))} ms, mean {ms(statistics.fmean(rtt))} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
