"""N simulated workers complete an initiative at once through the real dispatcher on a SQLite file
(synchronous=FULL, every answer committed before its reply), next to a bare aiogram echo bot fed the same
number of updates in the same run.

    .venv/bin/python bench/form_flow.py [--workers 200] [--rounds 3] [--profile]

``--profile`` runs our bot once more under cProfile and prints where the CPU goes, by package.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram import Bot, Dispatcher, F, Router
from aiogram.types import CallbackQuery, Message

from bench.harness import RecordingSession, Timer, callback_update, text_update
from bot.app import create_dispatcher
from bot.settings import Settings
from handlers.ui.callbacks import FormCb, Nav
from storage.db import Database
from storage.members import register
from storage.migrate import upgrade
from storage.models import utcnow
from storage.writer import Stmt

TOKEN = "123456:BENCH-token"
# What a worker does, the required parts only, as the form asks them now: ("text", value), or ("press", (action,
# field index)) for a button of the bot's last message. The type and the field are two taps on one keyboard (the
# first is ticked in place: the message is edited, no new one); a long answer is one message, no Done; after the
# money the summary offers Submit.
SCRIPT: list[tuple[str, Any]] = [
    ("text", "/new"),
    ("text", "Tự động duy trì áp lực mạng cấp nước"),
    ("press", (Nav.CHOICE, 1)),  # the type: the first option
    ("press", (Nav.CHOICE, 2)),  # the field: the first option
    ("text", "Bơm chạy hết công suất cả đêm dù ít người dùng nước."),
    ("text", "Lắp cảm biến áp lực và biến tần, ban đêm bơm chạy chậm lại."),
    ("text", "Trạm bơm số 2"),
    ("text", "15/03/2022"),
    ("text", "14 triệu/năm"),
    ("press", (Nav.SUBMIT, -1)),
]


def button(message: dict[str, Any] | None, action: Nav, step: int) -> str:
    """The callback data of the first button of this kind (for this field, or -1 at the summary) on the bot's last
    message, as a worker would tap it."""
    assert message is not None and "reply_markup" in message, "the bot sent no buttons"
    for row in message["reply_markup"]["inline_keyboard"]:
        for b in row:
            data = b.get("callback_data", "")
            if data.startswith("v1f:"):
                cb = FormCb.unpack(data)
                if cb.action is action and cb.step == step:
                    return str(data)
    raise AssertionError(f"no {action} button for step {step} in {message['text']!r}")


async def drive(dp: Dispatcher, bot: Bot, session: RecordingSession, uids: list[int], timer: Timer, echo: bool) -> None:
    async def worker(uid: int) -> None:
        for kind, value in SCRIPT:
            if kind == "text":
                update = text_update(bot, uid, value)
            else:
                data = "echo" if echo else button(session.last.get(uid), *value)
                update = callback_update(bot, uid, session.last.get(uid), data)
            started = time.perf_counter()
            await dp.feed_update(bot, update)
            timer.add(time.perf_counter() - started)

    with timer:
        await asyncio.gather(*(worker(uid) for uid in uids))


def echo_dispatcher() -> Dispatcher:
    router = Router()

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    @router.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(query.data or "")

    dp = Dispatcher()
    dp.include_router(router)
    return dp


async def bench_echo(uids: list[int]) -> dict[str, float]:
    session = RecordingSession()
    bot = Bot(TOKEN, session=session)
    timer = Timer()
    await drive(echo_dispatcher(), bot, session, uids, timer, echo=True)
    return timer.summary()


async def bench_bot(uids: list[int], workdir: Path) -> dict[str, float]:
    path = workdir / f"bench-{time.monotonic_ns()}.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await db.start()
    await upgrade(db.engine)
    await db.write(
        Stmt(
            "INSERT INTO unit (code, name, name_folded, created_at, updated_at) "
            "VALUES ('B', 'Đơn vị', 'don vi', :now, :now)",
            {"now": utcnow()},
        )
    )
    for uid in uids:
        await register(db, tg_user_id=uid, full_name="Nguyễn Văn An", language="vi", unit_id=1, phone=None)
    settings = Settings(_env_file=None, bot_token=TOKEN, database_url=db.url)  # type: ignore[call-arg, arg-type]
    session = RecordingSession()
    bot = Bot(TOKEN, session=session)
    dp = create_dispatcher(settings, db)
    await dp.emit_startup(bot=bot)  # the outbox sender, as in production
    batches, ops = db.writer.batches, db.writer.ops
    timer = Timer()
    await drive(dp, bot, session, uids, timer, echo=False)
    summary = timer.summary()
    summary["commits"] = db.writer.batches - batches
    summary["answers_per_commit"] = (db.writer.ops - ops) / summary["commits"]
    await dp.emit_shutdown(bot=bot)
    await db.close()
    submitted = sqlite3.connect(path).execute("SELECT count(*) FROM initiative WHERE status = 'submitted'").fetchone()
    assert submitted == (len(uids),), f"expected {len(uids)} submitted initiatives, found {submitted}"
    assert session.edits == len(uids), f"expected each type pick ticked in place, {session.edits} edits"
    synchronous = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()
    summary["journal"] = synchronous[0]
    return summary


def by_package(profile: cProfile.Profile) -> list[tuple[str, float]]:
    """Own CPU time (tottime) summed by where the code lives."""
    totals: dict[str, float] = {}
    for (filename, _, name), (_, _, tottime, _, _) in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        if "site-packages/" in filename:
            where = filename.split("site-packages/")[1].split("/")[0]
            where = "aiogram (dispatch, filters)" if where == "aiogram" and "/dispatcher/" in filename else where
        elif filename == "~":
            where = "pydantic_core" if "pydantic_core" in name else "builtins (dict, str, json…)"
            where = "idle: waiting in epoll" if "poll" in name else where
        elif str(Path(__file__).resolve().parent.parent) in filename:
            where = "ours: " + Path(filename).resolve().relative_to(Path(__file__).resolve().parent.parent).parts[0]
        else:
            where = "stdlib: " + Path(filename).stem
        totals[where] = totals.get(where, 0.0) + tottime
    return sorted(totals.items(), key=lambda item: -item[1])


def show(name: str, figures: dict[str, Any]) -> None:
    parts = [f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()]
    print(f"{name:>10}: " + " ".join(parts))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each; the best is reported")
    parser.add_argument("--profile", action="store_true", help="profile one more run of our bot, by package")
    args = parser.parse_args()
    uids = [500_000 + i for i in range(args.workers)]
    print(f"{args.workers} workers x {len(SCRIPT)} updates each; SQLite synchronous=FULL, WAL")
    results: dict[str, list[dict[str, Any]]] = {"echo": [], "sangkien": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            results["echo"].append(await bench_echo(uids))
            results["sangkien"].append(await bench_bot(uids, Path(tmp)))
            show("echo", results["echo"][-1])
            show("sangkien", results["sangkien"][-1])
    best = {name: max(runs, key=lambda r: r["updates_per_s"]) for name, runs in results.items()}
    print(
        f"best echo: {best['echo']['updates_per_s']:.0f} updates/s, "
        f"best sangkien: {best['sangkien']['updates_per_s']:.0f} updates/s"
    )
    print(f"ratio: {best['sangkien']['updates_per_s'] / best['echo']['updates_per_s']:.2f}")
    if args.profile:
        profile = cProfile.Profile()
        with tempfile.TemporaryDirectory() as tmp:
            profile.enable()
            await bench_bot(uids, Path(tmp))
            profile.disable()
        totals = by_package(profile)
        grand = sum(seconds for _, seconds in totals)
        print("CPU by package (cProfile tottime, our bot):")
        for where, seconds in totals[:16]:
            print(f"  {where:40} {100 * seconds / grand:5.1f}%")


if __name__ == "__main__":
    asyncio.run(main())
