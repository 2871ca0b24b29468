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
from tests.flows import BEFORE, SOLUTION, TITLE, answer_long
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
    await worker.click("Giải pháp kỹ thuật")
    await worker.click("Sản xuất, vận hành")
    await worker.send(BEFORE)  # the first part of a long answer

    await bot.kill9()  # no goodbye: the process just dies
    assert draft_state(db_path)[0] == "before"
    await bot.start()

    replies = await worker.send("Phần hai của hiện trạng.")
    assert "Đã nhận 2 phần" in replies[-1].text  # same step, same language, the first part kept
    await worker.click("Xong")
    await answer_long(worker, SOLUTION)
    await worker.send("Trạm bơm số 2")
    await worker.send("3/2022")

    await bot.kill9()
    await bot.start()

    replies = await worker.send("14 triệu/năm")
    assert "14.000.000\u00a0₫/năm" in replies[-1].text and "Bước 9/13" in replies[-1].text
    for _ in range(4):
        await worker.click("Bỏ qua")
    await worker.click("Xong")
    replies = await worker.click("Gửi duyệt")
    assert "SK-" in replies[-1].text
    _, answers, _, status = draft_state(db_path)
    assert status == "submitted" and answers["before"] == BEFORE + "\nPhần hai của hiện trạng."
    assert answers["applied_since"] == "2022-03-01"
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
                "data": worker.find_button("Giải pháp quản lý")[1]["callback_data"],
                "message": fake.message_json(worker.last),
            }
        }
    )
    await bot.kill9()
    await bot.start()
    step, answers, _, _ = draft_state(db_path)
    assert answers["title"] == TITLE  # acknowledged before the kill: kept
    if step == "solution_type":  # the press was lost with the process: the worker presses again
        assert len(worker.history) == acknowledged
        await worker.click("Giải pháp quản lý")
    await worker.click("Khác")
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
