"""The worker's path from /new to "submitted" through the real dispatcher, with every kind of detour."""

from __future__ import annotations

import asyncio
import json
import unicodedata

from sqlmodel import col, select

from storage.models import Attachment, Author, Event, Initiative
from tests.conftest import App
from tests.flows import BEFORE, SOLUTION, TITLE, answer_long, fill_to_preview
from tests.tgclient import TgUser


async def draft_row(app: App) -> Initiative:
    async with app.db.session() as s:
        return (await s.exec(select(Initiative).order_by(col(Initiative.id).desc()))).first()  # type: ignore[return-value]


async def test_whole_initiative_is_submitted_with_a_number(app: App, worker: TgUser) -> None:
    await fill_to_preview(worker)
    preview = worker.last
    assert "Xem lại sáng kiến" in preview.text
    assert TITLE in preview.text and "14.000.000\u00a0₫/năm" in preview.text
    assert "✏️ Tên sáng kiến" in preview.button_texts() and "📨 Gửi duyệt" in preview.button_texts()
    replies = await worker.click("Gửi duyệt")
    row = await draft_row(app)
    assert row.status == "submitted" and row.number == f"SK-{row.id:06d}"
    assert row.number in replies[-1].text
    assert (row.title, row.solution_type, row.field_of_work, row.benefit_per_year) == (
        TITLE,
        "technical",
        "production",
        14_000_000,
    )
    assert str(row.applied_on) == "2022-03-15"
    async with app.db.session() as s:
        authors = (await s.exec(select(Author).where(Author.initiative_id == row.id))).all()
        kinds = [e.kind for e in (await s.exec(select(Event).where(Event.initiative_id == row.id))).all()]
    assert [(a.full_name, a.share) for a in authors] == [("Nguyễn Văn An", 100)]
    assert kinds[0] == "draft.created" and kinds[-1] == "initiative.submitted" and "draft.answer" in kinds
    replies = await worker.send("/my")
    assert row.number in replies[-1].text and "chờ xét duyệt" in replies[-1].text


async def test_each_step_shows_progress_help_example_and_buttons(worker: TgUser) -> None:
    replies = await worker.send("/new")
    first = replies[-1]
    assert "Bước 1/13" in first.text and "Tên sáng kiến" in first.text and "Ví dụ:" in first.text
    assert first.button_texts() == ["⬅️ Quay lại", "💾 Lưu & thoát"]  # required: no Skip
    await worker.send(TITLE)
    assert "Bước 2/13" in worker.last.text
    assert worker.last.button_texts()[:5] == [
        "Giải pháp kỹ thuật",
        "Giải pháp quản lý",
        "Giải pháp tác nghiệp",
        "Giải pháp ứng dụng tiến bộ kỹ thuật",
        "Đề tài nghiên cứu khoa học",
    ]


async def test_money_is_shown_back_as_understood_and_bad_amounts_are_asked_again(worker: TgUser) -> None:
    await walk_to_money(worker)
    replies = await worker.send("mười bốn triệu")
    assert "Tôi chưa hiểu số tiền này" in replies[-1].text and "Bước 8/13" in replies[-1].text
    replies = await worker.send("350 nghìn/tháng")
    assert "350.000\u00a0₫/tháng (= 4.200.000\u00a0₫/năm)" in replies[-1].text
    assert "Bước 9/13" in replies[-1].text
    await worker.click("Quay lại")
    replies = await worker.send("khoảng 1,2 tỷ")
    assert "khoảng 1.200.000.000\u00a0₫/năm" in replies[-1].text


async def walk_to_money(worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(TITLE)
    await worker.click("Giải pháp quản lý")
    await worker.click("An toàn, vệ sinh lao động")
    await answer_long(worker, BEFORE)
    await answer_long(worker, SOLUTION)
    await worker.send("Phân xưởng cơ khí")
    await worker.click("Hôm nay")


async def test_no_money_makes_the_social_benefit_required(worker: TgUser) -> None:
    await walk_to_money(worker)
    replies = await worker.send("không có")
    assert "không có giá trị làm lợi bằng tiền" in replies[-1].text
    assert "Bước 9/13" in replies[-1].text and "(không bắt buộc)" not in replies[-1].text
    assert "Bỏ qua" not in replies[-1].button_texts()
    await answer_long(worker, "Công nhân không phải trèo vào bể để vệ sinh.")
    assert "Bước 10/13" in worker.last.text


async def test_long_answer_in_several_messages_is_joined_on_done(app: App, worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(TITLE)
    await worker.click("Giải pháp kỹ thuật")
    await worker.click("Khác")
    replies = await worker.send("Phần một của hiện trạng.")
    assert "Đã nhận 1 phần" in replies[-1].text and "✅ Xong" in replies[-1].button_texts()
    replies = await worker.send("Phần hai, dán từ Zalo.")
    assert "Đã nhận 2 phần" in replies[-1].text
    replies = await worker.click("Xong")
    assert "Bước 5/13" in replies[-1].text
    answers = json.loads((await draft_row(app)).answers)
    assert answers["before"] == "Phần một của hiện trạng.\nPhần hai, dán từ Zalo."


async def test_back_skip_and_edit_from_preview(app: App, worker: TgUser) -> None:
    await fill_to_preview(worker)
    await worker.click("Lĩnh vực áp dụng")
    assert "Bước 3/13" in worker.last.text and "Sản xuất, vận hành" in worker.last.text
    replies = await worker.click("Kỹ thuật, bảo dưỡng")
    assert "Xem lại sáng kiến" in replies[-1].text and "Kỹ thuật, bảo dưỡng" in replies[-1].text
    await worker.click("Tác giả và tỷ lệ đóng góp")
    replies = await worker.send("Nguyễn Văn An 60%\nTrần Thị Bình 30%")
    assert "90%" in replies[-1].text  # the sum is wrong: asked again
    replies = await worker.send("Nguyễn Văn An – 60%\nTrần Thị Bình – 40%")
    assert "Trần Thị Bình – 40%" in replies[-1].text and "Xem lại sáng kiến" in replies[-1].text
    await worker.click("Tên sáng kiến")
    replies = await worker.click("Quay lại")  # back from an edit returns to the preview
    assert "Xem lại sáng kiến" in replies[-1].text
    await worker.click("Gửi duyệt")
    async with app.db.session() as s:
        row = await draft_row(app)
        authors = (await s.exec(select(Author).where(Author.initiative_id == row.id))).all()
    assert [(a.full_name, a.share) for a in authors] == [("Nguyễn Văn An", 60), ("Trần Thị Bình", 40)]
    assert row.field_of_work == "maintenance"


async def test_back_walks_to_the_previous_step_and_keep_moves_on(worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(TITLE)
    replies = await worker.click("Quay lại")
    assert "Bước 1/13" in replies[-1].text and TITLE in replies[-1].text
    replies = await worker.click("Giữ câu trả lời hiện tại")
    assert "Bước 2/13" in replies[-1].text


async def test_bad_input_gets_a_clear_message_and_a_reask(worker: TgUser) -> None:
    await worker.send("/new")
    replies = await worker.send("😀😀😀")
    assert "trả lời bằng chữ" in replies[-1].text and "Bước 1/13" in replies[-1].text
    replies = await worker.send("x" * 301)
    assert "quá dài: 301 ký tự, tối đa 300" in replies[-1].text
    replies = await worker.send_sticker()
    assert "chỉ đọc được chữ" in replies[-1].text and "Bước 1/13" in replies[-1].text
    replies = await worker.send_voice()
    assert "chỉ đọc được chữ" in replies[-1].text
    replies = await worker.send_location()
    assert "chỉ đọc được chữ" in replies[-1].text
    replies = await worker.send_photo()
    assert "đính kèm ảnh và tài liệu ở bước 13" in replies[-1].text
    replies = await worker.send("Sáng kiến <b>không</b> & thẻ")  # user text is escaped, never parsed
    assert "Bước 2/13" in replies[-1].text
    await worker.click("Quay lại")
    assert "Sáng kiến <b>không</b> & thẻ" in worker.last.text


async def test_decomposed_unicode_is_stored_composed(app: App, worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(unicodedata.normalize("NFD", "  Tiết   kiệm điện  "))
    answers = json.loads((await draft_row(app)).answers)
    assert answers["title"] == "Tiết kiệm điện" and unicodedata.is_normalized("NFC", answers["title"])


async def test_photos_and_documents_are_kept_with_file_ids(app: App, worker: TgUser) -> None:
    await fill_to_preview(worker)
    await worker.click("Ảnh và tài liệu")
    replies = await worker.send_photo()
    assert "Đã nhận tệp thứ 1" in replies[-1].text
    replies = await worker.send_document("ban-ve.pdf")
    assert "Đã nhận tệp thứ 2" in replies[-1].text
    await worker.click("Xong")
    assert "2 tệp" in worker.last.text
    await worker.click("Gửi duyệt")
    async with app.db.session() as s:
        files = (await s.exec(select(Attachment))).all()
    assert [(f.kind, f.size) for f in files] == [("photo", 80000), ("document", 12345)]
    assert files[0].file_id.endswith("-800")  # the largest size of the photo
    assert files[1].file_name == "ban-ve.pdf"


async def test_cancel_keeps_the_draft_and_drafts_resumes_it(app: App, worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(TITLE)
    replies = await worker.send("/cancel")
    assert "Bản nháp đã được lưu" in replies[-1].text
    replies = await worker.send("Văn bản sau khi hủy")
    assert "Bước" not in replies[-1].text and "/new" in replies[-1].text  # outside the form now: a hint, no step
    replies = await worker.send("/drafts")
    assert TITLE in replies[-1].text and "bước 2/13" in replies[-1].text
    replies = await worker.click("Viết tiếp 1")
    assert "Bước 2/13" in replies[-1].text
    await worker.click("Giải pháp kỹ thuật")
    assert "Bước 3/13" in worker.last.text


async def test_save_and_exit_then_delete_with_confirmation(app: App, worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(TITLE)
    replies = await worker.click("Lưu & thoát")
    assert "/drafts" in replies[-1].text
    await worker.send("/drafts")
    replies = await worker.click("Xóa 1")
    assert "Không thể khôi phục" in replies[-1].text
    replies = await worker.click("Không, giữ lại")
    assert (await draft_row(app)).status == "draft"
    await worker.send("/drafts")
    await worker.click("Xóa 1")
    replies = await worker.click("Có, xóa bản nháp")
    assert "Đã xóa bản nháp" in replies[-1].text
    assert (await draft_row(app)).status == "deleted"
    replies = await worker.send("/drafts")
    assert "chưa có bản nháp" in replies[-1].text


async def test_several_drafts_can_exist(worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send("Sáng kiến thứ nhất")
    await worker.send("/new")
    await worker.send("Sáng kiến thứ hai")
    replies = await worker.send("/drafts")
    assert "Sáng kiến thứ nhất" in replies[-1].text and "Sáng kiến thứ hai" in replies[-1].text
    assert replies[-1].text.index("thứ hai") < replies[-1].text.index("thứ nhất")  # newest edit first


async def test_double_tap_on_submit_gives_one_submission(app: App, worker: TgUser) -> None:
    await fill_to_preview(worker)
    preview = worker.last
    _, button = worker.find_button("Gửi duyệt", preview)
    await asyncio.gather(worker.press(preview, button["callback_data"]), worker.press(preview, button["callback_data"]))
    async with app.db.session() as s:
        rows = (await s.exec(select(Initiative).where(Initiative.status == "submitted"))).all()
        events = (await s.exec(select(Event).where(Event.kind == "initiative.submitted"))).all()
    assert len(rows) == 1 and len(events) == 1
    submitted = [m for m in worker.history if "đã được gửi duyệt với số" in m.text]
    assert len(submitted) == 1
    assert any("đã được gửi duyệt" in a for a in worker.alerts)


async def test_answers_typed_faster_than_replies_are_applied_in_order(app: App, worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(TITLE)
    await worker.click("Giải pháp kỹ thuật")
    await worker.click("Khác")
    await asyncio.gather(*(worker.send(f"Phần {i}.") for i in range(1, 6)))
    answers = json.loads((await draft_row(app)).pending)
    assert answers == [f"Phần {i}." for i in range(1, 6)]


async def test_stale_buttons_change_nothing(app: App, worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(TITLE)
    step2 = worker.last
    await worker.click("Giải pháp kỹ thuật")
    await worker.click("Giải pháp quản lý", message=step2)  # an old message's button
    assert worker.alerts[-1] == "Nút này đã cũ, không dùng được nữa."
    assert json.loads((await draft_row(app)).answers)["solution_type"] == "technical"


async def test_someone_elses_draft_button_is_refused(app: App, worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(TITLE)
    message = worker.last
    _, button = worker.find_button("Giải pháp kỹ thuật", message)
    intruder = app.user()
    intruder.fake.messages[intruder.id] = {}
    await intruder.press(message, button["callback_data"], expect=0)
    assert intruder.alerts[-1] == "Nút này đã cũ, không dùng được nữa."
    assert "solution_type" not in json.loads((await draft_row(app)).answers)


async def test_unregistered_user_is_sent_to_start(app: App) -> None:
    user = app.user()
    replies = await user.send("/new")
    assert "/start" in replies[-1].text


async def test_help_lists_commands_and_steps_in_the_users_language(worker: TgUser) -> None:
    replies = await worker.send("/help")
    assert "/new — viết sáng kiến mới" in replies[-1].text and "13. Ảnh và tài liệu" in replies[-1].text
