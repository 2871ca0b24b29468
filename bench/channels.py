"""The form flow over Zalo against the same flow over Telegram, in one run, both over long polling.

    .venv/bin/python -m bench.channels [--users 200] [--quick] [--rounds 1] [--paced]

The bot is built as ``sangkien run`` builds it with both channels configured (``create_bots``,
``create_dispatcher``, ``attach_zalo``, ``open_migrated``) and polls both local fakes over HTTP with the production
pollers and their production settings: ``bot.polling.Poller`` against the fake Telegram server (TELEGRAM_API_BASE),
``ZaloPoller`` against the fake Zalo server. Each phase starts on a fresh copy of the same migrated SQLite file with
the test units, and fresh fakes. In the Telegram phase N users register and submit one initiative each, all at
once, pressing buttons as a Telegram user does (callback data of the message shown); in the Zalo phase N other
users give the same answers as typed text, choices by their number in the list. Both flows are 14 updates:

    /start, the name, a few words of the unit, the unit, /new, title, type, field, situation before, solution,
    place, date, money, Submit

(On Zalo, the language question of /start is skipped: Vietnamese is already the default and the answer has no
reply to time.) For each update the time runs from the moment the user pushes it into the fake to the moment the
fake holds the bot's last reply to it (2 messages for /start, 1 for every other step; on Telegram the ticked type
is an edit in place). Replies are noticed through each fake's change condition (``wait_for``), by one watcher per
fake, so the 2N waiting users do not each wake at every API call. Throughput is all updates over the phase's wall
time. At the end of each phase every initiative must be submitted and every chat must hold exactly the expected
replies.

Each bot's sends are paced by ``GroupPacing``, whose overall window (30 messages a second per bot, Telegram's
broadcast limit, applied to the Zalo bot alike) would make both phases run at that pace and the ratio about 1 by
construction. So by default that one window is lifted on both bots' middleware instances (the group and per-chat
windows stay; no group is involved); ``--paced`` keeps it. A warm-up of a few users on each channel runs first,
unreported; ``--rounds`` repeats the pair of phases, the order alternating, and reports the median ratio.

The poll loops are timed too (their ``_fetch`` wrapped on the instance, nothing else changed): how long an update
waits in the fake until a getUpdates call takes it, how many updates a call brings, and for Zalo how long the rest
of one turn of the loop takes (writing the update to the inbox, a committed SQLite write, before the next call).
"""

from __future__ import annotations

import argparse
import asyncio
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

from aiogram import Bot

from bot.app import attach_zalo, create_bots, create_dispatcher
from bot.pacing import GroupPacing
from bot.polling import Poller
from bot.settings import Settings
from channels.zalo.api import ZaloApi, ZaloError
from channels.zalo.polling import ZaloPoller
from channels.zalo.session import ZaloSession
from storage.db import Database
from storage.migrate import open_migrated, upgrade
from storage.unit_files import read_units
from storage.units import import_units
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo, Sent
from tests.flows import BEFORE, PLACE, SOLUTION, TITLE
from tests.tgclient import TgUser
from tests.zalo_app import settings_for
from tests.zaloclient import numbered

ROOT = Path(__file__).resolve().parent.parent
UNITS_CSV = ROOT / "tests" / "data" / "units.csv"
UNIT_QUERY = "cấp nước"
UNIT = "Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn"
TYPE, FIELD, SUBMIT = "Giải pháp kỹ thuật", "Sản xuất, vận hành", "📨 Gửi duyệt"
ANSWERS = (BEFORE, SOLUTION, PLACE, "15/03/2022", "14 triệu/năm")
STEPS = 14  # updates per user, on either channel
REPLIES = STEPS + 1  # /start answers with two messages
REPLY_TIMEOUT = 120.0


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
    users: int
    seconds: float = 0.0
    samples: list[float] = field(default_factory=list)  # seconds from push to the last reply, per update
    pushed: dict[Any, float] = field(default_factory=dict)  # update id -> when the user pushed it
    replied: dict[Any, float] = field(default_factory=dict)  # update id -> when its last reply landed
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


@dataclass
class Running:
    db: Database
    telegram: Any
    zbot: Any
    dp: Any
    telegram_poller: Poller
    zalo_poller: ZaloPoller
    stop: asyncio.Event
    tasks: list[asyncio.Task[None]]


def lift_overall_pace(bot: Bot) -> None:
    """Drop the bot's overall send window (30 messages a second, Telegram's broadcast limit, applied to each
    channel's bot alike) on this instance, so that the run measures the channel's path, not the pacer."""
    pacers = [m for m in bot.session.middleware if isinstance(m, GroupPacing)]
    assert pacers, "no GroupPacing on the bot's session"
    for pacer in pacers:
        pacer.per_second_overall = None


async def start_bot(settings: Settings, figures: Figures, paced: bool) -> Running:
    """The production factories and pollers (production poll timeouts: 10 s Telegram, 30 s Zalo)."""
    db = await open_migrated(settings.database_url, settings.busy_timeout_ms)
    telegram, zbot = create_bots(settings)
    assert isinstance(zbot.session, ZaloSession)
    if not paced:
        lift_overall_pace(telegram)
        lift_overall_pace(zbot)
    dp = create_dispatcher(settings, db)
    inbound = attach_zalo(dp, zbot, db, None)
    await dp.emit_startup(bot=telegram, **dp.workflow_data)
    telegram_poller = Poller(dp, telegram, allowed_updates=dp.resolve_used_update_types(), **dp.workflow_data)
    zalo_poller = ZaloPoller(inbound, zbot.session.zalo, **dp.workflow_data)
    if figures.channel == "telegram":
        timed_fetch(telegram_poller, figures, lambda update: update.update_id)
    else:
        timed_fetch(zalo_poller, figures, lambda raw: raw["message"]["message_id"])
    stop = asyncio.Event()
    tasks = [asyncio.create_task(telegram_poller.run(stop)), asyncio.create_task(zalo_poller.run(stop))]
    return Running(db, telegram, zbot, dp, telegram_poller, zalo_poller, stop, tasks)


async def stop_bot(run: Running) -> None:
    run.stop.set()
    await asyncio.gather(*run.tasks)
    await run.telegram_poller.drain(5)
    await run.zalo_poller.drain(5)
    await run.dp.emit_shutdown(bot=run.telegram, **run.dp.workflow_data)
    for bot in (run.telegram, run.zbot):
        await bot.session.close()
    await run.db.close()


async def build_template(path: Path) -> None:
    """A migrated SQLite file with the test units, as the tests' template database."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.start()
    await upgrade(db.engine)
    await import_units(db, read_units(UNITS_CSV))
    await db.close()


def submitted(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM initiative WHERE status = 'submitted'").fetchone()[0])


# -- the users --------------------------------------------------------------------------------------------------
async def telegram_user(fake: FakeTelegram, watch: Watch, figures: Figures, uid: int) -> None:
    async def deliver(update: dict[str, Any], user: TgUser, expect: int) -> None:
        done = watch.expect(user.chat_id, expect)
        pushed = time.perf_counter()
        update_id = fake.push_update(update)
        replied = await asyncio.wait_for(done, REPLY_TIMEOUT)
        figures.samples.append(replied - pushed)
        figures.pushed[update_id], figures.replied[update_id] = pushed, replied

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


async def zalo_user(fake: FakeZalo, watch: ZaloWatch, figures: Figures, index: int) -> None:
    user_id = fake.add_user(name=f"Trần Thị Bình {index}")

    async def send(text: str, expect: int = 1) -> None:
        update = fake.text_update(user_id, text)
        done = watch.expect(user_id, expect)
        pushed = time.perf_counter()
        fake.push(update)
        replied = await asyncio.wait_for(done, REPLY_TIMEOUT)
        figures.samples.append(replied - pushed)
        message_id = update["message"]["message_id"]
        figures.pushed[message_id], figures.replied[message_id] = pushed, replied

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
    await send(number(SUBMIT))


# -- one phase ----------------------------------------------------------------------------------------------------
async def phase(channel: str, users: int, template: Path, workdir: Path, paced: bool) -> Figures:
    path = workdir / f"{channel}-{time.monotonic_ns()}.db"
    shutil.copy(template, path)
    fake, zalo = FakeTelegram(), FakeZalo()
    await fake.start()
    await zalo.start()
    figures = Figures(channel, users)
    settings = settings_for(f"sqlite+aiosqlite:///{path}", fake, zalo)
    run = await start_bot(settings, figures, paced)
    watch: Watch = TelegramWatch(fake) if channel == "telegram" else ZaloWatch(zalo)
    watch.start()
    try:
        started = time.perf_counter()
        if isinstance(watch, ZaloWatch):
            await asyncio.gather(*(zalo_user(zalo, watch, figures, i) for i in range(users)))
        else:
            await asyncio.gather(*(telegram_user(fake, watch, figures, 700_000 + i) for i in range(users)))
        figures.seconds = max(figures.replied.values()) - started
    finally:
        await watch.stop()
        await stop_bot(run)
        await fake.stop()
        await zalo.stop()
    done = submitted(path)
    assert done == users, f"{channel}: expected {users} submitted initiatives, found {done}"
    chats: list[Any] = [chat for chat in fake.messages if chat > 0] if channel == "telegram" else list(zalo.users)
    counts = [watch.replies(chat) for chat in chats]
    assert counts == [REPLIES] * users, f"{channel}: replies per chat differ from {REPLIES}: {sorted(set(counts))}"
    assert figures.updates == users * STEPS
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


def table(rounds: list[dict[str, Figures]]) -> None:
    print(
        f"{'round':>5} {'channel':<9} {'users':>5} {'updates':>7} {'seconds':>7} {'updates/s':>9} {'p50 ms':>7} "
        f"{'p99 ms':>8}"
    )
    for number, results in enumerate(rounds, 1):
        for f in (results["telegram"], results["zalo"]):
            print(
                f"{number:>5} {f.channel:<9} {f.users:>5} {f.updates:>7} {f.seconds:>7.2f} {f.per_second:>9.1f} "
                f"{ms(statistics.median(f.samples)):>7} {ms(percentile(f.samples, 0.99)):>8}"
            )


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
        f"{ms(statistics.fmean(calls))}), the rest of the turn (inbox write, committed) p50 "
        f"{ms(statistics.median(rest))} ms (mean {ms(statistics.fmean(rest))}), one turn p50 "
        f"{ms(statistics.median(whole))} ms (mean {ms(statistics.fmean(whole))}) -> at most "
        f"{1 / statistics.fmean(whole):.0f} updates/s through this loop"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    print(
        f"{users} users per channel x {STEPS} updates each (register + one initiative to Submit); long polling "
        "over local HTTP; SQLite file (WAL, synchronous=FULL), a fresh copy of the same template per phase; "
        + ("production send pace (30 messages/s per bot)" if args.paced else "overall send pace lifted on both bots")
    )
    rounds: list[dict[str, Figures]] = []
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "template.db"
        await build_template(template)
        for channel in ("telegram", "zalo"):  # warm-up, not reported: first-time costs fall on neither phase
            await phase(channel, min(users, 5), template, Path(tmp), args.paced)
        for number in range(args.rounds):
            order = ("telegram", "zalo") if number % 2 == 0 else ("zalo", "telegram")
            rounds.append({channel: await phase(channel, users, template, Path(tmp), args.paced) for channel in order})
    rtt = await zalo_round_trip(500)
    print()
    table(rounds)
    ratios = [r["zalo"].per_second / r["telegram"].per_second for r in rounds]
    ratio = statistics.median(ratios)
    each = f" (rounds: {', '.join(f'{r:.2f}' for r in ratios)})" if len(ratios) > 1 else ""
    print(f"\nratio Zalo/Telegram throughput: {ratio:.2f}{each}; goal >= 0.8: {'met' if ratio >= 0.8 else 'NOT met'}")
    print("\nwhere the time goes:")
    for number, results in enumerate(rounds, 1):
        if len(rounds) > 1:
            print(f" round {number}")
        for f in (results["telegram"], results["zalo"]):
            breakdown(f)
    print(
        f"  the fake Zalo's getUpdates round trip alone (500 calls, an update always waiting, nothing else "
        f"running): p50 {ms(statistics.median(rtt))} ms, mean {ms(statistics.fmean(rtt))} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
