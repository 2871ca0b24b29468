"""The support team writes for a member: for a registered member, for a person not registered yet, a draft the
member hands to the team, and who may do it."""

from __future__ import annotations

import asyncio
import re

from sqlmodel import select

from handlers.ui.callbacks import DraftAction, DraftCb, ProxyAction, ProxyCb
from storage.members import get_member, update_member
from storage.models import Initiative, Member
from storage.proxy import NO_CHAT
from storage.roles import SUPPORT
from tests.conftest import App, build_app, close_app, make_settings, register
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo
from tests.flows import BEFORE, PLACE, SOLUTION, TITLE, vi
from tests.test_review import GROUP, card_of, give, team
from tests.test_zalo import zalo_register, zalo_team
from tests.tgclient import TgUser
from tests.zalo_app import TwoChannels
from tests.zaloclient import ZaloUser, choices


async def answer_steps(user: TgUser, money: str = "14 triệu/năm") -> None:
    """The required steps after the title, as the worker's own walk answers them."""
    await user.click(vi("Technical solution"), expect=0)
    await user.click(vi("Production and operation"))
    await user.send(BEFORE)
    await user.send(SOLUTION)
    await user.send(PLACE)
    await user.send("15/03/2022")
    await user.send(money)


def named(user: TgUser, name: str) -> str:
    """The button of the member found by name (their unit's name follows)."""
    return next(text for text in user.last.button_texts() if text.startswith(name + " — "))


async def initiatives(app: App) -> list[Initiative]:
    async with app.db.session() as session:
        return list((await session.exec(select(Initiative).order_by(Initiative.id))).all())  # type: ignore[arg-type]


async def test_a_team_member_writes_for_a_registered_member_who_sees_edits_and_is_told(app: App) -> None:
    crew = await team(app)
    helper, worker = crew.support[0], crew.worker
    author = await get_member(app.db, worker.id)
    assert author is not None
    replies = await helper.send("/for nguyen an")
    assert replies[-1].button_texts() == [f"{author.full_name} — Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn",
                                          vi("➕ A person not registered yet")]  # fmt: skip
    await helper.click(named(helper, author.full_name))
    assert vi("You are writing a new draft for {name}. Every answer is saved at once; the draft is theirs, and "
              "they can see and change it.", name=author.full_name) in helper.last.text  # fmt: skip
    assert "Phạm Tổ viên 1 (Tổ hỗ trợ sáng kiến) đã bắt đầu viết giúp" in worker.last.text
    await helper.send(TITLE)
    await answer_steps(helper)
    assert "📨 Gửi duyệt" in helper.last.button_texts()

    replies = await worker.send("/drafts")  # the member sees the draft and changes the money benefit
    assert TITLE in replies[-1].text and vi("🤝 Ask the team {n}", n=1) not in replies[-1].button_texts()
    await worker.click(vi("▶️ Continue {n}", n=1))
    await worker.click(vi("Money"))
    await worker.send("20 triệu/năm")

    replies = await helper.click("Gửi duyệt", message=helper.last)
    assert replies[-1].text.startswith("✅ Đã gửi duyệt sáng kiến của " + author.full_name)
    card = card_of(crew.in_group(helper))
    assert TITLE in card.text and "20 triệu đồng/năm" in card.text and author.full_name in card.text
    number = replies[-1].text.split("mã số ")[1].split(";")[0]
    assert number in worker.last.text  # the author is told the number, as after their own submission
    [item], writer = await initiatives(app), await get_member(app.db, helper.id)
    assert writer is not None and (item.author_id, item.helper_id, item.status) == (author.id, writer.id, "submitted")

    history = (await worker.send(f"/history {number}"))[-1].text
    assert "Phạm Tổ viên 1: đã nhập: Tên sáng kiến, Loại giải pháp, Lĩnh vực áp dụng" in history
    assert f"{author.full_name}: đã nhập: Giá trị làm lợi" in history
    assert "Phạm Tổ viên 1: gửi duyệt (lần 1)" in history

    await crew.in_group(helper).click("Trả lại bổ sung", message=card)  # after submission: returned, the member edits
    await crew.in_group(helper).send("Ghi rõ số trạm bơm.", reply_to=crew.in_group(helper).last, expect=0)
    await worker.click("Sửa và gửi lại", message=worker.last)
    await worker.click("Nơi áp dụng")
    await worker.send("Trạm bơm số 2 và số 3")
    await worker.click("Gửi duyệt")
    [item] = await initiatives(app)
    assert item.status == "submitted" and item.review_round == 2


async def test_a_team_member_writes_for_a_person_not_registered_yet(app: App) -> None:
    crew = await team(app)
    helper = crew.support[0]
    await helper.send("/for")
    replies = await helper.send("Trần Thị Bình")
    assert replies[-1].text == vi(
        "No member of your units has that name. Type it again, or add a person not registered yet."
    )
    await helper.click(vi("➕ A person not registered yet"))
    await helper.send("Trần Thị Bình")
    replies = await helper.send("bình sơn")  # a unit outside the helper's subtree is not offered
    assert replies[-1].text == vi("No unit you support has that name. Please type it again.")
    await helper.send("cấp nước")
    await helper.click("Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn")
    replies = await helper.send("12345")
    assert replies[-1].text == vi("I could not read this phone number. Please type it again, e.g. 0912 345 678.")
    await helper.send("0912 345 678")
    assert "Anh/chị đang viết bản nháp mới giúp Trần Thị Bình" in helper.last.text and "Bước 1/13" in helper.last.text
    await helper.send(TITLE)
    await answer_steps(helper)
    await helper.click("Gửi duyệt", message=helper.last)
    assert "Trần Thị Bình" in card_of(crew.in_group(helper)).text
    async with app.db.session() as session:
        person = (await session.exec(select(Member).where(Member.full_name == "Trần Thị Bình"))).one()
    assert person.tg_user_id < NO_CHAT and person.phone == "+84912345678" and not person.reachable
    [item] = await initiatives(app)
    assert item.author_id == person.id and item.status == "submitted"

    # the code the helper was given makes the person this member when they start using the bot
    earlier = re.search(r"/link ([A-Z0-9]{8})", helper_note(helper)).group(1)  # type: ignore[union-attr]
    await helper.send("/for Trần Thị Bình")  # writing for her again gives a new code; the earlier one still works
    await helper.click(named(helper, "Trần Thị Bình"))
    code = re.search(r"/link ([A-Z0-9]{8})", helper_note(helper)).group(1)  # type: ignore[union-attr]
    assert code != earlier
    binh = app.user(first_name="Bình", last_name="Trần Thị")
    assert "sáng kiến Tổ hỗ trợ đã viết giúp anh/chị nay là của anh/chị" in (await binh.send(f"/link {code}"))[-1].text
    assert item.number in (await binh.send("/my"))[-1].text
    assert "Trần Thị Bình" in (await binh.send("/start"))[-1].text  # registered: welcomed back, not asked again
    again = app.user(first_name="Khác")
    assert "không đúng, đã dùng hoặc đã hết hạn" in (await again.send(f"/link {code}"))[-1].text  # once only
    assert "không đúng, đã dùng hoặc đã hết hạn" in (await again.send(f"/link {earlier}"))[-1].text  # all void


def helper_note(helper: TgUser) -> str:
    return next(m.text for m in reversed(helper.history) if "/link " in m.text)


async def test_a_person_the_team_added_who_registered_meanwhile_becomes_one_member(app: App) -> None:
    crew = await team(app)
    helper = crew.support[0]
    await helper.send("/for")
    await helper.send("Trần Thị Bình")
    await helper.click(vi("➕ A person not registered yet"))
    await helper.send("Trần Thị Bình")
    await helper.send("cấp nước")
    await helper.click("Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn")
    await helper.send("0912 345 678")
    await helper.send(TITLE)  # a draft written for her
    code = re.search(r"/link ([A-Z0-9]{8})", helper_note(helper)).group(1)  # type: ignore[union-attr]
    taken = (await helper.send(f"/link {code}"))[-1].text  # the helper knows the code, but is not the person
    assert "đã đăng ký là một đoàn viên khác" in taken
    stranger = app.user(first_name="Hùng", last_name="Lê Văn")
    await register(stranger)  # nor is a registered member with another name
    assert "đã đăng ký là một đoàn viên khác" in (await stranger.send(f"/link {code}"))[-1].text
    binh = app.user(first_name="Bình", last_name="Trần Thị")
    await register(binh)  # she registered on her own before she got the code: two records for one person
    async with app.db.session() as session:
        assert len((await session.exec(select(Member).where(Member.full_name.startswith("Trần Thị Bình")))).all()) == 2
    assert "nay là của anh/chị" in (await binh.send(f"/link {code}"))[-1].text
    async with app.db.session() as session:
        [person] = (await session.exec(select(Member).where(Member.full_name.startswith("Trần Thị Bình")))).all()
    assert person.tg_user_id == binh.id  # her own record stays, with what was written for her
    [draft] = await initiatives(app)
    assert draft.author_id == person.id and TITLE in draft.answers
    listing = (await binh.send("/drafts"))[-1]
    assert TITLE in listing.text
    assert "Bước 2/13" in (await binh.click(vi("▶️ Continue {n}", n=1), message=listing))[-1].text  # hers
    history = (await helper.send("/for Trần Thị Bình"))[-1]  # the team finds one person now
    assert sum(1 for text in history.button_texts() if text.startswith("Trần Thị Bình")) == 1


async def test_a_member_hands_a_draft_to_the_team_and_one_team_member_takes_it(app: App) -> None:
    crew = await team(app)
    worker, first, second = crew.worker, crew.in_group(crew.support[0]), crew.in_group(crew.support[1])
    await worker.send("/new")
    await worker.send(TITLE)
    replies = await worker.send("/drafts")
    await worker.click(vi("🤝 Ask the team {n}", n=1), message=replies[-1])
    assert "Đã nhờ Tổ hỗ trợ sáng kiến viết giúp" in worker.last.text
    ask = app.fake.in_chat(GROUP["id"])[-1]
    assert f"nhờ Tổ hỗ trợ sáng kiến viết giúp bản nháp “{TITLE}”" in ask.text
    await worker.press(replies[-1], ProxyCb(action=ProxyAction.ASK, id=ask_id(ask)).pack(), expect=0)  # twice: no
    assert app.fake.in_chat(GROUP["id"])[-1].message_id == ask.message_id  # no second message to the group

    outsider = app.user(first_name="Khách", username="khach")
    await register(outsider, unit_query="bình sơn")
    await give(app, outsider, SUPPORT, "DK-BSR")
    await crew.in_group(outsider).click("Tôi viết giúp", message=ask, expect=0)
    assert outsider_alert(app) == vi("Only the support team and officers of this unit can take it.")

    for person in crew.support:  # team members who use English: the group still reads Vietnamese, its language
        found = await get_member(app.db, person.id)
        assert found is not None
        await update_member(app.db, found, language="en")
    take = ProxyCb(action=ProxyAction.TAKE, id=ask_id(ask)).pack()
    await asyncio.gather(first.press(ask, take, expect=0), second.press(ask, take, expect=0))  # at once: one wins
    answers = sorted(str(a["text"]) for a in app.fake.callback_answers[-2:])
    [winner] = [name for name in ("Phạm Tổ viên 1", "Phạm Tổ viên 2") if name + " đã nhận viết giúp." in
                app.fake.messages[GROUP["id"]][ask.message_id].text]  # fmt: skip
    assert answers == sorted(["It is yours: continue it in a private chat with the bot.",
                              f"{winner} already took it."])  # fmt: skip
    await first.press(ask, take, expect=0)  # pressed again later: nothing changes
    assert outsider_alert(app) == f"{winner} already took it."
    assert app.fake.messages[GROUP["id"]][ask.message_id].button_texts() == []
    helper = crew.support[0] if winner.endswith("1") else crew.support[1]
    [item] = await initiatives(app)
    taker = await get_member(app.db, helper.id)
    assert taker is not None and item.helper_id == taker.id
    assert f"{winner} (Tổ hỗ trợ sáng kiến) đã nhận viết tiếp bản nháp" in worker.last.text

    # privately: the button that continues the draft
    assert "✍️ You write the draft" in helper.last.text and "for Nguyễn Văn An" in helper.last.text  # in English
    for person in crew.support:  # back to Vietnamese for the rest
        found = await get_member(app.db, person.id)
        assert found is not None
        await update_member(app.db, found, language="vi")
    replies = await helper.send("/drafts")  # the taker finds it among their drafts too, without Delete
    assert TITLE in replies[-1].text and replies[-1].button_texts() == [vi("▶️ Continue {n}", n=1)]
    assert "· viết giúp Nguyễn Văn An" in replies[-1].text
    await helper.click("▶️ Continue", message=helper.history[-2])  # (sent in English) where the member stopped
    assert helper.last.text.startswith("Bước 2/13")
    await answer_steps(helper)
    await helper.click("Gửi duyệt", message=helper.last)
    [item] = await initiatives(app)
    assert item.status == "submitted" and item.title == TITLE
    assert item.author_id == (await get_member(app.db, worker.id)).id  # type: ignore[union-attr]
    assert item.number is not None and item.number in worker.last.text


def ask_id(message: object) -> int:
    markup = message.markup  # type: ignore[attr-defined]
    return int(ProxyCb.unpack(markup["inline_keyboard"][0][0]["callback_data"]).id)


def outsider_alert(app: App) -> str:
    return str(app.fake.callback_answers[-1]["text"])


async def test_a_team_member_of_another_subtree_cannot_write_for_the_member(app: App) -> None:
    crew = await team(app)
    author = await get_member(app.db, crew.worker.id)
    assert author is not None
    before = len(await initiatives(app))
    outsider = app.user(first_name="Khách", username="khach")
    await register(outsider, unit_query="bình sơn")
    await give(app, outsider, SUPPORT, "DK-BSR")
    replies = await outsider.send("/for nguyen an")
    assert replies[-1].button_texts() == [vi("➕ A person not registered yet")]  # not found outside the subtree
    await outsider.press(replies[-1], ProxyCb(action=ProxyAction.PICK, id=author.id or 0).pack(), expect=0)
    assert outsider_alert(app) == vi("You can write only for members of the units you support.")
    assert len(await initiatives(app)) == before  # nothing was started

    plain = app.user(first_name="Dũng", username="dung")  # a member without a role
    await register(plain)
    replies = await plain.send("/for nguyen an")
    assert replies[-1].text == vi("Only the support team and officers can write an initiative for a member.")

    await crew.support[0].send("/for nguyen an")  # the unit's own team may; the outsider cannot open that draft
    await crew.support[0].click(named(crew.support[0], author.full_name))
    item = (await initiatives(app))[-1]
    await outsider.press(outsider.last, DraftCb(action=DraftAction.RESUME, draft=item.id or 0).pack(), expect=0)
    assert outsider_alert(app) == vi("This button is out of date.")
    await crew.officer.send("/for nguyen an")  # an officer of the unit above may too
    await crew.officer.click(named(crew.officer, author.full_name))
    assert len(await initiatives(app)) == before + 2


async def test_on_zalo_a_member_hands_a_draft_over_and_a_team_member_writes_for_another(
    two: TwoChannels,
    zalo: FakeZalo,
) -> None:
    """No buttons: every choice is a numbered line, typed back as its number."""
    group, helpers = await zalo_team(two, zalo)
    worker = ZaloUser(zalo, name="Trần Thị Bình")
    await zalo_register(worker)
    await worker.send("/new")
    await worker.send(TITLE)
    await worker.send("/drafts")
    await worker.choose(vi("🤝 Ask the team {n}", n=1))
    await zalo.wait_for(lambda: any("nhờ Tổ hỗ trợ sáng kiến viết giúp" in s.body for s in zalo.in_chat(group)))
    ask = zalo.in_chat(group)[-1]
    assert "Trần Thị Bình" in ask.body and choices(ask) == ["✍️ Tôi viết giúp"] and not ask.has_markup

    first = helpers[0]
    await first.send("1", expect=1)  # the group sees who took it
    await zalo.wait_for(lambda: any("✍️ Phạm Văn Một đã nhận viết giúp." in s.body for s in zalo.in_chat(group)))
    privately = ZaloUser(zalo, first.id, first.name)
    await zalo.wait_for(lambda: any("▶️ Viết tiếp" in s.body for s in privately.history))
    await privately.choose("▶️ Viết tiếp")
    await privately.send("giai phap ky thuat")
    await privately.send("6")
    for answer in (BEFORE, SOLUTION, PLACE, "15/03/2022", "14 triệu/năm"):
        await privately.send(answer)
    replies = await privately.send("gửi duyệt")
    assert "Đã gửi duyệt sáng kiến của Trần Thị Bình" in replies[-1].body
    await zalo.wait_for(lambda: "SK-" in worker.last.body)

    replies = await privately.send("/for tran binh")  # and a new draft for the same member, picked by number
    assert choices(replies[-1])[0].startswith("Trần Thị Bình — ")
    replies = await privately.send("1")
    assert "Anh/chị đang viết bản nháp mới giúp Trần Thị Bình" in replies[-1].body and "Bước 1/13" in replies[-1].body
    await zalo.wait_for(lambda: "Phạm Văn Một (Tổ hỗ trợ sáng kiến) đã bắt đầu viết giúp" in worker.last.body)


async def test_writing_for_members_on_postgresql(fake: FakeTelegram, pg_url: str) -> None:
    """The same storage on PostgreSQL: the subtree search, a person without a chat, the hand-over's compare-and-set."""
    app = await build_app(fake, make_settings(pg_url, fake), units=True)
    try:
        await test_a_team_member_writes_for_a_person_not_registered_yet(app)
        await test_a_team_member_of_another_subtree_cannot_write_for_the_member(app)
    finally:
        await close_app(app)
