"""The commands on Zalo, typed, in-process against the fake Zalo Bot API: registering with an invite code, /drafts,
/history, /help, an officer's /progress and /top, and /link from Zalo to a member registered on Telegram."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy import text
from sqlmodel import select

from channels.addresses import zalo_address
from storage.invites import shown_code
from storage.members import get_member
from storage.models import Initiative
from storage.roles import OFFICER, SUPPORT
from tests.conftest import App
from tests.fake_zalo import FakeZalo, Sent
from tests.flows import TITLE, fill_to_preview, vi
from tests.test_invites import make_link
from tests.test_review import card_of, give, team
from tests.test_zalo import _as_tg, zalo_fill_to_preview, zalo_number, zalo_register
from tests.zalo_app import TwoChannels
from tests.zaloclient import ZaloUser, choices, numbered

UNIT = "Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn"


def app_of(two: TwoChannels) -> App:
    return App(two.fake, two.db, two.telegram, two.dp)


async def seen(zalo: FakeZalo, user: ZaloUser, wanted: Callable[[Sent], bool]) -> Sent:
    """The first message in the user's chat that ``wanted`` accepts, waiting for it (a notice comes from the
    outbox, a moment after the reply)."""
    await zalo.wait_for(lambda: any(wanted(s) for s in user.history), timeout=10)
    return next(s for s in user.history if wanted(s))


async def test_a_worker_registers_on_zalo_with_the_invite_code_typed_after_start(
    two: TwoChannels, zalo: FakeZalo
) -> None:
    officer, code = await make_link(app_of(two))
    shown = shown_code(code)  # "K7QMX-4PDR9": read in two parts; typed here in lower case, as people do
    assert f"Trên Zalo, đoàn viên gửi cho bot “Sáng kiến Bot”: /start {shown}" in officer.last.text
    user = ZaloUser(zalo, name="Phạm Văn Dũng")
    greeting, invited, asked = await user.send(f"/start {shown.lower()}", expect=3)
    assert [label.split(" ", 1)[1] for label in choices(greeting)] == ["Tiếng Việt", "English"]
    assert invited.body == vi("You were invited to {unit}.", unit=UNIT)
    assert asked.body.startswith(vi("What is your full name? Type it, or press the button if it is right."))
    (done,) = await user.choose(user.name, asked)  # the suggested name, by its number; no question about the unit
    assert done.body.startswith(f"Cảm ơn {user.name}! Anh/chị đã đăng ký xong.") and "/new" in done.body
    member = await get_member(two.db, zalo_address(user.id))
    assert member is not None and member.full_name == user.name
    async with two.db.engine.connect() as conn:
        unit = (await conn.execute(text("SELECT code FROM unit WHERE id = :id"), {"id": member.unit_id})).scalar()
        uses = (await conn.execute(text("SELECT uses FROM invite"))).scalar()
    assert (unit, uses) == ("LS-NUOC", 1)


async def test_drafts_lists_the_draft_and_its_typed_number_continues_it(two: TwoChannels, zalo: FakeZalo) -> None:
    user = ZaloUser(zalo, name="Trần Thị Bình")
    await zalo_register(user)
    await user.send("/new")
    await user.send(TITLE)
    (saved,) = await user.send("lưu")  # "💾 Save & exit" by its first word
    assert "/drafts" in saved.body
    (listed,) = await user.send("/drafts")
    assert listed.body.startswith(vi("Your drafts") + "\n1. " + TITLE)
    continue_first = vi("▶️ Continue {n}", n=1)
    assert continue_first in choices(listed) and not listed.has_markup
    (step,) = await user.send(numbered(listed)[continue_first])
    assert step.body.startswith(vi("Step {k}/{n}", k=2, n=13))
    (ticked,) = await user.send("1")  # the first choice of the step it reopened
    assert "✓ Giải pháp kỹ thuật" in choices(ticked)
    async with two.db.session() as session:
        (draft,) = (await session.exec(select(Initiative))).all()
    assert draft.status == "draft" and json.loads(draft.answers)["title"] == TITLE


async def submitted_to_a_zalo_helper(two: TwoChannels, zalo: FakeZalo) -> tuple[ZaloUser, ZaloUser, str]:
    """A support-team member and a worker on Zalo; the worker submits and the member gets the card: (helper, worker,
    the initiative's number)."""
    helper = ZaloUser(zalo, name="Phạm Văn Một")
    await zalo_register(helper)
    await give(app_of(two), _as_tg(helper), SUPPORT, "LS-NUOC")
    worker = ZaloUser(zalo, name="Trần Thị Bình")
    await zalo_register(worker)
    await zalo_fill_to_preview(worker)
    number = zalo_number((await worker.send("gửi duyệt"))[-1].body)
    await seen(zalo, helper, lambda s: s.body.startswith(number))
    return helper, worker, number


async def test_history_on_zalo_lists_who_did_what(two: TwoChannels, zalo: FakeZalo) -> None:
    helper, worker, number = await submitted_to_a_zalo_helper(two, zalo)
    await helper.send(f"trả lại {number}: Cần ghi rõ số tiền tiết kiệm mỗi tháng.")
    await seen(zalo, worker, lambda s: "Cần ghi rõ số tiền" in s.body)

    (history,) = await worker.send(f"/history {number}")
    assert history.body.startswith(f"{number} · {TITLE}") and not history.has_markup
    lines = history.body.splitlines()
    assert any(line.endswith("Trần Thị Bình: " + vi("draft started")) for line in lines), lines
    assert any(
        line.endswith("Trần Thị Bình: " + vi("submitted for review (round {round})", round=1)) for line in lines
    ), lines
    returned = "Phạm Văn Một: " + vi("returned for changes: {reason}", reason="Cần ghi rõ số tiền tiết kiệm mỗi tháng.")
    assert lines[-1].endswith(returned), lines


async def test_help_on_zalo_lists_the_commands_of_the_roles_held(two: TwoChannels, zalo: FakeZalo) -> None:
    worker = ZaloUser(zalo, name="Trần Thị Bình")
    await zalo_register(worker)
    (plain,) = await worker.send("/help")
    assert plain.body.startswith(vi("What I can do") + "\n/new — ") and "/drafts — " in plain.body
    assert vi("For officers") not in plain.body and not plain.has_markup
    officer = ZaloUser(zalo, name="Lê Thị Hoa")
    await zalo_register(officer, unit_query="tỉnh lạng sơn")
    await give(app_of(two), _as_tg(officer), OFFICER, "LS")
    (full,) = await officer.send("/help")
    assert "\n" + vi("For officers") + "\n/progress, /chart, /top" in full.body


async def test_progress_and_top_for_an_officer_on_zalo(two: TwoChannels, zalo: FakeZalo) -> None:
    app = app_of(two)
    officer = ZaloUser(zalo, name="Lê Thị Hoa")
    await zalo_register(officer, unit_query="tỉnh lạng sơn")
    await give(app, _as_tg(officer), OFFICER, "LS")
    helper, worker, number = await submitted_to_a_zalo_helper(two, zalo)
    await helper.send(f"xác nhận {number}")
    await helper.send(f"/congnhan {number} 12/QĐ-CĐCS 15/03/2024 Hội đồng sáng kiến Công ty", expect=0)
    recorded = vi("Recorded: {number} is recognised. The author is told.", number=number)
    await seen(zalo, helper, lambda s: s.body == recorded)

    (progress,) = await officer.send("/progress")  # the officer's own unit
    lines = progress.body.splitlines()
    assert lines[0] == vi("Progress of {unit}", unit="Liên đoàn Lao động tỉnh Lạng Sơn")
    assert lines[1].startswith("Đạt: 1 / chỉ tiêu")
    assert "Đã kiểm tra hợp lệ: 1 · đã công nhận: 1 · đã cập nhật lên hệ thống TLĐ: 0" in lines
    assert f"🔴 {UNIT}: 1/— (—)" in lines and not progress.has_markup  # counted; no quota, so under 50 %
    (top,) = await officer.send("/top LS")
    assert "🥇 Trần Thị Bình: 1 sáng kiến, 14 triệu đồng/năm" in top.body.splitlines()
    assert f"🥇 {UNIT}: 1 sáng kiến, 14 triệu đồng/năm" in top.body.splitlines()
    (refused,) = await worker.send("/progress LS")  # not an officer
    assert "Tiến độ" not in refused.body

    # the team's own figure, typed on Zalo (its note with signs HTML would take as markup): totals follow it
    await helper.send(f"/giatri {number} 12 triệu/năm; chỉ tính <vật tư> & điện", expect=0)
    recorded = f"giá trị làm lợi của {number} theo Tổ hỗ trợ kiểm tra là 12 triệu đồng/năm"
    await seen(zalo, helper, lambda s: recorded in s.body)  # the reply, and the team's card in its new look
    card = "Theo Tổ hỗ trợ kiểm tra: 12 triệu đồng/năm (chỉ tính <vật tư> & điện)"
    assert any(card in sent.body for sent in helper.history)
    (asked,) = await helper.send(f"/giatri {number}")
    assert "(chỉ tính <vật tư> & điện)" in asked.body
    (progress,) = await officer.send("/progress")
    assert "Giá trị làm lợi: 12 triệu đồng/năm" in progress.body and "theo số Tổ hỗ trợ đã kiểm tra" in progress.body


async def test_link_from_zalo_makes_a_telegram_member_one_person_and_notices_go_to_zalo(
    two: TwoChannels, zalo: FakeZalo
) -> None:
    app = app_of(two)
    crew = await team(app, supports=1)
    await fill_to_preview(crew.worker)
    number = (await crew.worker.click("Gửi duyệt"))[-1].text.split("mã số sáng kiến: ")[1].split(".")[0]
    code = (await crew.worker.send("/link"))[-1].text.split("/link ")[1].split("<")[0].strip()

    on_zalo = ZaloUser(zalo, name="An trên Zalo")
    (linked,) = await on_zalo.send(f"/link {code}")
    assert linked.body == vi("Linked: you are the same member here as on your other app, with the same drafts and "
                             "initiatives. Notices now come here.")  # fmt: skip
    (mine,) = await on_zalo.send("/my")  # what they sent on Telegram, seen on Zalo
    assert number in mine.body and TITLE in mine.body

    on_telegram = len(crew.worker.history)
    member = crew.in_group(crew.support[0])
    await member.click("Trả lại bổ sung", message=card_of(member))
    await member.send("Cần ghi rõ số tiền tiết kiệm mỗi tháng.", reply_to=member.last, expect=0)
    notice = await seen(zalo, on_zalo, lambda s: "Cần ghi rõ số tiền" in s.body)
    assert number in notice.body and "✏️ Sửa và gửi lại" in choices(notice)
    assert len(crew.worker.history) == on_telegram  # one person: told once, on the app linked last
    (opened,) = await on_zalo.choose("✏️ Sửa và gửi lại", notice)  # and they carry on from the notice on Zalo
    assert "Xem lại sáng kiến" in opened.body
