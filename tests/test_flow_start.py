"""/start, registration and /profile through the real dispatcher."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Event, Member
from tests.conftest import App, register


async def test_registration_in_vietnamese(app: App) -> None:
    user = app.user(first_name="Bình", last_name="Trần Thị")
    replies = await user.send("/start")
    assert "Choose your language" in replies[-1].text
    assert replies[-1].button_texts() == ["🇻🇳 Tiếng Việt", "🇬🇧 English"]
    replies = await user.click("Tiếng Việt")
    assert replies[-1].button_texts() == ["Trần Thị Bình", "Bình Trần Thị"]  # family name first
    await user.click("Trần Thị Bình")
    replies = await user.send("CAP NUOC lang son")  # case, diacritics and đ/d are ignored
    assert replies[-1].button_texts() == ["Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn"]
    await user.click("Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn")
    replies = await user.send_contact("+84912345678")
    assert "/new" in replies[-1].text
    async with app.db.session() as s:
        member = (await s.exec(select(Member).where(Member.tg_user_id == user.id))).one()
        events = (await s.exec(select(Event).where(Event.member_id == member.id))).all()
    assert (member.full_name, member.language, member.phone) == ("Trần Thị Bình", "vi", "+84912345678")
    assert [e.kind for e in events] == ["member.registered"]


async def test_registration_in_english_skipping_phone(app: App) -> None:
    user = app.user()
    await user.send("/start", expect=2)
    await user.click("English")
    replies = await user.send("  Nguyen   Van   An ")
    assert "unit" in replies[-1].text
    replies = await user.send("xyz không có")
    assert "No unit matches" in replies[-1].text
    await user.send("dau khi")
    assert user.last.button_texts()[0] == "Công đoàn Dầu khí Việt Nam"
    await user.click("Công đoàn Dầu khí Việt Nam")
    replies = await user.send("Skip")
    assert "registered" in replies[-1].text
    async with app.db.session() as s:
        member = (await s.exec(select(Member).where(Member.tg_user_id == user.id))).one()
    assert (member.full_name, member.language, member.phone) == ("Nguyen Van An", "en", None)


async def test_someone_elses_contact_is_refused(app: App) -> None:
    user = app.user()
    await register_until_phone(user)
    replies = await user.send_contact("+84900000000", own=False)
    assert replies[-1].button_texts()[0].startswith("📱")
    async with app.db.session() as s:
        assert (await s.exec(select(Member).where(Member.tg_user_id == user.id))).first() is None


async def register_until_phone(user) -> None:  # type: ignore[no-untyped-def]
    await user.send("/start", expect=2)
    await user.click("Tiếng Việt")
    await user.send("Lê Văn Cường")
    await user.send("rạng đông")
    await user.click(user.last.button_texts()[0])


async def test_start_again_greets_a_member(app: App) -> None:
    user = app.user()
    await register(user)
    replies = await user.send("/start")
    assert replies[-1].text.startswith("Chào mừng Nguyễn Văn An quay lại!") and "/new" in replies[-1].text


async def test_profile_changes_language_name_unit_and_phone(app: App) -> None:
    user = app.user()
    await register(user)
    replies = await user.send("/profile")
    assert "Họ tên: Nguyễn Văn An" in replies[-1].text and "Số điện thoại: +84912345678" in replies[-1].text
    await user.click("Ngôn ngữ")
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
    replies = await user.send("Skip")
    assert "Phone: —" in replies[-1].text
    async with app.db.session() as s:
        member = (await s.exec(select(Member).where(Member.tg_user_id == user.id))).one()
        kinds = [e.kind for e in (await s.exec(select(Event).where(Event.member_id == member.id))).all()]
    assert (member.language, member.full_name, member.phone) == ("en", "Nguyễn Văn Ân", None)
    assert kinds.count("member.updated") == 4


async def test_cancel_during_registration_starts_over_in_the_chosen_language(app: App) -> None:
    user = app.user()
    await user.send("/start", expect=2)
    await user.click("Tiếng Việt")
    await user.send("Phạm Thị Dung")
    replies = await user.send("/cancel")
    assert "/start" in replies[-1].text
    replies = await user.send("/start", expect=2)
    assert "Họ và tên" in replies[-1].text  # only the language is kept: it asks for the name again


async def test_unknown_command_and_text_outside_a_form(app: App) -> None:
    user = app.user()
    replies = await user.send("xin chào")
    assert "/start" in replies[-1].text
    await register(user)
    replies = await user.send("/khongco")
    assert "Không có lệnh này" in replies[-1].text
    replies = await user.send("xin chào")
    assert "/new" in replies[-1].text


async def test_a_sticker_at_the_phone_step_and_an_old_unit_button(app: App) -> None:
    user = app.user()
    await register_until_phone(user)
    unit_list = next(m for m in user.history if m.text.startswith("Chọn đơn vị"))
    replies = await user.send_sticker()
    assert replies[-1].button_texts()[0].startswith("📱")
    await user.send_contact("+84911111111")
    await user.click(unit_list.button_texts()[0], message=unit_list, expect=0)  # registration is over
    assert user.alerts[-1] == "Nút này đã cũ, không dùng được nữa."
