"""Invite links: an officer's link and QR code place a new worker in the unit; links expire and can be revoked."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlmodel import select

from storage.members import get_member
from storage.models import Invite
from storage.roles import OFFICER
from storage.writer import Stmt
from tests.conftest import App, register
from tests.test_review import give
from tests.tgclient import TgUser


async def make_link(app: App, days: str = "") -> tuple[TgUser, str]:
    officer = app.user(first_name="Hoa", last_name="Lê Thị")
    await register(officer, unit_query="tỉnh lạng sơn")
    await give(app, officer, OFFICER, "LS")
    sent = (await officer.send(f"/invite LS-NUOC {days}".strip()))[-1]
    assert sent.kind == "photo" and "Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn" in sent.text
    upload = next(p for m, p in reversed(app.fake.log) if m == "sendPhoto")
    assert upload["photo"]["content"].startswith(b"\x89PNG")  # the printable QR code
    url = re.search(r"https://t\.me/sangkien_test_bot\?start=(\S+)", sent.text)
    assert url is not None
    return officer, url.group(1)


async def test_a_worker_who_opens_the_link_starts_in_the_unit(app: App) -> None:
    _, token = await make_link(app, "30")
    worker = app.user(first_name="Dũng", last_name="Phạm Văn")
    replies = await worker.send(f"/start {token}", expect=3)
    assert "Anh/chị được mời vào Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn." in [r.text for r in replies]
    await worker.click("Tiếng Việt")
    replies = await worker.click("Phạm Văn Dũng")
    assert "/new" in replies[-1].text  # registered: no question about the unit (the phone is in /profile)
    member = await get_member(app.db, worker.id)
    async with app.db.engine.connect() as conn:
        unit = (await conn.execute(text("SELECT code FROM unit WHERE id = :id"), {"id": member.unit_id})).scalar()  # type: ignore[union-attr]
        uses = (await conn.execute(text("SELECT uses FROM invite"))).scalar()
    assert unit == "LS-NUOC" and uses == 1


async def test_revoked_and_expired_links_are_refused(app: App) -> None:
    officer, token = await make_link(app)
    replies = await officer.send("/invites")
    assert "dùng 0 lần" in replies[-1].text
    await officer.click("Thu hồi 1", expect=0)
    assert officer.alerts[-1] == "Đã thu hồi liên kết."
    worker = app.user()
    replies = await worker.send(f"/start {token}", expect=3)
    assert any("đã hết hạn hoặc bị thu hồi" in r.text for r in replies)
    _, token = await make_link(app, "1")
    await app.db.write(
        Stmt("UPDATE invite SET expires_at = '2020-01-01 00:00:00.000000' WHERE token = :t", {"t": token})
    )
    late = app.user()
    replies = await late.send(f"/start {token}", expect=3)
    assert any("đã hết hạn hoặc bị thu hồi" in r.text for r in replies)
    async with app.db.session() as s:
        assert len((await s.exec(select(Invite))).all()) == 2
