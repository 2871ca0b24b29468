"""Hostile input: forged buttons, commands in the wrong place, huge texts, odd numbers, long lists, edits."""

from __future__ import annotations

import json
import time
from datetime import date

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlmodel import col, select

from forms.authors import parse_authors
from forms.errors import FormError
from storage.members import get_member
from storage.models import Initiative, Invite, Member
from storage.roles import OFFICER
from storage.unit_files import PhaseRow
from storage.units import import_phases, search_units
from storage.writer import Stmt
from tests.conftest import App, register
from tests.flows import TITLE
from tests.test_review import give
from tests.tgclient import TgUser

SORRY = "Xin lỗi"  # the start of the error handler's message: no update below may reach it


def no_crash(user: TgUser) -> None:
    assert not any(m.text.startswith(SORRY) for m in user.history), [m.text for m in user.history][-3:]


async def until_unit(user: TgUser, lang: str = "Tiếng Việt") -> None:
    await user.send("/start", expect=2)
    await user.click(lang)
    await user.click(user.last.button_texts()[0])  # the Telegram name


# -- 1, 2, 3: registration ------------------------------------------------------------------------------------
async def test_a_forged_unit_button_is_refused_and_the_unit_asked_again(app: App) -> None:
    user = app.user()
    await until_unit(user)
    await user.send("cấp nước")
    unit_list = user.last
    replies = await user.press(unit_list, "v1u:99999")
    assert user.alerts[-1] == "Nút này đã cũ, không dùng được nữa."
    assert "Đơn vị này không còn trong danh sách" in replies[-1].text
    await user.click(unit_list.button_texts()[0], message=unit_list)
    replies = await user.send_contact("+84912345678")
    assert "đã đăng ký" in replies[-1].text.lower() or "/new" in replies[-1].text
    member = await get_member(app.db, user.id)
    assert member is not None and member.unit_id is not None
    no_crash(user)


async def test_bad_stored_unit_is_dropped_and_cancel_clears_registration(app: App) -> None:
    user = app.user()
    await until_unit(user)
    key = StorageKey(bot_id=app.bot.id, chat_id=user.id, user_id=user.id)
    data = await app.dp.fsm.storage.get_data(key)
    await app.dp.fsm.storage.set_data(key, {**data, "unit_id": 99999, "phone": ""})  # left by the old code
    replies = await user.send("/start", expect=2)
    assert "Anh/chị sinh hoạt ở công đoàn nào" in replies[-1].text  # asked again instead of a foreign-key crash
    replies = await user.send("/cancel")
    assert "Đã dừng đăng ký" in replies[-1].text
    assert await app.dp.fsm.storage.get_data(key) == {"lang": "vi"}  # only the language survives
    replies = await user.send("/start", expect=2)
    assert "Họ và tên của anh/chị" in replies[-1].text
    no_crash(user)


async def test_start_after_cancel_keeps_the_chosen_language(app: App) -> None:
    user = app.user()
    await until_unit(user, "English")
    replies = await user.send("/cancel")
    assert replies[-1].text == "Registration stopped; nothing was saved. Send /start to begin again."
    replies = await user.send("/start", expect=2)
    assert replies[0].text.startswith("Hello!") and "What is your full name?" in replies[-1].text


async def test_commands_during_registration_say_to_finish_it_and_ask_again(app: App) -> None:
    user = app.user()
    await user.send("/start", expect=2)
    await user.click("Tiếng Việt")
    replies = await user.send("/my", expect=2)
    assert "đăng ký xong trước" in replies[0].text and "Họ và tên của anh/chị" in replies[-1].text
    await user.click(user.last.button_texts()[0])
    for command in ("/new", "/drafts", "/profile", "/history SK-000001"):
        replies = await user.send(command, expect=2)
        assert "đăng ký xong trước" in replies[0].text, command
        assert "Anh/chị sinh hoạt ở công đoàn nào" in replies[-1].text, command
    replies = await user.send("/help")
    assert "/new" in replies[-1].text and "/cancel" in replies[-1].text  # help simply works
    no_crash(user)


async def test_a_command_during_a_profile_change_runs_and_drops_the_change(app: App, worker: TgUser) -> None:
    await worker.send("/profile")
    await worker.click("Đổi họ tên")
    replies = await worker.send("/my")
    assert "/new" in replies[-1].text and "/drafts" in replies[-1].text  # /my's own answer
    replies = await worker.send("Lê Văn Tám")
    assert "/new" in replies[-1].text  # not taken as a new name
    member = await get_member(app.db, worker.id)
    assert member is not None and member.full_name == "Nguyễn Văn An"


# -- 4: unit search ---------------------------------------------------------------------------------------------
async def test_a_huge_unit_search_gets_a_clear_answer(app: App) -> None:
    user = app.user()
    await until_unit(user)
    replies = await user.send(" ".join("abcdefghijklmnopqrstuvwxyz"[i % 26] for i in range(2048)))
    assert "quá dài" in replies[-1].text
    replies = await user.send("x y z " * 30 + "cấp nước")  # one-letter words are left out
    assert replies[-1].button_texts() == ["Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn"]
    no_crash(user)


async def test_search_uses_a_bounded_number_of_words(app: App) -> None:
    assert await search_units(app.db, " ".join(f"w{i}" for i in range(3000))) == []
    found = await search_units(app.db, "cap nuoc " * 20 + " a b c")
    assert [u.code for u in found] == ["LS-NUOC"]


# -- 5, 6: officers' arguments ----------------------------------------------------------------------------------
async def officer(app: App) -> TgUser:
    user = app.user(first_name="Hoa", last_name="Lê Thị")
    await register(user, unit_query="tỉnh lạng sơn")
    await give(app, user, OFFICER, "LS")
    return user


async def test_invite_days_are_parsed_strictly(app: App) -> None:
    user = await officer(app)
    for days in ("99999999999", "²", "0", "-5", "1.5", "junk", "366", "٣"):
        replies = await user.send(f"/invite LS {days}")
        assert replies[-1].text == "Số ngày phải là số nguyên từ 1 đến 365, ví dụ /invite LS-NUOC 30.", days
    replies = await user.send("/invite LS 30 thêm")
    assert "/invite LS-NUOC 30" in replies[-1].text
    async with app.db.session() as s:
        assert (await s.exec(select(Invite))).all() == []
    replies = await user.send("/invite LS 365")
    assert replies[-1].kind == "photo"
    async with app.db.session() as s:
        assert [i.expires_at is not None for i in (await s.exec(select(Invite))).all()] == [True]
    no_crash(user)


async def test_top_refuses_an_unknown_phase(app: App) -> None:
    user = await officer(app)
    replies = await user.send("/top LS NOPHASE")
    assert replies[-1].text == "Không có giai đoạn “NOPHASE”: chương trình chưa có giai đoạn nào."
    await import_phases(app.db, [PhaseRow(1, "GD1", "Giai đoạn 1", date(2022, 1, 8), date(2022, 5, 31)),
                                 PhaseRow(2, "GD2", "Giai đoạn 2", date(2022, 6, 1), date(2022, 12, 31))])  # fmt: skip
    replies = await user.send("/top LS NOPHASE")
    assert replies[-1].text == "Không có giai đoạn “NOPHASE”. Các giai đoạn là: GD1, GD2."
    replies = await user.send("/top LS gd1")
    assert "(Giai đoạn 1)" in replies[-1].text


# -- 7: authors ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "share"), [("An 33,34%\nBình 33,33%\nCường 33,33%", 33), ("An 62.5%\nBình 37.5%", 62)]
)
def test_decimal_shares_are_refused_with_an_accurate_message(typed: str, share: int) -> None:
    with pytest.raises(FormError) as err:
        parse_authors(typed)
    assert "whole number" in err.value.msgid and err.value.params["share"] == share
    assert err.value.params["line"] == 1


def test_a_name_never_swallows_a_number() -> None:
    with pytest.raises(FormError) as err:
        parse_authors("An 33, 34%\nBình 66%")
    assert "needs a name and a share" in err.value.msgid
    assert [(a.name, a.share) for a in parse_authors("Lê Văn C, 10\nAn: 90")] == [("Lê Văn C", 10), ("An", 90)]


# -- 8: long lists --------------------------------------------------------------------------------------------------
async def drafts_with_long_titles(app: App, user: TgUser, count: int) -> list[int]:
    ids = []
    for n in range(1, count + 1):
        await user.send("/new")
        title = f"Sáng kiến <{n}> " + "cải tiến quy trình bơm nước " * 10
        await user.send(title[:300])
        ids.append((await newest(app)).id or 0)
    return ids


async def newest(app: App) -> Initiative:
    async with app.db.session() as s:
        return (await s.exec(select(Initiative).order_by(col(Initiative.id).desc()))).first()  # type: ignore[return-value]


async def test_drafts_are_split_and_keep_every_button(app: App, worker: TgUser) -> None:
    await drafts_with_long_titles(app, worker, 12)
    replies = await worker.send("/drafts", expect=2)
    assert len(replies) >= 2 and all(len(r.text) <= 4096 for r in replies)
    for n in range(1, 13):
        holder = next(r for r in replies if f"\n{n}. " in "\n" + r.text)
        assert f"▶️ Viết tiếp {n}" in holder.button_texts() and f"🗑 Xóa {n}" in holder.button_texts()
    shown = "".join(r.text for r in replies)
    assert "&lt;" not in shown and "<12>" in shown  # user text escaped, shown as typed
    await worker.click("Xóa 12", message=replies[-1])
    replies = await worker.click("Có, xóa bản nháp")
    assert replies[-1].text == "Đã xóa bản nháp."
    no_crash(worker)


async def test_my_initiatives_are_split(app: App, worker: TgUser) -> None:
    ids = await drafts_with_long_titles(app, worker, 26)
    for i in ids:
        await app.db.write(Stmt(
            "UPDATE initiative SET status = 'submitted', number = :n, title = json_extract(answers, '$.title') "
            "WHERE id = :id", {"n": f"SK-{i:06d}", "id": i}))  # fmt: skip
    replies = await worker.send("/my", expect=3)
    assert len(replies) >= 3 and all(len(r.text) <= 4096 for r in replies)
    text = "\n".join(r.text for r in replies)
    assert all(f"SK-{i:06d} · Sáng kiến" in text for i in ids)
    no_crash(worker)


async def test_history_is_split_at_line_ends(app: App, worker: TgUser) -> None:
    [iid] = await drafts_with_long_titles(app, worker, 1)
    await app.db.write(Stmt("UPDATE initiative SET status = 'changes_requested', number = 'SK-000777' WHERE id = :id",
                            {"id": iid}))  # fmt: skip
    member = await get_member(app.db, worker.id)
    assert member is not None
    reasons = [f"Lần {n}: " + "cần bổ sung số liệu đo áp lực trước và sau khi lắp biến tần " * 4 for n in range(30)]
    sql = (
        "INSERT INTO event (at, member_id, initiative_id, kind, detail) "
        "VALUES (CURRENT_TIMESTAMP, :m, :i, 'review.changes_requested', :d)"
    )
    for reason in reasons:
        await app.db.write(Stmt(sql, {"m": member.id, "i": iid, "d": json.dumps({"reason": reason})}))
    replies = await worker.send("/history SK-000777", expect=2)
    assert len(replies) >= 2 and all(len(r.text) <= 4096 for r in replies)
    for reason in reasons:  # every line whole, in one message
        assert sum(reason.strip() in r.text for r in replies) == 1
    no_crash(worker)


# -- 9: a long pasted answer ---------------------------------------------------------------------------------------
async def to_long_step(worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(TITLE)
    await worker.click("Giải pháp kỹ thuật")
    await worker.click("Sản xuất, vận hành")


def pasted(chars: int) -> list[str]:
    text = ("Trạm bơm chạy hết công suất cả đêm nên ống hay vỡ. " * (chars // 40))[:chars]
    return [text[i : i + 4096] for i in range(0, chars, 4096)]


async def test_a_long_pasted_answer_is_accepted(app: App, worker: TgUser) -> None:
    await to_long_step(worker)
    for part in pasted(5 * 4096):
        await worker.send(part)
    replies = await worker.click("Xong")
    assert "Bước 5/13" in replies[-1].text
    answers = json.loads((await newest(app)).answers)
    assert len(answers["before"]) > 20_000
    no_crash(worker)


async def test_an_answer_over_the_maximum_keeps_the_parts_already_sent(app: App, worker: TgUser) -> None:
    await to_long_step(worker)
    parts = pasted(8 * 4096)
    for part in parts[:7]:
        await worker.send(part)
    replies = await worker.send(parts[7])
    assert "Phần này chưa được thêm" in replies[-1].text and "(đến nay: 7) vẫn được giữ" in replies[-1].text
    assert "tối đa là 30.000 ký tự" in replies[-1].text and "✅ Xong" in replies[-1].button_texts()
    replies = await worker.click("Xong")
    assert "Bước 5/13" in replies[-1].text
    assert len(json.loads((await newest(app)).answers)["before"]) > 28_600  # the seven parts, joined


# -- 10: edited messages ------------------------------------------------------------------------------------------
async def edit(app: App, user: TgUser, text: str) -> None:
    message = {"message_id": 2, "date": int(time.time()) - 5, "edit_date": int(time.time()), "chat": user.chat,
               "from": user.user, "text": text}  # fmt: skip
    await app.deliver({"edited_message": message}, user, 1)


async def test_an_edited_answer_is_told_that_the_first_one_stands(app: App, worker: TgUser) -> None:
    assert "edited_message" in app.dp.resolve_used_update_types()
    await worker.send("/new")
    await worker.send(TITLE)
    await edit(app, worker, "Tên khác hẳn")
    assert "Tin nhắn đã sửa không được đọc" in worker.last.text and "Quay lại" in worker.last.text
    assert json.loads((await newest(app)).answers)["title"] == TITLE
    stranger = app.user()
    await edit(app, stranger, "xin chào")
    assert "gửi nội dung đã sửa thành một tin nhắn mới" in stranger.last.text
    async with app.db.session() as s:
        assert (await s.exec(select(Member).where(Member.tg_user_id == stranger.id))).first() is None
