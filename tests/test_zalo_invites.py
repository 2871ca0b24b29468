"""Invites on both channels: what each chat shows (a t.me link on Telegram, "/start CODE" to type on Zalo), the
QR code each sends, codes typed the way people type them, and linking a second app from /profile."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text

from channels.addresses import zalo_address
from reports.qr import qr_png
from storage.channels import CODE_ALPHABET
from storage.invites import CODE_LENGTH, create_invite, shown_code, valid_invite
from storage.members import get_member
from storage.roles import OFFICER
from storage.units import unit_by_code
from storage.writer import Stmt
from tests.conftest import App, register
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo, Sent
from tests.flows import vi
from tests.test_review import give
from tests.test_zalo import _as_tg, zalo_register
from tests.zalo_app import TwoChannels, serving_files
from tests.zaloclient import ZaloUser, choices, numbered

UNIT = "Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn"
TELEGRAM_LINK = re.compile(r"https://t\.me/sangkien_test_bot\?start=([A-Za-z0-9_-]+)")
ZALO_COMMAND = re.compile(r"/start ([A-Z0-9]{5}-[A-Z0-9]{5})")


async def zalo_officer(two: TwoChannels, zalo: FakeZalo) -> ZaloUser:
    officer = ZaloUser(zalo, name="Lê Thị Hoa")
    await zalo_register(officer, unit_query="tỉnh lạng sơn")
    await give(App(two.fake, two.db, two.telegram, two.dp), _as_tg(officer), OFFICER, "LS")
    return officer


def photo_of(replies: list[Sent]) -> Sent:
    photo = next(s for s in replies if s.kind == "photo")
    assert photo.photo_bytes is not None and photo.photo_url is not None
    return photo


async def uses_and_unit(two: TwoChannels, address: int) -> tuple[int, str]:
    member = await get_member(two.db, address)
    assert member is not None
    async with two.db.engine.connect() as conn:
        uses = (await conn.execute(text("SELECT uses FROM invite"))).scalar()
        unit = (await conn.execute(text("SELECT code FROM unit WHERE id = :id"), {"id": member.unit_id})).scalar()
    return int(uses or 0), str(unit)


async def test_an_invite_on_zalo_is_a_command_to_type_with_a_qr_code_of_it(
    two_files: TwoChannels, zalo: FakeZalo
) -> None:
    officer = await zalo_officer(two_files, zalo)
    photo = photo_of(await officer.send("/invite LS-NUOC 30"))
    caption = photo.body
    assert vi("Invite code for {unit} ({until}).", unit=UNIT, until="").split("(")[0] in caption
    found = ZALO_COMMAND.search(caption)
    assert found is not None, caption
    shown = found.group(1)
    assert "“Sáng kiến Bot”" in caption  # the Zalo bot members look for, by the name Zalo shows
    link = TELEGRAM_LINK.search(caption)  # Telegram is on too: its link, for those who have it
    assert link is not None and link.group(1) == shown.replace("-", "")
    assert "bot.sangkien" not in caption  # never a link made of the Zalo bot's account name
    # the QR code holds the command itself (a t.me link would open Telegram), and the caption says so
    assert photo.photo_bytes == qr_png(f"/start {shown}")
    assert vi("The QR code holds the text {command}: scanned with Zalo or a phone camera, it can be copied and "
              "sent to the bot. Print it for the notice board.", command=f"/start {shown}") in caption  # fmt: skip

    listing = (await officer.send("/invites"))[-1].body
    assert vi("Active invite codes") in listing and f"/start {shown}" in listing
    assert f"Telegram: https://t.me/sangkien_test_bot?start={shown.replace('-', '')}" in listing
    assert "bot.sangkien" not in listing and "0 lần" in listing

    worker = ZaloUser(zalo, name="Phạm Văn Dũng")
    typed = shown.lower().replace("-", " ")  # as a phone keyboard types it, with a space in the middle
    replies = await worker.send(f"/start {typed}", expect=3)
    assert vi("You were invited to {unit}.", unit=UNIT) in [r.body for r in replies]
    replies = await worker.send("1")  # the name Zalo shows, suggested as the last list's only choice
    assert f"Cảm ơn {worker.name}!" in replies[-1].body  # registered: no question about the unit
    assert await uses_and_unit(two_files, zalo_address(worker.id)) == (1, "LS-NUOC")


async def test_with_zalo_alone_an_invite_names_no_telegram_link(
    fake: FakeTelegram, zalo: FakeZalo, db_path: Path
) -> None:
    async with serving_files(fake, zalo, f"sqlite+aiosqlite:///{db_path}", bot_token=None) as two:
        officer = await zalo_officer(two, zalo)
        photo = photo_of(await officer.send("/invite LS-NUOC"))
        found = ZALO_COMMAND.search(photo.body)
        assert found is not None and "t.me" not in photo.body
        assert photo.photo_bytes == qr_png(f"/start {found.group(1)}")
        listing = (await officer.send("/invites"))[-1].body
        assert f"/start {found.group(1)}" in listing and "t.me" not in listing and "Telegram" not in listing


async def test_on_telegram_an_invite_adds_the_zalo_way_when_zalo_is_on(two: TwoChannels) -> None:
    app = App(two.fake, two.db, two.telegram, two.dp)
    officer = app.user(first_name="Hoa", last_name="Lê Thị")
    await register(officer, unit_query="tỉnh lạng sơn")
    await give(app, officer, OFFICER, "LS")
    sent = (await officer.send("/invite LS-NUOC"))[-1]
    link = TELEGRAM_LINK.search(sent.text)
    assert sent.kind == "photo" and link is not None
    token = link.group(1)
    upload = next(p for m, p in reversed(two.fake.log) if m == "sendPhoto")
    assert upload["photo"]["content"] == qr_png(link.group(0))  # on Telegram the QR code opens the link
    zalo_way = vi("On Zalo, members send this to the bot “{bot}”: {command}", bot="Sáng kiến Bot",
                  command=f"/start {shown_code(token)}")  # fmt: skip
    assert zalo_way in sent.text
    listing = (await officer.send("/invites"))[-1].text
    assert vi("Active invite links") in listing and link.group(0) in listing
    assert f"Zalo: /start {shown_code(token)}" in listing


async def test_on_telegram_alone_an_invite_is_the_link_only(app: App) -> None:
    officer = app.user(first_name="Hoa", last_name="Lê Thị")
    await register(officer, unit_query="tỉnh lạng sơn")
    await give(app, officer, OFFICER, "LS")
    sent = (await officer.send("/invite LS-NUOC"))[-1]
    assert TELEGRAM_LINK.search(sent.text) is not None and "Zalo" not in sent.text
    listing = (await officer.send("/invites"))[-1].text
    assert TELEGRAM_LINK.search(listing) is not None and "Zalo" not in listing and "/start" not in listing


async def test_new_codes_are_easy_to_type_and_typed_ones_are_found(app: App) -> None:
    unit = await unit_by_code(app.db, "LS-NUOC")
    assert unit is not None
    invite = await create_invite(app.db, unit_id=unit.id or 0, by_id=None, days=None)
    code = invite.token
    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET) and not set(code) & set("01OIl-_")
    assert len(CODE_ALPHABET) ** CODE_LENGTH >= 2**50  # unguessable
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", code)  # a Telegram start payload
    assert shown_code(code) == f"{code[:5]}-{code[5:]}"
    for typed in (code, code.lower(), f" {code[:5]} {code[5:]} ", f"{code[:5]}-{code[5:]}".lower(),
                  f"{code[:3]} – {code[3:7]}-{code[7:]}"):  # fmt: skip
        found = await valid_invite(app.db, typed)
        assert found is not None and found.token == code, typed
    for wrong in (code[:-1], code + "A", code.replace(code[0], "Z" if code[0] != "Z" else "Y"), "", "   "):
        assert await valid_invite(app.db, wrong) is None, wrong


async def test_an_old_style_code_works_exactly_as_before(app: App) -> None:
    unit = await unit_by_code(app.db, "LS-NUOC")
    assert unit is not None
    old = "Xwwk97xk0l-J"  # token_urlsafe(9), as made before
    await app.db.write(Stmt("INSERT INTO invite (token, unit_id, created_at, uses) VALUES (:t, :u, '2024-01-01', 0)",
                            {"t": old, "u": unit.id}))  # fmt: skip
    assert shown_code(old) == old
    for other in (old.lower(), old.upper(), old.replace("-", ""), old.replace("-", " ")):
        assert await valid_invite(app.db, other) is None, other
    worker = app.user(first_name="Dũng", last_name="Phạm Văn")
    replies = await worker.send(f"/start {old}", expect=3)
    assert vi("You were invited to {unit}.", unit=UNIT) in [r.text for r in replies]
    async with app.db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT uses FROM invite WHERE token = :t"), {"t": old})).scalar() == 1


async def test_a_telegram_member_links_zalo_from_the_profile_button(two: TwoChannels, zalo: FakeZalo) -> None:
    app = App(two.fake, two.db, two.telegram, two.dp)
    worker = app.user()
    await register(worker)
    profile = (await worker.send("/profile"))[-1]
    assert "🔗 Liên kết ứng dụng khác" in profile.text  # the text names the button
    replies = await worker.click("🔗 Liên kết ứng dụng khác", message=profile)
    code = re.search(r"/link ([A-Z0-9]{8})", replies[-1].text)
    assert code is not None, replies[-1].text
    on_zalo = ZaloUser(zalo, name="An trên Zalo")
    replies = await on_zalo.send(f"/link {code.group(1)}")
    assert vi("Linked: you are the same member here as on your other app, with the same drafts and initiatives. "
              "Notices now come here.") in replies[-1].body  # fmt: skip
    member, on_telegram = await get_member(two.db, zalo_address(on_zalo.id)), await get_member(two.db, worker.id)
    assert member is not None and on_telegram is not None and member.id == on_telegram.id


async def test_a_zalo_member_links_telegram_from_the_profile_by_a_typed_number(
    two: TwoChannels, zalo: FakeZalo
) -> None:
    user = ZaloUser(zalo, name="Trần Thị Bình")
    await zalo_register(user)
    profile = (await user.send("/profile"))[-1]
    assert choices(profile)[-1] == "🔗 Liên kết ứng dụng khác"
    replies = await user.send(numbered(profile)["🔗 Liên kết ứng dụng khác"])  # the number, as typed
    code = re.search(r"/link ([A-Z0-9]{8})", replies[-1].body)
    assert code is not None and not replies[-1].has_markup, replies[-1].body
    on_telegram = App(two.fake, two.db, two.telegram, two.dp).user()
    replies = await on_telegram.send(f"/link {code.group(1)}")
    assert "Đã liên kết" in replies[-1].text
    member, linked = await get_member(two.db, zalo_address(user.id)), await get_member(two.db, on_telegram.id)
    assert member is not None and linked is not None and member.id == linked.id
    assert linked.full_name == "Trần Thị Bình"
