"""The reason a support member types for a return or a rejection: what is accepted, what is asked again."""

from __future__ import annotations

import time
import unicodedata

import pytest
from sqlalchemy import text

from storage.members import get_member
from storage.roles import SUPPORT, revoke
from storage.units import unit_by_code
from tests.conftest import App
from tests.flows import fill_to_preview
from tests.test_review import card_of, team
from tests.tgclient import TgUser


async def returned(app: App) -> tuple[TgUser, TgUser]:
    """A submitted initiative whose card a support member has just pressed "return" on."""
    crew = await team(app, supports=1)
    await fill_to_preview(crew.worker)
    await crew.worker.click("Gửi duyệt")
    member = crew.in_group(crew.support[0])
    await member.click("Trả lại bổ sung", message=card_of(member))
    return crew.worker, member


async def status(app: App) -> tuple[str, str | None]:
    async with app.db.read_engine.connect() as conn:
        row = (await conn.execute(text("SELECT status, decision_reason FROM initiative"))).one()
    return row[0], row[1]


@pytest.mark.parametrize("blank", ["\u200b\u200c\u200d", "\u2800\u2800", "👍👍🙏", "   ", "!!"])
async def test_a_reason_without_words_is_asked_again(app: App, blank: str) -> None:
    _worker, member = await returned(app)
    replies = await member.send(blank, reply_to=member.last)
    assert replies and replies[-1].markup == {"force_reply": True, "selective": True}
    assert "lý do" in replies[-1].text
    assert await status(app) == ("submitted", None)
    await member.send("Thiếu số liệu.", reply_to=member.last, expect=0)
    assert await status(app) == ("changes_requested", "Thiếu số liệu.")


async def test_a_decomposed_reason_is_stored_composed_and_a_long_one_is_refused_whole(app: App) -> None:
    worker, member = await returned(app)
    too_long = "Cần bổ sung số liệu " * 60
    replies = await member.send(too_long, reply_to=member.last)
    assert "1000" in replies[-1].text.replace(".", "") and await status(app) == ("submitted", None)
    nfd = unicodedata.normalize("NFD", "Cần ghi rõ số tiền tiết kiệm")
    await member.send(nfd, reply_to=member.last, expect=0)
    assert await status(app) == ("changes_requested", "Cần ghi rõ số tiền tiết kiệm")
    assert "Cần ghi rõ số tiền tiết kiệm" in worker.last.text


async def test_a_sticker_or_a_command_instead_of_a_reason_is_answered_and_the_reason_still_awaited(app: App) -> None:
    _worker, member = await returned(app)
    sticker = {"file_id": "STK", "file_unique_id": "USTK", "type": "regular", "width": 512, "height": 512,
               "is_animated": False, "is_video": False}  # fmt: skip
    replies = await member._message(1, sticker=sticker, reply_to_message=app.fake.message_json(member.last))
    assert "bằng chữ" in replies[-1].text
    replies = await member.send("/help")
    assert "/cancel" in replies[-1].text and await status(app) == ("submitted", None)
    await member.send("Thiếu ảnh.", reply_to=member.last, expect=0)
    assert await status(app) == ("changes_requested", "Thiếu ảnh.")


async def test_a_reason_sent_after_the_role_was_removed_is_refused_with_a_word(app: App) -> None:
    _worker, member = await returned(app)
    person, unit = await get_member(app.db, member.id), await unit_by_code(app.db, "LS-NUOC")
    assert person is not None and unit is not None
    await revoke(app.db, member_id=person.id or 0, unit_id=unit.id or 0, role=SUPPORT, by_id=None)
    replies = await member.send("Thiếu số liệu.", reply_to=member.last)
    assert "không còn trong Tổ hỗ trợ" in replies[-1].text
    assert await status(app) == ("submitted", None)


async def test_an_edit_in_the_group_is_answered(app: App) -> None:
    _worker, member = await returned(app)
    sent = {"message_id": 9_001, "date": int(time.time()), "edit_date": int(time.time()), "chat": member.chat,
            "from": member.user, "text": "Sửa lại lý do"}  # fmt: skip
    await member.deliver({"edited_message": sent}, member, 1)
    assert "như lúc gửi" in member.last.text or "Edits are not read" in member.last.text


async def test_a_reason_counts_only_as_a_reply_to_the_latest_question(app: App) -> None:
    """Return on card A, then reject on card B, then answer A's old question: nothing is decided on B."""
    crew = await team(app, supports=1)
    for n in range(2):
        await fill_to_preview(crew.worker)
        await crew.worker.click("Gửi duyệt")
        if n:  # the second reads like the first: the worker is shown it, and submits anyway
            await crew.worker.click("Vẫn gửi duyệt")
    member = crew.in_group(crew.support[0])
    card_a, card_b = [m for m in member.history if m.text.startswith("SK-")][-2:]
    await member.click("Trả lại bổ sung", message=card_a)
    prompt_a = member.last
    await member.click("Từ chối", message=card_b)
    replies = await member.send("Thiếu số liệu về tiết kiệm.", reply_to=prompt_a)
    assert "SK-000002" in replies[-1].text  # asked to answer the latest question, which is about B
    async with app.db.read_engine.connect() as conn:
        rows = (await conn.execute(text("SELECT number, status FROM initiative ORDER BY id"))).all()
    assert [tuple(r) for r in rows] == [("SK-000001", "submitted"), ("SK-000002", "submitted")]
    await member.send("Trùng với sáng kiến năm ngoái.", reply_to=member.last, expect=0)
    async with app.db.read_engine.connect() as conn:
        rows = (await conn.execute(text("SELECT number, status FROM initiative ORDER BY id"))).all()
    assert [tuple(r) for r in rows] == [("SK-000001", "submitted"), ("SK-000002", "rejected")]
