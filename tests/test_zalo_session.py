"""The Zalo session's outbound side: photos and documents keep their buttons, a long text survives a 429 or a
server error on one of its parts without repeating the others, pacing and retries are exercised against the fake
platform, the choices stand apart from a message's own numbered lines, and a list an answer moved past is
forgotten."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError, TelegramServerError
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from aiohttp import web

from bot.app import create_zalo_bot
from bot.i18n import create_i18n
from bot.pacing import GroupPacing
from bot.settings import Settings
from channels.addresses import zalo_address
from channels.text import render, split_text
from channels.zalo.api import ZaloNetworkError
from channels.zalo.menus import Menus
from channels.zalo.session import RETRY_DELAYS, ZaloSession
from handlers.ui import keyboards
from tests.conftest import App
from tests.fake_zalo import FakeZalo
from tests.flows import TITLE, vi
from tests.test_review import card_of, give, team
from tests.test_zalo import _as_tg, zalo_fill_to_preview, zalo_number, zalo_register
from tests.zalo_app import TwoChannels
from tests.zaloclient import ZaloUser, choices, numbered

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
HINT = vi("Reply with the number of a choice, or its words.")
HEADING = vi("Type the number of your choice:")
I18N = create_i18n(Path(__file__).resolve().parent.parent / "locales", "vi")  # for calls made outside a handler


@dataclass
class Sleeps:
    """A sleep that records what was asked and waits only ``real`` of it, so that the tests stay fast."""

    real: float = 0.0
    asked: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.sleep(min(seconds, self.real))


def pacing_of(bot: Bot) -> GroupPacing:
    return next(mw for mw in bot.session.middleware if isinstance(mw, GroupPacing))


def session_of(bot: Bot) -> ZaloSession:
    assert isinstance(bot.session, ZaloSession)
    return bot.session


@dataclass
class Outbound:
    """The production Zalo bot (session and pacing) sending into the fake platform, without a dispatcher."""

    zalo: FakeZalo
    bot: Bot
    menus: Menus
    pauses: Sleeps  # GroupPacing's waits (a 429's retry-after)
    retries: Sleeps  # the session's waits before sending a part again

    def chat(self) -> tuple[str, int]:
        """A person who wrote to the bot: their Zalo id and the address the handlers use."""
        user = self.zalo.add_user()
        self.zalo.known_chats.add(user)
        return user, zalo_address(user)


@pytest.fixture
async def outbound(zalo: FakeZalo, db_path: Path) -> AsyncIterator[Outbound]:
    settings = Settings(_env_file=None, zalo_bot_token=zalo.token, zalo_api_base=zalo.base,  # type: ignore[call-arg]
                        database_url=f"sqlite+aiosqlite:///{db_path}")  # fmt: skip
    bot = create_zalo_bot(settings)
    menus = Menus(MemoryStorage(), bot.id)

    async def resolve(address: int) -> str | None:
        return next((user for user in zalo.users if zalo_address(user) == address), None)

    session_of(bot).attach(menus=menus, resolve=resolve, link=None)
    pauses, retries = Sleeps(), Sleeps()
    pacing_of(bot).sleep = pauses
    session_of(bot).sleep = retries
    yield Outbound(zalo, bot, menus, pauses, retries)
    await bot.session.close()


@pytest.fixture
async def serve_png() -> AsyncIterator[str]:
    """A local web server with a picture at /qr.png; its base URL."""

    async def png(request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    app = web.Application()
    app.router.add_get("/qr.png", png)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def long_text() -> str:
    """About 5,000 characters: three parts, each line numbered so that a repeated or lost part shows."""
    return "\n".join(f"Dòng {n}: lắp cảm biến áp lực ở cuối mạng, biến tần điều khiển bơm." for n in range(70))


# --- a long text's parts ------------------------------------------------------------------------------------


async def test_a_429_on_the_second_part_sends_each_part_once_in_order(outbound: Outbound) -> None:
    user, address = outbound.chat()
    text = long_text()
    parts = split_text(text, 2000)
    assert len(parts) == 3
    outbound.zalo.fail_next("sendMessage", 429, "Too Many Requests", retry_after=1, after=1)
    await outbound.bot.send_message(address, text)
    assert [s.text for s in outbound.zalo.in_chat(user)] == parts  # once each, in order
    assert outbound.pauses.asked == [1]  # pacing waited what the platform asked, then sent the rest
    assert [code for _method, code, _text in outbound.zalo.errors] == [429]


async def test_a_part_that_keeps_failing_is_the_first_one_sent_when_the_call_is_made_again(
    outbound: Outbound,
) -> None:
    user, address = outbound.chat()
    text = long_text()
    parts = split_text(text, 2000)
    outbound.zalo.fail_next("sendMessage", 500, "Internal Server Error", times=len(RETRY_DELAYS) + 1, after=1)
    with pytest.raises(TelegramServerError):
        await outbound.bot.send_message(address, text)
    assert outbound.retries.asked == list(RETRY_DELAYS)  # tried again at once, then left to the caller
    assert [s.text for s in outbound.zalo.in_chat(user)] == parts[:1]
    await outbound.bot.send_message(address, text)  # as the outbox does later
    assert [s.text for s in outbound.zalo.in_chat(user)] == parts
    await outbound.bot.send_message(address, text)  # a text sent whole is sent whole again
    assert [s.text for s in outbound.zalo.in_chat(user)] == parts * 2


async def test_a_server_error_on_a_part_is_sent_again_at_once(outbound: Outbound) -> None:
    user, address = outbound.chat()
    text = long_text()
    outbound.zalo.fail_next("sendMessage", 502, "Bad Gateway", after=2)
    await outbound.bot.send_message(address, text)
    assert [s.text for s in outbound.zalo.in_chat(user)] == split_text(text, 2000)
    assert outbound.retries.asked == [RETRY_DELAYS[0]] and outbound.pauses.asked == []


def cut_off(monkeypatch: pytest.MonkeyPatch, outbound: Outbound, failures: list[ZaloNetworkError | None]) -> None:
    """The network between the bot and the platform fails the next sendMessage calls as listed (None: the call
    goes through)."""
    api = session_of(outbound.bot).zalo
    real = api.call

    async def call(method: str, payload: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        if method == "sendMessage" and failures and (failure := failures.pop(0)) is not None:
            raise failure
        return await real(method, payload, timeout=timeout)

    monkeypatch.setattr(api, "call", call)


async def test_a_failed_connection_on_a_part_is_tried_again_and_a_timeout_is_not(
    outbound: Outbound, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, address = outbound.chat()
    text = long_text()
    parts = split_text(text, 2000)
    cut_off(monkeypatch, outbound, [None, ZaloNetworkError("sendMessage: ClientConnectorError: refused")])
    await outbound.bot.send_message(address, text)
    assert [s.text for s in outbound.zalo.in_chat(user)] == parts and outbound.retries.asked == [RETRY_DELAYS[0]]

    other, address = outbound.chat()
    cut_off(monkeypatch, outbound, [None, ZaloNetworkError("sendMessage: TimeoutError: ", timed_out=True)])
    with pytest.raises(TelegramNetworkError):  # it may have arrived: not sent again at once
        await outbound.bot.send_message(address, text)
    assert [s.text for s in outbound.zalo.in_chat(other)] == parts[:1] and len(outbound.retries.asked) == 1
    await outbound.bot.send_message(address, text)  # the outbox's next try: the parts after the first
    assert [s.text for s in outbound.zalo.in_chat(other)] == parts


# --- photos and documents keep their buttons ----------------------------------------------------------------


async def test_a_photo_with_buttons_is_followed_by_its_choices(outbound: Outbound, serve_png: str) -> None:
    user, address = outbound.chat()
    with I18N.context():
        sent = await outbound.bot.send_photo(address, f"{serve_png}/qr.png", caption="<b>Mã QR</b> của đơn vị",
                                             reply_markup=keyboards.languages())  # fmt: skip
    photo, listed = outbound.zalo.in_chat(user)
    assert (photo.kind, photo.photo_bytes, photo.caption) == ("photo", PNG, "Mã QR của đơn vị")
    assert choices(listed) == ["🇻🇳 Tiếng Việt", "🇬🇧 English"] and not listed.has_markup
    menu = await outbound.menus.load(address)
    assert menu is not None and menu.message_id == sent.message_id  # a typed number presses the photo's button
    assert [c.label for c in menu.choices] == ["🇻🇳 Tiếng Việt", "🇬🇧 English"]

    caption = "Chú thích dài. " * 150  # 2,250 characters: too long for a photo's caption
    with I18N.context():
        await outbound.bot.send_photo(
            address, f"{serve_png}/qr.png", caption=caption, reply_markup=keyboards.languages()
        )
    photo, *rest = outbound.zalo.in_chat(user)[2:]
    assert photo.kind == "photo" and not photo.caption
    assert "".join(s.text for s in rest).count("Chú thích dài.") == 150 and choices(rest[-1])


async def test_a_photo_without_buttons_is_one_message(outbound: Outbound, serve_png: str) -> None:
    user, address = outbound.chat()
    await outbound.bot.send_photo(address, f"{serve_png}/qr.png", caption="Biểu đồ")
    assert [(s.kind, s.caption) for s in outbound.zalo.in_chat(user)] == [("photo", "Biểu đồ")]
    assert await outbound.menus.load(address) is None


async def test_a_photo_on_zalo_keeps_its_buttons_and_a_typed_number_presses_one(
    two: TwoChannels, zalo: FakeZalo, serve_png: str
) -> None:
    user = ZaloUser(zalo)
    await user.send("/start", expect=2)
    seen = len(user.history)
    with I18N.context():  # as the outbox sends, outside a handler
        await two.zbot.send_photo(zalo_address(user.id), f"{serve_png}/qr.png", caption="Ngôn ngữ",
                                  reply_markup=keyboards.languages())  # fmt: skip
    photo, listed = user.history[seen:]
    assert photo.kind == "photo" and photo.photo_bytes == PNG
    assert listed.body == f"1. 🇻🇳 Tiếng Việt\n2. 🇬🇧 English\n{HINT}"
    replies = await user.send("2")
    assert replies[0].body == "✓ English"  # the photo's button, pressed by its number


async def test_the_photo_url_must_be_https_unless_it_is_local(two: TwoChannels, zalo: FakeZalo) -> None:
    user = ZaloUser(zalo)
    await user.send("/start", expect=2)
    with pytest.raises(TelegramBadRequest, match="HTTPS"):
        await two.zbot.send_photo(zalo_address(user.id), "http://photo.example.vn/qr.png")
    assert zalo.errors[-1] == ("sendPhoto", 400, "Bad Request: photo must be an HTTPS URL")


# --- pacing and retries, through the whole bot --------------------------------------------------------------


async def test_a_reply_refused_with_429_is_sent_after_the_wait_once(two: TwoChannels, zalo: FakeZalo) -> None:
    pauses = Sleeps(real=1.0)
    pacing_of(two.zbot).sleep = pauses
    user = ZaloUser(zalo)
    zalo.fail_next("sendMessage", 429, "Too Many Requests", retry_after=1)
    replies = await user.send("/start", expect=2)
    await asyncio.sleep(0.3)  # nothing more comes
    assert len(user.history) == 2 and replies[0].body != replies[1].body  # each once
    assert any("1. 🇻🇳 Tiếng Việt" in s.body for s in replies)
    assert not any(vi("Sorry, something went wrong on my side. Your answers so far are saved; please try again.")
                   in s.body for s in replies)  # fmt: skip
    assert pauses.asked == [1] and ("sendMessage", 429, "Too Many Requests") in zalo.errors


async def test_a_reply_refused_with_500_is_sent_again_once(two: TwoChannels, zalo: FakeZalo) -> None:
    retries = Sleeps()
    session_of(two.zbot).sleep = retries
    user = ZaloUser(zalo)
    zalo.fail_next("sendMessage", 500, "Internal Server Error", times=2)
    replies = await user.send("/start", expect=2)
    await asyncio.sleep(0.3)
    assert len(user.history) == 2 and replies[0].body != replies[1].body
    assert any("1. 🇻🇳 Tiếng Việt" in s.body for s in replies)
    assert retries.asked == list(RETRY_DELAYS)
    assert [e for e in zalo.errors if e[0] == "sendMessage"] == [("sendMessage", 500, "Internal Server Error")] * 2


async def test_a_notice_the_platform_refuses_for_a_while_is_delivered_once_by_the_outbox(
    two: TwoChannels, zalo: FakeZalo
) -> None:
    session_of(two.zbot).sleep = Sleeps()
    app = App(two.fake, two.db, two.telegram, two.dp)
    crew = await team(app, supports=1)
    worker = ZaloUser(zalo, name="Trần Thị Bình")
    await zalo_register(worker)
    await zalo_fill_to_preview(worker)
    number = zalo_number((await worker.send("gửi duyệt"))[-1].body)
    zalo.fail_next("sendMessage", 503, "Service Unavailable", times=len(RETRY_DELAYS) + 1)  # the notice's first try
    first = crew.in_group(crew.support[0])
    await first.click("Xác nhận", message=card_of(first), expect=0)
    await zalo.wait_for(lambda: any(number in s.body and "xác nhận" in s.body for s in worker.history), 20)
    await asyncio.sleep(0.3)
    told = [s for s in worker.history if number in s.body and "xác nhận hợp lệ" in s.body]
    assert len(told) == 1
    assert [e[1] for e in zalo.errors if e[0] == "sendMessage"] == [503] * (len(RETRY_DELAYS) + 1)


# --- the choices stand apart from numbered content ----------------------------------------------------------


def test_choices_get_a_heading_when_the_text_has_numbered_lines() -> None:
    keyboard = keyboards.languages()
    text = "<b>Bản nháp</b>\n1. Giảm thất thoát nước\n2) Tiết kiệm điện"
    assert render(text, keyboard, HINT, HEADING).split("\n") == [
        "Bản nháp", "1. Giảm thất thoát nước", "2) Tiết kiệm điện", "", HEADING,
        "1. 🇻🇳 Tiếng Việt", "2. 🇬🇧 English", HINT,
    ]  # fmt: skip
    for plain in ("Bước 2/13\nChọn loại:", "Số tiền: 1.500.000 đồng\n15/03/2022", "1.500.000 đồng/năm", "Năm 2022."):
        assert HEADING not in render(plain, keyboard, HINT, HEADING)
    assert render(text, None, HINT, HEADING) == "Bản nháp\n1. Giảm thất thoát nước\n2) Tiết kiệm điện"
    assert render(text, keyboard, HINT) == render(text, keyboard, HINT, None)  # no heading asked: none shown


async def test_drafts_on_zalo_set_their_choices_apart_from_the_numbered_drafts(
    two: TwoChannels, zalo: FakeZalo
) -> None:
    user = ZaloUser(zalo)
    await zalo_register(user)
    for title in (TITLE, "Tiết kiệm điện ở trạm bơm số 2"):
        await user.send("/new")
        await user.send(title)
        await user.send("luu")
    listed = (await user.send("/drafts"))[-1].body
    content, _sep, offered = listed.partition("\n\n" + HEADING + "\n")
    assert offered, listed
    assert TITLE in content and "Tiết kiệm điện" in content
    assert all(line[0].isdigit() for line in offered.split("\n")[:-1]) and offered.endswith(HINT)
    assert numbered(offered)[vi("▶️ Continue {n}").format(n=2)] == "4"  # numbers of the list, not of the text
    number = numbered(offered)[vi("🗑 Delete {n}").format(n=2)]
    replies = await user.send(number)
    assert TITLE in replies[-1].body and "Tiết kiệm điện" not in replies[-1].body  # the second draft's button


# --- a list an answer moved past is forgotten ---------------------------------------------------------------


async def test_a_question_without_choices_takes_a_typed_number_as_its_answer(two: TwoChannels, zalo: FakeZalo) -> None:
    app = App(two.fake, two.db, two.telegram, two.dp)
    helper = ZaloUser(zalo, name="Phạm Văn Một")
    await zalo_register(helper)
    await give(app, _as_tg(helper), "support", "LS-NUOC")
    profile = (await helper.send("/profile"))[-1]
    assert choices(profile)[0] == vi("Change name")
    asked = (await helper.send("/for"))[-1]
    assert asked.body == vi("Whom are you writing for? Type the member's name (or /cancel).") and not choices(asked)
    replies = await helper.send("1")  # the answer to the question, not "Change name" of the list above
    assert vi("Type your full name:") not in replies[-1].body
    assert vi("No member of your units has that name. Type it again, or add a person not registered yet.") in (
        replies[-1].body
    )


async def test_a_reply_that_stays_on_the_step_keeps_its_list(two: TwoChannels, zalo: FakeZalo) -> None:
    user = ZaloUser(zalo)
    await zalo_register(user)
    await user.send("/new")
    await user.send(TITLE)
    await user.send("1")
    step = (await user.send("6"))[-1].body  # the field of work: the next step is a long text
    assert "Bước 4/13" in step
    warned = (await user.send("🙂"))[-1]
    assert warned.body.startswith("⚠️") and not choices(warned)
    replies = await user.send("quay lai")  # Back, a choice of the question the warning is about
    assert "Bước 3/13" in replies[-1].body


# --- documents keep their buttons: the dossier on both channels is tested in test_dossier.py -----------------


async def test_a_document_lists_its_buttons_under_the_link(outbound: Outbound) -> None:
    user, address = outbound.chat()

    async def link(data: bytes, name: str) -> str:
        return f"https://bot.example.org/files/abc/{name}"

    session_of(outbound.bot).link = link
    keyboard = InlineKeyboardMarkup.model_validate(
        {"inline_keyboard": [[{"text": "✏️ Sửa thông tin", "callback_data": "x:1"}]]}
    )
    with I18N.context():
        sent = await outbound.bot.send_document(address, BufferedInputFile(b"docx", filename="don.docx"),
                                                caption="<b>Đơn</b> &amp; phụ lục", reply_markup=keyboard)  # fmt: skip
    (message,) = outbound.zalo.in_chat(user)
    assert message.text.split("\n") == [
        "Đơn & phụ lục", "", "Tải don.docx: https://bot.example.org/files/abc/don.docx", "",
        "1. ✏️ Sửa thông tin", HINT,
    ]  # fmt: skip
    menu = await outbound.menus.load(address)
    assert menu is not None and menu.message_id == sent.message_id and menu.choices[0].callback_data == "x:1"
