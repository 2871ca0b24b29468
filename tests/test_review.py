"""The support group: binding, the team, the review card and its buttons, reasons, resubmission."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from storage.members import get_member
from storage.models import Event, Initiative, ReviewGroup
from storage.roles import OFFICER, SUPPORT, grant
from storage.units import unit_by_code
from tests.conftest import App, register
from tests.flows import fill_to_preview, vi
from tests.tgclient import TgUser

GROUP = {"id": -100_200_300, "type": "supergroup", "title": "Tổ hỗ trợ sáng kiến Cấp nước"}


@dataclass
class Team:
    worker: TgUser
    officer: TgUser
    support: list[TgUser]
    group: dict[str, Any]

    def in_group(self, who: TgUser) -> TgUser:
        return who.in_group(self.group)


async def give(app: App, user: TgUser, role: str, unit_code: str) -> None:
    member, unit = await get_member(app.db, user.id), await unit_by_code(app.db, unit_code)
    assert member is not None and unit is not None
    await grant(app.db, member_id=member.id or 0, unit_id=unit.id or 0, role=role, by_id=None)


async def team(app: App, *, language: str = "vi", bind: bool = True, supports: int = 2) -> Team:
    worker = app.user(username="an_nuoc")
    await register(worker, lang=language)
    officer = app.user(first_name="Hoa", last_name="Lê Thị", username="hoa_ldld")
    await register(officer, unit_query="tỉnh lạng sơn", lang=language)
    await give(app, officer, OFFICER, "LS")
    support = []
    for i in range(supports):
        person = app.user(first_name=f"Tổ viên {i + 1}", last_name="Phạm", username=f"tovien{i + 1}")
        await register(person, lang=language)
        await give(app, person, SUPPORT, "LS-NUOC")
        support.append(person)
    group = dict(GROUP)
    app.fake.admins[group["id"]] = {officer.id}
    crew = Team(worker, officer, support, group)
    if bind:
        await crew.in_group(officer).send(f"/bind LS-NUOC {language}")
    return crew


def card_of(chat: TgUser) -> Any:
    return next(m for m in reversed(chat.history) if m.text.startswith("SK-"))


async def test_a_worker_submits_the_team_returns_it_the_worker_resubmits_and_it_is_confirmed(app: App) -> None:
    crew = await team(app)
    officer_in_group, first, second = (
        crew.in_group(crew.officer),
        crew.in_group(crew.support[0]),
        crew.in_group(crew.support[1]),
    )
    assert "nhóm của Tổ hỗ trợ sáng kiến Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn" in officer_in_group.last.text
    await fill_to_preview(crew.worker)
    replies = await crew.worker.click("Gửi duyệt")
    assert "SK-" in replies[-1].text and "chưa có nhóm" not in replies[-1].text
    card = card_of(first)
    assert "Tự động duy trì áp lực mạng cấp nước" in card.text and "14 triệu đồng/năm" in card.text
    assert card.button_texts() == [
        "🙋 Nhận kiểm tra",
        "✅ Xác nhận",
        "↩️ Trả lại bổ sung",
        "⛔ Từ chối",
        "🔁 Trùng lặp với…",
        "📄 Xem đầy đủ",
        "📝 Đơn công nhận",
    ]

    await first.click("Nhận kiểm tra", message=card, expect=0)
    assert "Đang kiểm tra: Phạm Tổ viên 1" in app.fake.messages[GROUP["id"]][card.message_id].text
    await first.click("Trả lại bổ sung", message=card)
    prompt = first.last
    assert prompt.markup == {"force_reply": True, "selective": True} and "nội dung cần bổ sung" in prompt.text
    await first.send("Cần ghi rõ số tiền tiết kiệm mỗi tháng.", reply_to=prompt, expect=0)
    card = app.fake.messages[GROUP["id"]][card.message_id]
    assert "Phạm Tổ viên 1 đã trả lại để bổ sung (" in card.text and "Lý do: Cần ghi rõ" in card.text
    assert card.button_texts() == ["📄 Xem đầy đủ", "📝 Đơn công nhận"]  # decided: no more decision buttons

    notice = crew.worker.last
    assert "được trả lại để bổ sung" in notice.text and "Cần ghi rõ số tiền" in notice.text
    replies = await crew.worker.click("Sửa và gửi lại", message=notice)
    assert "Xem lại sáng kiến" in replies[-1].text
    await crew.worker.click(vi("Money"))  # the preview's short label
    await crew.worker.send("1,2 triệu/tháng")
    replies = await crew.worker.click("Gửi duyệt")
    number = replies[-1].text.split("mã số sáng kiến: ")[1].split(".")[0]
    new_card = card_of(second)
    assert new_card.message_id != card.message_id and "Gửi lại; đã sửa: Giá trị làm lợi" in new_card.text
    await second.click("Xác nhận", message=new_card, expect=0)
    assert "Phạm Tổ viên 2 đã xác nhận hợp lệ (" in app.fake.messages[GROUP["id"]][new_card.message_id].text
    assert "xác nhận hợp lệ" in crew.worker.last.text and number in crew.worker.last.text

    replies = await crew.worker.send(f"/history {number}")
    history = replies[-1].text
    for line in (
        "gửi duyệt (lần 1)",
        "nhận kiểm tra",
        "trả lại để bổ sung: Cần ghi rõ",
        "gửi duyệt (lần 2)",
        "xác nhận",
    ):
        assert line in history
    replies = await officer_in_group.send("/queue")
    assert "Không có sáng kiến nào đang chờ" in replies[-1].text


async def test_reject_in_an_english_group_and_cancel_a_reason(app: App) -> None:
    crew = await team(app, language="en")
    member = crew.in_group(crew.support[0])
    await fill_to_preview_en(crew.worker)
    card = card_of(member)
    assert "Money benefit: 14 million VND/year" in card.text
    await member.click("Reject", message=card)
    replies = await member.send("/cancel")
    assert "nothing was recorded" in replies[-1].text
    await member.click("Reject", message=card)
    await member.send("Already registered last year as SK-000001.", reply_to=member.last, expect=0)
    assert "Rejected by Phạm Tổ viên 1" in app.fake.messages[GROUP["id"]][card.message_id].text
    assert "was not accepted" in crew.worker.last.text and "last year" in crew.worker.last.text


async def fill_to_preview_en(user: TgUser) -> None:
    await fill_to_preview(user, lang="en")
    await user.click("Submit for review")


async def test_who_may_press_and_forged_or_replayed_buttons(app: App) -> None:
    crew = await team(app, supports=1)
    await fill_to_preview(crew.worker)
    await crew.worker.click("Gửi duyệt")
    member = crew.in_group(crew.support[0])
    card = card_of(member)
    outsider = app.user(first_name="Khách")
    await register(outsider, unit_query="dầu khí")
    stranger = crew.in_group(outsider)
    await stranger.click("Xác nhận", message=card, expect=0)
    assert stranger.alerts[-1] == "Chỉ Tổ hỗ trợ sáng kiến của đơn vị mới làm được việc này."
    other_team = app.user(first_name="Tổ viên BSR")
    await register(other_team, unit_query="bsr")
    await give(app, other_team, SUPPORT, "DK-BSR")  # the support team of another unit
    await crew.in_group(other_team).click("Xác nhận", message=card, expect=0)
    assert other_team.alerts[-1] == "Chỉ Tổ hỗ trợ sáng kiến của đơn vị mới làm được việc này."
    _, confirm = member.find_button("Xác nhận", card)
    forged = confirm["callback_data"].replace(confirm["callback_data"].split(":")[-1], "999999")
    await member.press(card, forged, expect=0)  # an initiative with no card in this group
    assert member.alerts[-1] == "Nút này đã cũ, không dùng được nữa."
    await member.press(card, confirm["callback_data"], expect=0)
    await member.press(card, confirm["callback_data"], expect=0)  # replayed after the decision
    assert member.alerts[-1].startswith("Sáng kiến này đã có kết quả: đã xác nhận (Phạm Tổ viên 1, ")
    async with app.db.session() as s:
        row = (await s.exec(select(Initiative))).one()
        decisions = (await s.exec(select(Event).where(Event.kind == "review.confirmed"))).all()
    assert row.status == "confirmed" and len(decisions) == 1


async def test_binding_is_refused_to_non_officers_and_non_admins(app: App) -> None:
    crew = await team(app, bind=False, supports=1)
    member = crew.in_group(crew.support[0])
    replies = await member.send("/bind LS-NUOC")
    assert "Chỉ cán bộ công đoàn" in replies[-1].text
    app.fake.admins[GROUP["id"]] = set()  # the officer is no longer an administrator of the group
    replies = await crew.in_group(crew.officer).send("/bind LS-NUOC")
    assert "Chỉ quản trị viên của nhóm" in replies[-1].text
    replies = await crew.in_group(crew.officer).send("/bind KHONG-CO")
    assert "/bind kèm mã đơn vị" in replies[-1].text
    async with app.db.session() as s:
        assert (await s.exec(select(ReviewGroup))).first() is None


async def test_team_is_managed_by_reply_and_by_username(app: App) -> None:
    crew = await team(app, supports=0)
    officer = crew.in_group(crew.officer)
    newcomer = app.user(first_name="Mai", last_name="Đỗ Thị", username="mai_nuoc")
    await register(newcomer)
    replies = await officer.send("/team add", reply_to=newcomer)
    assert "Đã thêm Đỗ Thị Mai vào Tổ hỗ trợ sáng kiến" in replies[-1].text
    replies = await officer.send("/team")
    assert "Đỗ Thị Mai" in replies[-1].text and "Lê Thị Hoa" in replies[-1].text
    replies = await officer.send("/team remove @mai_nuoc")
    assert "không còn giữ vai trò" in replies[-1].text
    replies = await crew.in_group(newcomer).send("/team add @an_nuoc")
    assert "Chỉ cán bộ công đoàn" in replies[-1].text


async def test_many_members_deciding_at_once_give_one_decision(app: App) -> None:
    await race(app)


async def race(app: App) -> None:
    """Eight members press Confirm on the same card at the same moment: exactly one decision."""
    crew = await team(app, supports=8)
    await fill_to_preview(crew.worker)
    await crew.worker.click("Gửi duyệt")
    card = card_of(crew.in_group(crew.support[0]))
    members = [crew.in_group(person) for person in crew.support]
    _, confirm = members[0].find_button("Xác nhận", card)
    await asyncio.gather(*(m.press(card, confirm["callback_data"], expect=0) for m in members))
    async with app.db.session() as s:
        decisions = (await s.exec(select(Event).where(Event.kind == "review.confirmed"))).all()
    assert len(decisions) == 1
    assert sum("xác nhận hợp lệ" in m.text for m in crew.worker.history) == 1
    assert sum(a.startswith("Sáng kiến này đã có kết quả: đã xác nhận (") for a in crew.support[0].alerts) == 7


async def test_a_group_that_becomes_a_supergroup_keeps_its_binding(app: App) -> None:
    crew = await team(app, supports=1)
    old = {"id": GROUP["id"], "type": "group", "title": GROUP["title"]}
    await crew.in_group(crew.officer)._message(0, migrate_to_chat_id=-100_999_888)
    new = {"id": -100_999_888, "type": "supergroup", "title": GROUP["title"]}
    app.fake.add_chat(new)
    del old
    await fill_to_preview(crew.worker)
    await crew.worker.click("Gửi duyệt")
    assert card_of(crew.support[0].in_group(new)).text.startswith("SK-")


async def test_no_group_up_the_tree_the_worker_waits_and_officers_are_told(app: App) -> None:
    crew = await team(app, bind=False, supports=0)
    await fill_to_preview(crew.worker)
    replies = await crew.worker.click("Gửi duyệt")
    assert "chưa có nhóm của Tổ hỗ trợ sáng kiến trên bot nên sáng kiến tạm chờ" in replies[-1].text
    assert "đang chờ duyệt nhưng đơn vị chưa có nhóm của Tổ hỗ trợ sáng kiến" in crew.officer.last.text


async def test_a_team_without_a_group_gets_the_cards_privately_and_decides_there(app: App) -> None:
    crew = await team(app, bind=False, supports=1)
    helper = crew.support[0]
    await fill_to_preview(crew.worker)
    replies = await crew.worker.click("Gửi duyệt")
    assert "chưa có nhóm" not in replies[-1].text
    await app.fake.wait_for(lambda: helper.last.text.startswith("SK-"))
    card = helper.last
    assert "Trả lại bổ sung" in " ".join(card.button_texts())
    await helper.click("Trả lại bổ sung", message=card)
    prompt = helper.last
    assert prompt.markup == {"force_reply": True, "selective": True}
    await helper.send("Cần ghi rõ số tiền tiết kiệm mỗi tháng.", reply_to=prompt, expect=0)
    await app.fake.wait_for(lambda: "Cần ghi rõ số tiền" in crew.worker.last.text)
    assert "được trả lại để bổ sung" in crew.worker.last.text
    assert "Lý do: Cần ghi rõ" in app.fake.messages[helper.id][card.message_id].text  # the private card shows it
    assert "chưa có nhóm" not in crew.officer.last.text


async def test_a_group_that_removed_the_bot_is_marked_unreachable(app: App) -> None:
    crew = await team(app, supports=0)
    app.fake.kicked.add(GROUP["id"])
    await fill_to_preview(crew.worker)
    replies = await crew.worker.click("Gửi duyệt")
    assert "tạm chờ" in replies[-1].text and "bot đã bị xóa khỏi nhóm" in crew.officer.last.text
    async with app.db.session() as s:
        assert (await s.exec(select(ReviewGroup))).one().reachable is False


async def test_full_text_goes_privately_with_attachments(app: App) -> None:
    crew = await team(app, supports=1)
    await fill_to_preview(crew.worker)
    await crew.worker.click(vi("➕ Add details"))
    await crew.worker.click(vi("Files"))
    await crew.worker.send_photo()
    await crew.worker.send_document()
    await crew.worker.click("Xong")
    await crew.worker.click("Gửi duyệt")
    member = crew.in_group(crew.support[0])
    await member.click("Xem đầy đủ", message=card_of(member), expect=0)
    assert member.alerts[-1] == "Đã gửi riêng cho anh/chị."
    private = crew.support[0].history[-3:]
    assert "Lắp cảm biến áp lực" in private[0].text and [m.kind for m in private[1:]] == ["photo", "document"]


async def test_daily_reminder_lists_what_waited_too_long(app: App) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from handlers.team.reminders import send_reminders

    crew = await team(app, supports=1)
    officer, member = crew.in_group(crew.officer), crew.in_group(crew.support[0])
    replies = await member.send("/remind 8 2")
    assert "Chỉ cán bộ công đoàn" in replies[-1].text
    replies = await officer.send("/remind 8 2")
    assert "8:00" in replies[-1].text and "2 ngày" in replies[-1].text
    await fill_to_preview(crew.worker)
    await crew.worker.click("Gửi duyệt")
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    later = (datetime.now(tz) + timedelta(days=3)).replace(hour=8, minute=0)
    assert await send_reminders(app.bot, app.db, app.dp["i18n"], tz, later.replace(hour=9)) == 0  # not its hour
    assert await send_reminders(app.bot, app.db, app.dp["i18n"], tz, later - timedelta(days=2)) == 0  # not late yet
    assert await send_reminders(app.bot, app.db, app.dp["i18n"], tz, later) == 1
    assert "đã chờ hơn 2 ngày" in officer.last.text and "SK-" in officer.last.text
    await officer.send("/remind off")
    assert await send_reminders(app.bot, app.db, app.dp["i18n"], tz, later) == 0


async def test_team_member_picked_from_the_units_registered_members(app: App) -> None:
    crew = await team(app, supports=0)
    officer = crew.in_group(crew.officer)
    replies = await officer.send("/team add")
    assert (
        "Chọn người thêm vào Tổ hỗ trợ sáng kiến" in replies[-1].text and "Nguyễn Văn An" in replies[-1].button_texts()
    )
    outsider = crew.in_group(crew.worker)
    await outsider.click("Nguyễn Văn An", message=replies[-1], expect=0)
    assert crew.worker.alerts[-1].startswith("Chỉ cán bộ công đoàn")
    replies = await officer.click("Nguyễn Văn An", message=replies[-1])
    assert "Đã thêm Nguyễn Văn An vào Tổ hỗ trợ sáng kiến" in replies[-1].text


async def test_take_return_and_confirm_in_an_english_group(app: App) -> None:
    crew = await team(app, language="en", supports=2)
    first, second = crew.in_group(crew.support[0]), crew.in_group(crew.support[1])
    await fill_to_preview_en(crew.worker)
    card = card_of(first)
    assert card.button_texts() == [
        "🙋 Take",
        "✅ Confirm",
        "↩️ Request changes",
        "⛔ Reject",
        "🔁 Duplicate of…",
        "📄 Full text",
        "📝 Application for recognition",
    ]
    await first.click("Take", message=card, expect=0)
    assert "Taken by Phạm Tổ viên 1" in app.fake.messages[GROUP["id"]][card.message_id].text
    await first.click("Request changes", message=card)
    assert "reason for returning" in first.last.text
    await first.send("Please add the monthly saving.", reply_to=first.last, expect=0)
    assert "Returned for changes by Phạm Tổ viên 1" in app.fake.messages[GROUP["id"]][card.message_id].text
    assert "was returned for changes" in crew.worker.last.text
    await crew.worker.click("Edit and resubmit", message=crew.worker.last)
    await crew.worker.click("Submit for review")
    new_card = card_of(second)
    assert "Resubmitted; changed: —" in new_card.text  # nothing was changed, and the card says so
    await second.click("Confirm", message=new_card, expect=0)
    assert "Confirmed by Phạm Tổ viên 2" in app.fake.messages[GROUP["id"]][new_card.message_id].text
    assert "is confirmed" in crew.worker.last.text


async def test_officers_grant_roles_privately_for_their_subtree(app: App) -> None:
    crew = await team(app, bind=False, supports=0)
    newcomer = app.user(first_name="Mai", last_name="Đỗ Thị", username="mai_nuoc")
    await register(newcomer)
    replies = await crew.officer.send("/role add officer @mai_nuoc LS-NUOC")
    assert "Đã thêm Đỗ Thị Mai làm cán bộ công đoàn của đơn vị" in replies[-1].text
    replies = await newcomer.send("/role add support @an_nuoc LS")  # an officer below may not grant above
    assert "Chỉ cán bộ công đoàn" in replies[-1].text
    replies = await newcomer.send("/role add support @an_nuoc LS-NUOC")
    assert "Đã thêm Nguyễn Văn An vào Tổ hỗ trợ sáng kiến" in replies[-1].text
    replies = await crew.officer.send("/role add boss @mai_nuoc LS")
    assert "/role add officer @hoa_ldld LS" in replies[-1].text
    async with app.db.session() as s:
        grants = (await s.exec(select(Event).where(Event.kind == "role.granted"))).all()
    assert len(grants) >= 3  # every grant is in the event log
