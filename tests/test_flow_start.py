"""/start, registration and /profile through the real dispatcher."""

from __future__ import annotations

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlmodel import select

from handlers.worker.profile import parse_phone, phone_text
from handlers.worker.states import Reg
from storage.models import Event, Member
from tests.conftest import App, register
from tests.flows import tr, vi

NAME_QUESTION = "What is your full name? Type it, or press the button if it is right."
UNIT_QUESTION = "Which union unit are you in? Type part of its name, e.g. “cấp nước”."
NUOC = "Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn"
STALE = vi("This button is out of date.")


async def member_of(app: App, user_id: int) -> Member | None:
    async with app.db.session() as s:
        return (await s.exec(select(Member).where(Member.tg_user_id == user_id))).first()


async def test_registration_in_vietnamese_takes_four_actions(app: App) -> None:
    user = app.user(first_name="Bình", last_name="Trần Thị")
    replies = await user.send("/start")
    assert replies[0].button_texts() == ["🇻🇳 Tiếng Việt", "🇬🇧 English"]  # the language is a button, not a step
    assert vi(NAME_QUESTION) in replies[-1].text
    assert replies[-1].button_texts() == ["Trần Thị Bình", "Bình Trần Thị"]  # family name first
    await user.click("Trần Thị Bình")
    replies = await user.send("CAP NUOC lang son")  # case, diacritics and đ/d are ignored
    assert replies[-1].button_texts() == [NUOC]
    replies = await user.click(NUOC)
    assert "/new" in replies[-1].text and "/profile" in replies[-1].text  # no question about the phone
    member = await member_of(app, user.id)
    assert member is not None
    async with app.db.session() as s:
        events = (await s.exec(select(Event).where(Event.member_id == member.id))).all()
    assert (member.full_name, member.language, member.phone) == ("Trần Thị Bình", "vi", None)
    assert [e.kind for e in events] == ["member.registered"]


async def test_the_language_of_the_telegram_app_is_spoken_from_the_start(app: App) -> None:
    user = app.user(language_code="en")
    replies = await user.send("/start")
    assert replies[0].text.startswith("Hello!") and NAME_QUESTION in replies[-1].text
    replies = await user.send("  Nguyen   Van   An ")
    assert UNIT_QUESTION in replies[-1].text
    replies = await user.send("xyz không có")
    assert "No unit matches" in replies[-1].text
    await user.send("dau khi")
    assert user.last.button_texts()[0] == "Công đoàn Dầu khí Việt Nam"
    replies = await user.click("Công đoàn Dầu khí Việt Nam")
    assert "registered" in replies[-1].text
    member = await member_of(app, user.id)
    assert member is not None and (member.full_name, member.language, member.phone) == ("Nguyen Van An", "en", None)


@pytest.mark.parametrize("app_language", ["fr", ""])
async def test_an_app_language_the_bot_does_not_speak_gets_vietnamese(app: App, app_language: str) -> None:
    user = app.user(language_code=app_language)
    replies = await user.send("/start")
    assert vi(NAME_QUESTION) in replies[-1].text


async def test_the_language_button_asks_the_current_question_again_in_that_language(app: App) -> None:
    user = app.user()
    await user.send("/start")
    await user.click(user.last.button_texts()[0])
    replies = await user.click("English")
    assert replies[-1].text == UNIT_QUESTION
    replies = await user.click("English")  # the language already spoken: nothing to say again
    assert replies == []
    await user.send("cấp nước")
    await user.click(NUOC)
    member = await member_of(app, user.id)
    assert member is not None and member.language == "en"


@pytest.mark.parametrize(
    ("typed", "stored", "shown"),
    [
        ("0912 345 678", "+84912345678", "0912 345 678"),
        ("+84 912345678", "+84912345678", "0912 345 678"),
        ("84912345678", "+84912345678", "0912 345 678"),
        ("0912.345.678", "+84912345678", "0912 345 678"),
        ("0084-912-345-678", "+84912345678", "0912 345 678"),
        ("(024) 3826 1234", "+842438261234", "024 3826 1234"),
    ],
)
def test_vietnamese_phone_numbers_as_people_type_them(typed: str, stored: str, shown: str) -> None:
    assert parse_phone(typed) == stored and phone_text(stored) == shown


@pytest.mark.parametrize("typed", ["12345", "0012345678", "+1 555 0100", "09123456789012", "số của tôi"])
def test_what_is_not_a_vietnamese_phone_number(typed: str) -> None:
    assert parse_phone(typed) is None


async def test_the_phone_is_added_in_the_profile_typed_or_shared(app: App) -> None:
    user = app.user()
    await register(user)
    replies = await user.send("/profile")
    assert vi("Phone: {phone}", phone="—") in replies[-1].text
    await user.click(vi("Change phone"))
    assert user.last.button_texts() == [vi("📱 Share my phone number")]  # nothing to remove yet
    replies = await user.send("số của tôi")
    assert "0912 345 678" in replies[-1].text  # refused, with an example
    replies = await user.send("0912.345.678")
    assert vi("Phone: {phone}", phone="0912 345 678") in replies[-1].text
    assert (await member_of(app, user.id)).phone == "+84912345678"  # type: ignore[union-attr]
    await user.click(vi("Change phone"))
    replies = await user.send_contact("+84900000000", own=False)
    assert replies[-1].button_texts() == [vi("📱 Share my phone number"), vi("Remove the number")]
    replies = await user.send_contact("84911111111")
    assert vi("Phone: {phone}", phone="0911 111 111") in replies[-1].text
    await user.click(vi("Change phone"))
    replies = await user.send(vi("Remove the number"))
    assert vi("Phone: {phone}", phone="—") in replies[-1].text
    assert (await member_of(app, user.id)).phone is None  # type: ignore[union-attr]


async def test_start_again_greets_a_member(app: App) -> None:
    user = app.user()
    await register(user)
    replies = await user.send("/start")
    assert "Nguyễn Văn An" in replies[-1].text and "/new" in replies[-1].text


async def test_profile_changes_language_name_unit_and_phone(app: App) -> None:
    user = app.user()
    await register(user)
    replies = await user.send("/profile")
    assert vi("Name: {name}", name="Nguyễn Văn An") in replies[-1].text
    await user.click(vi("Language"))
    replies = await user.click("English")
    assert "Your profile" in replies[-1].text and "Language: English" in replies[-1].text
    await user.click("Change name")
    replies = await user.send("Nguyễn Văn Ân")
    assert "Name: Nguyễn Văn Ân" in replies[-1].text
    await user.click("Change unit")
    await user.send("dien luc")
    replies = await user.click("Công đoàn Điện lực Việt Nam")
    assert "Unit: Công đoàn Điện lực Việt Nam" in replies[-1].text
    await user.click("Change phone")
    replies = await user.send("+84 912 345 678")
    assert "Phone: 0912 345 678" in replies[-1].text
    member = await member_of(app, user.id)
    assert member is not None
    async with app.db.session() as s:
        kinds = [e.kind for e in (await s.exec(select(Event).where(Event.member_id == member.id))).all()]
    assert (member.language, member.full_name, member.phone) == ("en", "Nguyễn Văn Ân", "+84912345678")
    assert kinds.count("member.updated") == 4


async def test_cancel_during_registration_starts_over_in_the_chosen_language(app: App) -> None:
    user = app.user()
    await user.send("/start")
    await user.click("English")
    await user.send("Phạm Thị Dung")
    replies = await user.send("/cancel")
    assert "/start" in replies[-1].text
    replies = await user.send("/start")
    assert replies[-1].text.startswith(NAME_QUESTION)  # only the language is kept: it asks for the name again


async def test_unknown_command_and_text_outside_a_form(app: App) -> None:
    user = app.user()
    replies = await user.send("xin chào")
    assert "/start" in replies[-1].text
    await register(user)
    replies = await user.send("/khongco")
    assert replies[-1].text == vi("Unknown command. Send /help to see the commands.")
    replies = await user.send("xin chào")
    assert "/new" in replies[-1].text


async def test_a_sticker_at_the_unit_step_and_an_old_unit_button(app: App) -> None:
    user = app.user()
    await user.send("/start")
    await user.click(user.last.button_texts()[0])
    replies = await user.send_sticker()
    assert replies[-1].text == vi("Please type your answer as text.")
    await user.send("rạng đông")
    unit_list = user.last
    await user.click(unit_list.button_texts()[0], message=unit_list)
    await user.click(unit_list.button_texts()[0], message=unit_list, expect=0)  # registration is over
    assert user.alerts[-1] == STALE


async def test_a_registration_left_at_the_old_phone_step_still_ends(app: App) -> None:
    """Someone who was asked for the phone by the previous version finishes with Skip, as that keyboard said."""
    user = app.user()
    key = StorageKey(bot_id=app.bot.id, chat_id=user.id, user_id=user.id)
    await app.dp.fsm.storage.set_state(key, Reg.phone.state)
    await app.dp.fsm.storage.set_data(key, {"lang": "vi", "name": "Lê Văn Cường", "unit_id": 1})
    replies = await user.send(tr("Skip", "vi"))
    assert "/new" in replies[-1].text
    member = await member_of(app, user.id)
    assert member is not None and (member.full_name, member.phone) == ("Lê Văn Cường", None)
