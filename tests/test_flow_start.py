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
    assert "Nguyễn Văn An" not in replies[-1].text or "/new" in replies[-1].text
