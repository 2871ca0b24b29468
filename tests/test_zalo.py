"""The worker's path on Zalo, in-process, against the fake Zalo Bot API over HTTP."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlmodel import select

from bot.settings import Settings
from channels.addresses import is_zalo, zalo_address
from storage.db import Database
from storage.members import get_member
from storage.models import Attachment, Event, Inbox, Initiative, Member
from storage.review import load
from tests.conftest import App, register
from tests.e2e import free_port
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo
from tests.flows import BEFORE, PLACE, SOLUTION, TITLE, fill_to_preview, vi
from tests.test_review import card_of, give, team
from tests.zalo_app import TwoChannels, serving_files, settings_for, start_two, stop_two
from tests.zaloclient import ZaloUser, choices


async def zalo_register(user: ZaloUser, unit_query: str = "cấp nước") -> None:
    """/start, Vietnamese, the name typed, the unit found by a few words and picked by its number."""
    await user.send("/start", expect=2)  # the greeting with the languages, and the name question
    await user.send("1")  # Tiếng Việt, already spoken: "✓ Tiếng Việt"
    await user.send(user.name)
    await user.send(unit_query)
    replies = await user.send("1")
    assert f"Cảm ơn {user.name}!" in replies[-1].body


async def zalo_fill_to_preview(user: ZaloUser) -> None:
    await user.send("/new")
    await user.send(TITLE)
    await user.send("giai phap ky thuat")  # the type, typed without diacritics
    await user.send("6")  # the field, by its number in the same list
    await user.send(BEFORE)
    await user.send(SOLUTION)
    await user.send(PLACE)
    await user.send("15/03/2022")
    await user.send("14 triệu/năm")


def zalo_number(text: str) -> str:
    return "SK-" + text.split("SK-")[1][:6]


async def test_a_worker_on_zalo_submits_a_telegram_group_confirms_and_the_worker_is_told_on_zalo(
    two: TwoChannels, zalo: FakeZalo
) -> None:
    app = App(two.fake, two.db, two.telegram, two.dp)
    crew = await team(app)
    worker = ZaloUser(zalo, name="Trần Thị Bình")
    await zalo_register(worker)
    await zalo_fill_to_preview(worker)
    preview = worker.last
    assert "📨 Gửi duyệt" in choices(preview) and TITLE in preview.body
    replies = await worker.send("gửi duyệt")
    number = zalo_number(replies[-1].body)
    assert all(not s.has_markup and len(s.body) <= 2000 for s in worker.history)

    first = crew.in_group(crew.support[0])
    card = card_of(first)
    assert card.text.startswith(number) and TITLE in card.text and "Trần Thị Bình" in card.text
    await first.click("Xác nhận", message=card, expect=0)
    await zalo.wait_for(lambda: number in worker.last.body and "xác nhận" in worker.last.body)
    assert "xác nhận hợp lệ" in worker.last.body
    replies = await worker.send("/my")
    assert number in replies[-1].body


async def zalo_team(two: TwoChannels, zalo: FakeZalo) -> tuple[str, list[ZaloUser]]:
    """A Zalo group bound by an officer who registered on Zalo, and two support-team members in it."""
    app = App(two.fake, two.db, two.telegram, two.dp)
    group = zalo.add_group(title="Tổ hỗ trợ sáng kiến Cấp nước")
    officer = ZaloUser(zalo, name="Lê Thị Hoa")
    await zalo_register(officer, unit_query="tỉnh lạng sơn")
    await give(app, _as_tg(officer), "officer", "LS")
    helpers = []
    for name in ("Phạm Văn Một", "Phạm Văn Hai"):
        person = ZaloUser(zalo, name=name)
        await zalo_register(person)
        await give(app, _as_tg(person), "support", "LS-NUOC")
        helpers.append(person.in_group(group))
    replies = await officer.in_group(group).send("/bind LS-NUOC")
    assert "Công ty CP Cấp nước Lạng Sơn" in replies[-1].body
    return group, helpers


async def test_a_zalo_support_group_returns_one_with_a_reason(two: TwoChannels, zalo: FakeZalo) -> None:
    group, helpers = await zalo_team(two, zalo)
    worker = ZaloUser(zalo, name="Trần Thị Bình")
    await zalo_register(worker)
    await zalo_fill_to_preview(worker)
    number = zalo_number((await worker.send("gửi duyệt"))[-1].body)
    await zalo.wait_for(lambda: any(number in s.body for s in zalo.in_chat(group)))
    card = next(s for s in zalo.in_chat(group) if number in s.body)
    assert f"Xác nhận {number}" in card.body and f"Trả lại bổ sung {number}" in card.body
    assert TITLE in card.body and not card.has_markup

    first, second = helpers
    await first.send(f"nhận {number}")  # Take, typed as its first word
    await first.send(f"Trả lại {number}: Cần ghi rõ số tiền tiết kiệm mỗi tháng.", expect=1)
    await zalo.wait_for(lambda: "Cần ghi rõ số tiền" in worker.last.body)
    notice = worker.last
    assert number in notice.body and "trả lại" in notice.body and "Sửa và gửi lại" in notice.body
    await zalo.wait_for(lambda: any("Lý do: Cần ghi rõ" in s.body for s in zalo.in_chat(group)))
    replies = await second.send(f"xác nhận {number}")
    assert "Phạm Văn Một" in replies[-1].body  # already decided, and by whom
    review = await load(two.db, int(number[3:]))
    assert review is not None and review.initiative.status == "changes_requested"


def _as_tg(user: ZaloUser) -> Any:
    """The member record of a Zalo user is found by their address, as the bot computes it."""
    from channels.addresses import zalo_address

    class Who:
        id = zalo_address(user.id)

    return Who()


async def test_typed_choices_with_and_without_diacritics_numbers_and_free_text(
    two: TwoChannels, zalo: FakeZalo
) -> None:
    user = ZaloUser(zalo)
    await zalo_register(user)
    await user.send("/new")
    replies = await user.send("Quay lại là bước đầu")  # free text that starts with a label word: an answer
    assert "Bước 2/13" in replies[-1].body
    await user.send("QUAY LAI")  # Back, in capitals without diacritics
    assert "Bước 1/13" in user.last.body and "Quay lại là bước đầu" in user.last.body
    await user.send("giu nguyen")  # Keep current answer, by its words without diacritics
    assert "Bước 2/13" in user.last.body
    listed = choices(user.last)
    assert listed[:2] == ["Giải pháp kỹ thuật", "Giải pháp quản lý"]
    await user.send("2.")  # a number with a dot
    assert "✓ Giải pháp quản lý" in user.last.body
    await user.send("tai chinh, ke toan")
    assert "Bước 4/13" in user.last.body
    await user.send("luu")  # Save & exit, by a short word
    assert "/drafts" in user.last.body
    async with two.db.session() as session:
        draft = (await session.exec(select(Initiative))).one()
    answers = json.loads(draft.answers)
    assert answers["title"] == "Quay lại là bước đầu" and answers["field"] == "finance"


async def test_a_long_answer_is_split_never_cut(two: TwoChannels, zalo: FakeZalo) -> None:
    group, (first, _second) = await zalo_team(two, zalo)
    user = ZaloUser(zalo)
    await zalo_register(user)
    sentence = "Lắp cảm biến áp lực ở cuối mạng, biến tần điều khiển bơm theo áp lực đo được. "
    long_solution = (sentence * 40).strip()  # about 3,100 characters
    await user.send("/new")
    for answer in (TITLE, "1", "6", BEFORE, long_solution, PLACE, "15/03/2022", "14 triệu/năm"):
        await user.send(answer)
    number = zalo_number((await user.send("gửi duyệt"))[-1].body)
    await zalo.wait_for(lambda: any(number in s.body for s in zalo.in_chat(group)))
    private = ZaloUser(zalo, user_id=first.id, name=first.name)
    seen = len(private.history)
    await first.send(f"xem đầy đủ {number}", expect=0)
    await zalo.wait_for(lambda: any(PLACE in s.body for s in private.history[seen:]))
    parts = [s.body for s in private.history[seen:]]
    assert all(len(part) <= 2000 for part in parts) and not any(s.has_markup for s in private.history)
    joined = "\n".join(parts)
    assert long_solution in joined.replace("\n", " ") or long_solution in joined  # whole, in order


async def test_a_photo_is_an_attachment_and_a_sticker_is_asked_again(two: TwoChannels, zalo: FakeZalo) -> None:
    user = ZaloUser(zalo)
    await zalo_register(user)
    await user.send("/new")
    replies = await user.send_sticker()
    assert "Bước 1/13" in replies[-1].body or "chữ" in replies[-1].body  # asked again, as text
    await user.send(TITLE)
    await user.send("1")
    await user.send("6")
    for text in (BEFORE, SOLUTION, PLACE, "15/03/2022", "14 triệu/năm"):
        await user.send(text)
    await user.send(vi("➕ Add details").split(" ", 1)[1])
    await user.send(vi("Files"))
    replies = await user.send_photo(url="https://zalo.example/photo/abc.jpg")
    assert "Đã nhận tệp thứ 1" in replies[-1].body
    await user.send("xong")
    await user.send("gửi duyệt")
    async with two.db.session() as session:
        files = (await session.exec(select(Attachment))).all()
    assert [(f.kind, f.file_id) for f in files] == [("photo", "https://zalo.example/photo/abc.jpg")]


async def test_a_redelivered_zalo_message_has_no_second_effect(two: TwoChannels, zalo: FakeZalo) -> None:
    user = ZaloUser(zalo)
    await zalo_register(user)
    await user.send("/new")
    update = zalo.text_update(user.id, TITLE)
    await zalo.deliver(update)
    await zalo.wait_for(lambda: "Bước 2/13" in user.last.body)
    before = len(user.history)
    await zalo.deliver(update)  # the same message again (a retried delivery)
    await user.send("1")  # and the next answer still lands on step 2
    assert len(user.history) == before + 1 and "✓ Giải pháp kỹ thuật" in user.last.body
    async with two.db.session() as session:
        events = (await session.exec(select(Event).where(Event.kind == "draft.answered"))).all()
    assert len([e for e in events if TITLE in e.detail]) <= 1


async def test_an_update_fetched_before_a_crash_is_handled_at_the_next_start(
    fake: FakeTelegram, zalo: FakeZalo, db_path: Path
) -> None:
    settings = settings_for(f"sqlite+aiosqlite:///{db_path}", fake, zalo)
    user = ZaloUser(zalo)
    first = await start_two(fake, zalo, settings)
    await zalo_register(user)
    await stop_two(first)
    from storage.channels import inbox_put

    db = Database(settings.database_url)
    await db.start()
    update = zalo.text_update(user.id, "/new")
    zalo.push(update)  # the platform knows the chat, as it would
    zalo._queue.clear()
    await inbox_put(db, f"zalo:{zalo.bot_id}:{update['message']['message_id']}", f"zalo:{zalo.bot_id}",
                    json.dumps(update))  # fmt: skip
    await db.close()
    second = await start_two(fake, zalo, settings)
    try:
        await zalo.wait_for(lambda: "Bước 1/13" in user.last.body)
        for _ in range(100):  # the row goes once the update is handled, just after its reply
            async with second.db.session() as session:
                if not (await session.exec(select(Inbox))).all():
                    break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the inbox still holds the update")
    finally:
        await stop_two(second)


async def test_a_telegram_member_links_zalo_and_is_told_there(two: TwoChannels, zalo: FakeZalo) -> None:
    app = App(two.fake, two.db, two.telegram, two.dp)
    crew = await team(app)
    replies = await crew.worker.send("/link")
    code = replies[-1].text.split("/link ")[1].split("<")[0].strip()
    on_zalo = ZaloUser(zalo, name="An trên Zalo")
    replies = await on_zalo.send(f"/link {code}")
    assert "Đã liên kết" in replies[-1].body or "Linked" in replies[-1].body
    replies = await on_zalo.send(f"/link {code}")
    assert "đã dùng" in replies[-1].body or "used" in replies[-1].body or "already" in replies[-1].body
    await zalo_fill_to_preview(on_zalo)
    number = zalo_number((await on_zalo.send("gửi duyệt"))[-1].body)
    card = card_of(crew.in_group(crew.support[0]))
    assert card.text.startswith(number)
    await crew.in_group(crew.support[0]).click("Xác nhận", message=card, expect=0)
    await zalo.wait_for(lambda: number in on_zalo.last.body and "xác nhận" in on_zalo.last.body)
    replies = await crew.worker.send("/my")  # the same member on Telegram sees it too
    assert number in replies[-1].text
    member, on_telegram = await get_member(two.db, zalo_address(on_zalo.id)), await get_member(two.db, crew.worker.id)
    assert member is not None and on_telegram is not None and member.id == on_telegram.id
    assert member.tg_user_id == zalo_address(on_zalo.id)  # notices go to the app linked last


def test_zalo_and_telegram_ids_never_meet() -> None:
    telegram_user, telegram_group = 2**52 - 1, -1_009_999_999_999
    for zalo_id in ("7c4e1f0d2a9b44e1a8f3", "1", "0" * 40):
        user, group = zalo_address(zalo_id), zalo_address(zalo_id, group=True)
        assert is_zalo(user) and is_zalo(group) and user > 0 > group
        assert abs(user) > telegram_user and abs(group) > abs(telegram_group) and user < 2**63
    assert not is_zalo(telegram_user) and not is_zalo(telegram_group)
    assert zalo_address("a") != zalo_address("b") and zalo_address("a") == zalo_address("a")


async def test_a_chart_on_zalo_is_a_photo_at_a_served_link(two_files: TwoChannels, zalo: FakeZalo) -> None:
    base = two_files.dp["settings"].public_base_url
    officer = ZaloUser(zalo, name="Lê Thị Hoa")
    await zalo_register(officer, unit_query="tỉnh lạng sơn")
    await give(App(two_files.fake, two_files.db, two_files.telegram, two_files.dp), _as_tg(officer), "officer", "LS")
    replies = await officer.send("/chart")
    photo = next(s for s in replies if s.kind == "photo")
    assert photo.photo_url is not None and photo.photo_url.startswith(base + "/files/")
    assert photo.photo_bytes is not None and photo.photo_bytes.startswith(b"\x89PNG")
    assert photo.photo_content_type == "image/png"


async def test_a_member_who_blocked_the_bot_is_unreachable_until_they_write_again(
    two: TwoChannels, zalo: FakeZalo
) -> None:
    _group, (first, _second) = await zalo_team(two, zalo)
    worker = ZaloUser(zalo, name="Trần Thị Bình")
    await zalo_register(worker)
    await zalo_fill_to_preview(worker)
    number = zalo_number((await worker.send("gửi duyệt"))[-1].body)
    zalo.block(worker.id)
    await first.send(f"xác nhận {number}", expect=1)
    address = zalo_address(worker.id)

    async def reachable() -> bool:
        async with two.db.session() as session:
            member = (await session.exec(select(Member).where(Member.tg_user_id == address))).one()
        return member.reachable

    for _ in range(100):  # the notice is delivered by the outbox just after the decision
        if not await reachable():
            break
        await asyncio.sleep(0.05)
    assert not await reachable()
    zalo.unblock(worker.id)
    replies = await worker.send("/my")
    assert number in replies[-1].body and await reachable()


async def test_a_zalo_team_without_a_group_decides_privately_by_typed_commands(
    two: TwoChannels, zalo: FakeZalo
) -> None:
    app = App(two.fake, two.db, two.telegram, two.dp)
    helper = ZaloUser(zalo, name="Phạm Văn Một")
    await zalo_register(helper)
    await give(app, _as_tg(helper), "support", "LS-NUOC")
    worker = ZaloUser(zalo, name="Trần Thị Bình")
    await zalo_register(worker)
    await zalo_fill_to_preview(worker)
    number = zalo_number((await worker.send("gửi duyệt"))[-1].body)
    await zalo.wait_for(lambda: helper.last.body.startswith(number))
    assert f"Xác nhận {number}" in helper.last.body
    await helper.send(f"từ chối {number}: Trùng với sáng kiến đã có của phân xưởng.")
    await zalo.wait_for(lambda: "Trùng với sáng kiến" in worker.last.body)
    assert "không được Tổ hỗ trợ sáng kiến xác nhận hợp lệ" in worker.last.body
    review = await load(two.db, int(number[3:]))
    assert review is not None and review.initiative.status == "rejected"


async def test_an_officer_names_a_zalo_member_by_the_id_their_profile_shows(two: TwoChannels, zalo: FakeZalo) -> None:
    app = App(two.fake, two.db, two.telegram, two.dp)
    officer = ZaloUser(zalo, name="Lê Thị Hoa")
    await zalo_register(officer, unit_query="tỉnh lạng sơn")
    await give(app, _as_tg(officer), "officer", "LS")
    helper = ZaloUser(zalo, name="Phạm Văn Một")
    await zalo_register(helper)
    profile = (await helper.send("/profile"))[-1].body
    their_id = profile.split("Mã số của anh/chị: ")[1].split(" ")[0]
    assert their_id == str(zalo_address(helper.id))
    replies = await officer.send(f"/role add support {their_id} LS-NUOC")
    assert "Phạm Văn Một" in replies[-1].body and "Tổ hỗ trợ" in replies[-1].body


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n% ban ve tram bom\n%%EOF\n"


async def test_full_text_on_zalo_shows_the_files_attached_on_telegram(
    fake: FakeTelegram, zalo: FakeZalo, db_path: Path
) -> None:
    async with serving_files(fake, zalo, f"sqlite+aiosqlite:///{db_path}") as two:
        base = str(two.dp["settings"].public_base_url)
        group, (first, _second) = await zalo_team(two, zalo)
        worker = App(fake, two.db, two.telegram, two.dp).user()
        await register(worker)
        await fill_to_preview(worker)
        await worker.click(vi("➕ Add details"))
        await worker.click(vi("Files"))
        await worker.send_photo(content=JPEG)
        await worker.send_document("so-do-cu.pdf")  # a file Telegram no longer gives out
        await worker.send_document("ban-ve.pdf", content=PDF)
        await worker.click("Xong")
        number = zalo_number((await worker.click("Gửi duyệt"))[-1].text)
        await zalo.wait_for(lambda: any(s.body.startswith(number) for s in zalo.in_chat(group)))

        private = ZaloUser(zalo, user_id=first.id, name=first.name)
        seen = len(private.history)
        replies = await first.send(f"xem đầy đủ {number}")
        assert replies[-1].body == vi("Sent to you privately.")
        shown = private.history[seen:]
        assert shown[0].body.startswith(number) and PLACE in "\n".join(s.body for s in shown)
        photo, missing, document = shown[-3:]
        assert photo.kind == "photo" and photo.photo_bytes == JPEG and (photo.photo_url or "").startswith(base)
        assert missing.body == "⚠️ " + vi("Attachment {n} ({name}) could not be shown.", n=2, name="so-do-cu.pdf")
        link = document.body.split(": ", 1)[1]
        assert document.body.startswith(vi("Download {name}: {url}", name="ban-ve.pdf", url=""))
        async with aiohttp.ClientSession() as http, http.get(link) as response:
            assert response.status == 200 and await response.read() == PDF
        assert not any("PUBLIC_BASE_URL" in s.body or s.has_markup for s in shown)


async def test_full_text_on_telegram_shows_the_photos_sent_on_zalo(two: TwoChannels, zalo: FakeZalo) -> None:
    crew = await team(App(two.fake, two.db, two.telegram, two.dp), supports=1)
    worker = ZaloUser(zalo, name="Trần Thị Bình")
    await zalo_register(worker)
    await zalo_fill_to_preview(worker)
    await worker.send(vi("➕ Add details").split(" ", 1)[1])
    await worker.send(vi("Files"))
    await worker.send_photo(url=zalo.host_photo("da-xoa.jpg", None))  # gone from Zalo by the time it is asked for
    await worker.send_photo(url=zalo.host_photo("tram-bom.jpg", JPEG))
    await worker.send("xong")
    number = zalo_number((await worker.send("gửi duyệt"))[-1].body)

    member = crew.in_group(crew.support[0])
    card = card_of(member)
    assert card.text.startswith(number)
    seen = len(crew.support[0].history)
    await member.click("Xem đầy đủ", message=card, expect=0)
    assert member.alerts[-1] == vi("Sent to you privately.")
    shown = crew.support[0].history[seen:]
    assert shown[0].text.startswith(number) and TITLE in shown[0].text
    missing, photo = shown[-2:]
    assert missing.text == "⚠️ " + vi("Attachment {n} ({name}) could not be shown.", n=1, name=vi("a photo"))
    upload = next(p for m, p in reversed(two.fake.log) if m == "sendPhoto")
    assert photo.kind == "photo" and upload["photo"]["content"] == JPEG
    assert upload["photo"]["filename"] == "tram-bom.jpg"


async def test_zalo_alone_runs_and_answers(
    zalo: FakeZalo, db_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """`sangkien run` with ZALO_BOT_TOKEN and no BOT_TOKEN: the command's own run_polling, stopped as by SIGTERM."""
    from bot import runner

    stop = asyncio.Event()
    monkeypatch.setattr(runner, "stop_on_signals", lambda: stop)
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{db_path}",  # type: ignore[call-arg]
        zalo_bot_token=zalo.token,
        zalo_api_base=zalo.base,
        public_base_url="http://bot.example.org",
        webhook_port=free_port(),
    )
    assert settings.zalo_on and not settings.telegram_on
    running = asyncio.create_task(runner.run_polling(settings))
    try:
        user = ZaloUser(zalo, name="Hà Văn Tư")
        greeting, question = await user.send("/start", expect=2)
        assert greeting.body.startswith(vi("Hello! I help union members write up and register their initiatives "
                                           "(sáng kiến)."))  # fmt: skip
        assert question.body.startswith(vi("What is your full name?"))
        await user.send(user.name)
        await user.send("cấp nước")
        assert "Anh/chị đã đăng ký xong" in (await user.send("1"))[-1].body
    finally:
        stop.set()
        await zalo.stop()  # ends the long poll under way at once, as the platform's timeout would
        await asyncio.wait_for(running, 20)
    assert "PUBLIC_BASE_URL is http://, not https://" in caplog.text
    assert not any(r.levelname == "ERROR" for r in caplog.records), caplog.text
