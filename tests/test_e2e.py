"""End to end: the real `sangkien run` process, Telegram faked over HTTP, a worker on the other side."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import register
from tests.e2e import BotProcess
from tests.fake_telegram import FakeTelegram
from tests.flows import BEFORE, SOLUTION, TITLE, vi
from tests.tgclient import TgUser


@pytest.fixture
async def bot(fake: FakeTelegram, db_path: Path, tmp_path: Path) -> AsyncIterator[BotProcess]:
    process = BotProcess(fake, tmp_path, {"DATABASE_URL": f"sqlite+aiosqlite:///{db_path}"})
    await process.start()
    yield process
    if process.proc is not None and process.proc.returncode is None:
        await process.kill9()


def draft_state(db_path: Path) -> tuple[str, dict[str, object], list[str], str]:
    row = (
        sqlite3.connect(db_path)
        .execute("SELECT step, answers, pending, status FROM initiative ORDER BY id DESC LIMIT 1")
        .fetchone()
    )
    return row[0], json.loads(row[1]), json.loads(row[2]), row[3]


async def test_worker_completes_an_initiative_across_a_kill_9(
    fake: FakeTelegram, bot: BotProcess, db_path: Path
) -> None:
    worker = TgUser(fake, bot.deliver, 777_001)
    await register(worker)
    assert fake.commands[""][0]["description"] == "Viết sáng kiến mới"  # setMyCommands, vi and en
    assert fake.commands["en"][0]["description"] == "Write up a new initiative"
    await worker.send("/new")
    await worker.send(TITLE)
    await worker.click(vi("Technical solution"), expect=0)  # ticked in place
    await fake.wait_for(lambda: worker.last.edits == 1)
    await worker.click(vi("Production and operation"))
    first_piece = (BEFORE + " ") * 60  # over 3,500 characters: likely a piece of a paste, the rest awaited
    await worker.send(first_piece)

    await bot.kill9()  # no goodbye: the process just dies
    step, _, pending, _ = draft_state(db_path)
    assert (step, pending) == ("before", [first_piece.strip()])
    await bot.start()

    replies = await worker.send("Phần cuối của hiện trạng.")  # the last piece, after the restart
    assert vi("Step {k}/{n}", k=5, n=13) in replies[-1].text  # same language, the first piece kept and joined
    await worker.send(SOLUTION)
    await worker.send("Trạm bơm số 2")
    await worker.send("3/2022")

    await bot.kill9()
    await bot.start()

    replies = await worker.send("14 triệu/năm")
    summary = replies[-1]
    assert vi("Preview of your initiative") in summary.text and "14" in summary.text
    solution = "⚠️ " + vi("Solution")  # a 20-word solution is warned about, with a button to it; nothing blocked
    assert summary.button_texts() == [vi("📨 Submit for review"), vi("➕ Add details"), vi("✏️ Edit"), solution]
    await worker.click(vi("➕ Add details"), expect=0)
    await fake.wait_for(lambda: summary.edits == 1)  # the buttons of the empty parts, in place
    await worker.click(vi("Files"))
    await worker.send_photo()

    await bot.kill9()
    await bot.start()

    await worker.click(vi("✅ Done"))
    replies = await worker.click(vi("📨 Submit for review"))
    assert "SK-" in replies[-1].text
    _, answers, _, status = draft_state(db_path)
    assert status == "submitted" and answers["before"] == first_piece.strip() + "\nPhần cuối của hiện trạng."
    assert answers["applied_since"] == "2022-03" and len(answers["files"]) == 1  # a month alone: no invented day
    assert not [e for e in fake.errors], fake.errors  # the bot never sent anything Telegram would refuse


async def test_kill_9_at_any_moment_loses_no_acknowledged_answer(
    fake: FakeTelegram, bot: BotProcess, db_path: Path
) -> None:
    worker = TgUser(fake, bot.deliver, 777_002)
    await register(worker)
    await worker.send("/new")
    await worker.send(TITLE)
    acknowledged = len(worker.history)
    fake.push_update(
        {
            "callback_query": {  # pressed, and the bot dies before (or while) answering
                "id": "k9",
                "from": worker.user,
                "chat_instance": "ci",
                "data": worker.find_button(vi("Management solution"))[1]["callback_data"],
                "message": fake.message_json(worker.last),
            }
        }
    )
    await bot.kill9()
    await bot.start()
    _, answers, _, _ = draft_state(db_path)
    assert answers["title"] == TITLE  # acknowledged before the kill: kept
    assert len(worker.history) == acknowledged  # a pick is ticked in place: never a new message
    if "solution_type" not in answers:  # the press was lost with the process: the worker presses again
        await worker.click(vi("Management solution"), expect=0)
    await worker.click(vi("Other"))
    step, answers, _, _ = draft_state(db_path)
    assert (step, answers["solution_type"], answers["field"]) == ("before", "management", "other")


async def test_sigterm_exits_cleanly(fake: FakeTelegram, bot: BotProcess) -> None:
    worker = TgUser(fake, bot.deliver, 777_003)
    await worker.send("/start", expect=2)
    assert await bot.terminate() == 0
    assert "stopped cleanly" in bot.log() and "Traceback" not in bot.log()


async def test_bad_configuration_is_one_line_and_exit_2(fake: FakeTelegram, tmp_path: Path) -> None:
    process = BotProcess(fake, tmp_path, {"BOT_TOKEN": "not-a-token"})
    with pytest.raises(AssertionError, match="exited with 2"):
        await process.start()
    assert "BOT_TOKEN is malformed" in process.log() and "Traceback" not in process.log()
    process = BotProcess(fake, tmp_path, {"DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none"})
    with pytest.raises(AssertionError, match="exited with 2"):
        await process.start()
    assert "cannot open the database" in process.log() and "Traceback" not in process.log()
