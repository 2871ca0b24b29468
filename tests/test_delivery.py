"""Regression tests: updates confirmed only after they are handled, redelivery without a second effect, the
outbox after a crash, cards posted for what waited before a group existed, buttons bound to their card and
round, harmless Telegram answers, and optional start-up calls."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message, Update
from sqlalchemy import text

from bot.polling import Poller
from storage.initiatives import get_draft, submit
from storage.members import get_member
from storage.models import Initiative
from tests.conftest import ROOT, App, build_app, close_app, make_settings, register
from tests.fake_telegram import FakeTelegram
from tests.flows import TITLE, fill_to_preview
from tests.test_review import GROUP, card_of, team


async def rows(app: App, sql: str, **params: object) -> list[tuple[object, ...]]:
    async with app.db.read_engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]


def private(user_id: int, text_: str, message_id: int = 1) -> dict[str, object]:
    chat = {"id": user_id, "type": "private", "first_name": "An"}
    return {"message": {"message_id": message_id, "date": int(time.time()), "chat": chat,
                        "from": {"id": user_id, "is_bot": False, "first_name": "An"}, "text": text_}}  # fmt: skip


async def test_an_update_is_confirmed_only_after_it_is_handled(fake: FakeTelegram) -> None:
    bot = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))
    dp, gate, handled = Dispatcher(), asyncio.Event(), []

    @dp.message()
    async def slow_or_fast(message: Message) -> None:
        if message.text == "slow":
            await gate.wait()
        handled.append(message.text)

    poller, stop = Poller(dp, bot, allowed_updates=["message"], timeout=1, idle_wait=0.05), asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    slow = fake.push_update(private(1, "slow"))
    fast = fake.push_update(private(2, "fast"))
    await fake.wait_for(lambda: handled == ["fast"])
    polls = sum(1 for m, _ in fake.log if m == "getUpdates")
    await fake.wait_for(lambda: sum(1 for m, _ in fake.log if m == "getUpdates") > polls + 2)
    assert fake.fetched_offset <= slow  # the slow update is not confirmed while it is being handled
    gate.set()
    await fake.wait_for(lambda: fake.fetched_offset > fast)
    stop.set()
    await task
    await poller.drain(1)
    assert handled == ["fast", "slow"]  # returned again by getUpdates, yet each handled once
    await bot.session.close()


async def test_a_redelivered_update_has_no_second_effect(app: App) -> None:
    worker = app.user()
    await register(worker)
    await worker.send("/new")
    update = Update.model_validate({"update_id": 999_001, **private(worker.id, TITLE, 77)}, context={"bot": app.bot})
    await app.dp.feed_update(app.bot, update)
    await app.dp.feed_update(app.bot, update)  # Telegram again, after a restart before it heard the confirmation
    member = await get_member(app.db, worker.id)
    (draft_id,) = (await rows(app, "SELECT id FROM initiative WHERE author_id = :a", a=member.id if member else 0))[0]
    draft = await get_draft(app.db, int(str(draft_id)))
    assert draft is not None and draft.state.answers == {"title": TITLE} and draft.state.step == "solution_type"
    assert len([m for m in worker.history if "Bước 2/13" in m.text]) == 1  # asked once, not twice


async def test_a_submission_committed_before_a_crash_gets_its_card_and_notice_after_restart(
    fake: FakeTelegram, db_path: Path
) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{db_path}", fake)
    app = await build_app(fake, settings)
    crew = await team(app)
    await fill_to_preview(crew.worker)
    member = await get_member(app.db, crew.worker.id)
    assert member is not None
    (iid,) = (await rows(app, "SELECT id FROM initiative WHERE author_id = :a", a=member.id))[0]
    draft = await get_draft(app.db, int(str(iid)))
    assert draft is not None
    assert await submit(app.db, draft, member, app.dp["form"]) is not None  # committed; then the process dies
    await app.dp["outbox"].stop()
    await app.bot.session.close()
    await app.db.close()

    restarted = await build_app(fake, settings)  # the sender resumes what the dead process left
    await restarted.dp["outbox"].settle()
    assert await rows(restarted, "SELECT round FROM review_card WHERE initiative_id = :i", i=iid) == [(1,)]
    assert card_of(crew.in_group(crew.support[0])).text.startswith("SK-")
    assert "SK-" in crew.worker.last.text and "gửi duyệt" in crew.worker.last.text.lower()
    assert await rows(restarted, "SELECT count(*) FROM outbox WHERE done_at IS NULL") == [(0,)]
    await close_app(restarted)


async def test_what_waited_before_the_group_existed_is_posted_when_it_is_bound(app: App) -> None:
    crew = await team(app, bind=False, supports=0)
    await fill_to_preview(crew.worker)
    replies = await crew.worker.click("Gửi duyệt")
    assert "chưa có nhóm" in replies[-1].text  # it waits, and the worker is told so
    officer = crew.in_group(crew.officer)
    await officer.send("/bind LS-NUOC vi")
    await app.dp["outbox"].settle()  # the sender's loop posts them (paced); here, without waiting for its tick
    card = card_of(officer)
    assert TITLE in card.text and "Xác nhận" in " ".join(card.button_texts())
    queue = await officer.send("/queue")
    assert TITLE in queue[-1].text


async def test_cards_a_team_had_privately_go_to_its_group_once_it_is_bound(app: App) -> None:
    crew = await team(app, bind=False, supports=1)
    await fill_to_preview(crew.worker)
    await crew.worker.click("Gửi duyệt")
    helper = crew.support[0]
    await app.fake.wait_for(lambda: helper.last.text.startswith("SK-"))
    officer = crew.in_group(crew.officer)
    await officer.send("/bind LS-NUOC vi")
    await app.dp["outbox"].settle()
    card = card_of(officer)
    assert TITLE in card.text
    await crew.in_group(helper).click("Xác nhận", message=card, expect=0)
    await app.fake.wait_for(lambda: "xác nhận hợp lệ" in crew.worker.last.text)
    private = app.fake.messages[helper.id][helper.history[-1].message_id]
    assert "đã xác nhận hợp lệ" in private.text  # the private copy shows the decision too


async def test_a_button_acts_only_on_the_card_it_was_pressed_on(app: App) -> None:
    crew = await team(app)
    for n in range(2):
        await fill_to_preview(crew.worker)
        await crew.worker.click("Gửi duyệt")
        if n:  # the second reads like the first: the worker is shown it, and submits anyway
            await crew.worker.click("Vẫn gửi duyệt")
    member = crew.in_group(crew.support[0])
    cards = [m for m in member.history if m.text.startswith("SK-")]
    a, b = cards[-2], cards[-1]
    confirm_a = next(btn["callback_data"] for row in a.buttons for btn in row if "Xác nhận" in btn["text"])
    iid_a = int(confirm_a.split(":")[2])
    forged = confirm_a.replace(f":{iid_a}:", f":{iid_a + 1}:")  # card A's Confirm carrying B's id
    before = app.fake.messages[GROUP["id"]][a.message_id].text
    await member.press(a, forged, expect=0)
    assert "đã cũ" in member.alerts[-1]
    assert await rows(app, "SELECT status FROM initiative WHERE id = :i", i=iid_a + 1) == [("submitted",)]
    assert app.fake.messages[GROUP["id"]][a.message_id].text == before and b.text.startswith("SK-")


async def test_an_old_rounds_button_does_not_decide_the_resubmission(app: App) -> None:
    crew = await team(app)
    await fill_to_preview(crew.worker)
    await crew.worker.click("Gửi duyệt")
    member = crew.in_group(crew.support[0])
    first_card = card_of(member)
    old_confirm = next(btn["callback_data"] for row in first_card.buttons for btn in row if "Xác nhận" in btn["text"])
    await member.click("Trả lại bổ sung", message=first_card)
    await member.send("Thiếu số liệu tiết kiệm điện.", reply_to=member.last)
    await crew.worker.click("Sửa và gửi lại")
    await crew.worker.click("Gửi duyệt")
    assert card_of(member).message_id != first_card.message_id
    await member.press(first_card, old_confirm, expect=0)  # a replay of the first round's Confirm
    iid = int(old_confirm.split(":")[2])
    assert await rows(app, "SELECT status, review_round FROM initiative WHERE id = :i", i=iid) == [("submitted", 2)]
    assert "đã cũ" in member.alerts[-1] and "gửi lại" in member.alerts[-1]


async def test_the_current_page_button_is_not_an_error(app: App, caplog: pytest.LogCaptureFixture) -> None:
    from storage.units import unit_by_code
    from tests.test_review import give

    officer = app.user()
    await register(officer, unit_query="tỉnh lạng sơn")
    await give(app, officer, "officer", "LS")
    unit = await unit_by_code(app.db, "LS")
    assert unit is not None
    await officer.send("/progress")
    answers = len(app.fake.callback_answers)
    caplog.set_level(logging.INFO)
    await officer.press(officer.last, f"v1g:{unit.id}:0", expect=0)  # the page already shown
    assert [r for r in caplog.records if r.levelno > logging.INFO] == []
    assert len(app.fake.callback_answers) == answers + 1  # answered once, not again with "something went wrong"


async def test_a_failing_command_menu_is_a_warning_not_a_crash(
    fake: FakeTelegram, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake.broken["setMyCommands"] = 502
    app = await build_app(fake, make_settings(f"sqlite+aiosqlite:///{db_path}", fake), units=False)
    assert any("command menu" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    user = app.user()
    replies = await user.send("/start")
    assert replies  # and the bot answers
    await close_app(app)


def test_the_tests_do_not_read_the_developers_environment() -> None:
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0", "DATABASE_URL": "postgresql://nobody@nowhere/x"}
    probe = "import tests.conftest, os; print(os.environ.get('REDIS_URL'), os.environ.get('DATABASE_URL'))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["None", "None"]


async def test_a_status_is_never_decided_in_a_stale_round(app: App) -> None:
    """The compare-and-set carries the round: a decision for round 1 does nothing once round 2 exists."""
    from storage.review import Decision, decide

    crew = await team(app)
    await fill_to_preview(crew.worker)
    await crew.worker.click("Gửi duyệt")
    async with app.db.session() as session:
        item = (await session.exec(__import__("sqlmodel").select(Initiative))).first()
    assert item is not None and item.id is not None
    assert not await decide(app.db, item.id, item.author_id, Decision.CONFIRM, None, item.review_round + 1)
    assert await decide(app.db, item.id, item.author_id, Decision.CONFIRM, None, item.review_round)


async def test_an_update_that_never_finishes_does_not_hold_back_the_others(fake: FakeTelegram) -> None:
    """Telegram returns at most 100 updates from the offset: a stuck handler is stopped after its time."""
    bot = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url)))
    dp, handled = Dispatcher(), []

    @dp.message()
    async def stuck_or_not(message: Message) -> None:
        if message.text == "stuck":
            await asyncio.Event().wait()
        handled.append(message.text)

    poller = Poller(dp, bot, allowed_updates=["message"], timeout=1, idle_wait=0.05, handler_timeout=1.0)
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    fake.push_update(private(1, "stuck"))
    for n in range(150):
        fake.push_update(private(2, f"m{n}", n + 2))
    await fake.wait_for(lambda: len(handled) == 150, timeout=30)
    stop.set()
    await task
    await poller.drain(1)
    assert handled[-1] == "m149" and not poller.running
    await bot.session.close()
