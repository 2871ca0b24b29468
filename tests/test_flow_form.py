"""The worker's path from /new to "submitted" through the real dispatcher, with every kind of detour."""

from __future__ import annotations

import asyncio
import json
import unicodedata

from sqlmodel import col, select

from forms.eligibility import MIN_SOLUTION_WORDS, SHORT_SOLUTION
from forms.template import SOLUTION_TYPES
from storage.models import Attachment, Author, Event, Initiative
from tests.conftest import App
from tests.flows import BEFORE, PLACE, SOLUTION, TITLE, fill_to_preview, shown_money, vi
from tests.tgclient import TgUser

# Every label and message is looked up in the Vietnamese catalog, so rewording a translation breaks no test.
SUBMIT, ADD, EDIT = vi("📨 Submit for review"), vi("➕ Add details"), vi("✏️ Edit")
PREVIEW = vi("Preview of your initiative")
TECH, MANAGEMENT = vi("Technical solution"), vi("Management solution")
PRODUCTION, MAINTENANCE, OTHER = vi("Production and operation"), vi("Engineering and maintenance"), vi("Other")
BACK, EXIT, KEEP, SKIP, DONE = vi("⬅️ Back"), vi("💾 Save & exit"), vi("Keep current answer"), vi("Skip"), vi("✅ Done")
APPEND, OPTIONAL = vi("➕ Add to the previous answer"), vi("(optional)")
STALE = vi("This button is out of date.")
UNREADABLE = vi(
    "I can only read text here: stickers, voice messages, locations and the like cannot be stored. "
    "Please type your answer."
)
DETAILS = ("Social benefit", "Co-authors", "Conditions", "Confidential", "Files")


def step(k: int | str) -> str:
    return vi("Step {k}/{n}", k=k, n=13)


def head(msgid: str) -> str:
    """The Vietnamese text of a message up to its first placeholder."""
    return vi(msgid).split("{")[0].strip()


async def draft_row(app: App) -> Initiative:
    async with app.db.session() as s:
        return (await s.exec(select(Initiative).order_by(col(Initiative.id).desc()))).first()  # type: ignore[return-value]


async def test_whole_initiative_is_submitted_with_a_number(app: App, worker: TgUser) -> None:
    await fill_to_preview(worker)
    preview = worker.last
    assert PREVIEW in preview.text
    assert TITLE in preview.text and shown_money(app, "14 triệu/năm") in preview.text
    # the short summary (no optional step was asked), and a warning that does not block: a 20-word solution is
    # too short to describe the essence, with the button to that step
    assert preview.button_texts() == [SUBMIT, ADD, EDIT, "⚠️ " + vi("Solution")]
    assert vi(SHORT_SOLUTION, words=20, min=MIN_SOLUTION_WORDS) in preview.text
    assert vi("Not filled in (optional): {fields}.", fields=", ".join(vi(d) for d in DETAILS)) in preview.text
    assert vi("Authors and shares") not in preview.text  # only the filled parts are shown
    replies = await worker.click(SUBMIT)
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
    assert row.number in replies[-1].text and "chờ" in replies[-1].text  # waiting for review


async def test_each_step_shows_progress_help_example_and_buttons(worker: TgUser) -> None:
    replies = await worker.send("/new")
    first = replies[-1]
    assert step(1) in first.text and vi("Initiative name") in first.text and head("Example: {example}") in first.text
    assert first.button_texts() == [BACK, EXIT]  # required: no Skip
    await worker.send(TITLE)
    screen = worker.last
    assert f"{step(2)} · {vi('Type of solution')}" in screen.text  # two questions, one message
    assert f"{step(3)} · {vi('Field of application')}" in screen.text
    types = [vi(c.label) for c in SOLUTION_TYPES]
    assert screen.button_texts()[:7] == [*types, PRODUCTION, MAINTENANCE]  # the types above the fields
    assert len(screen.buttons) < 14  # short labels side by side, long ones alone
    replies = await worker.click(TECH)
    assert replies == [] and screen.edits == 1  # ticked in place, no new message
    assert "✓ " + TECH in screen.button_texts() and f"{vi('Type of solution')}: ✓ {TECH}" in screen.text
    replies = await worker.click(PRODUCTION)
    assert f"{vi('Field of application')}: {PRODUCTION}" in replies[-1].text and step(4) in replies[-1].text


async def test_the_field_may_be_picked_before_the_type(app: App, worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(TITLE)
    await worker.click(OTHER)
    replies = await worker.click(MANAGEMENT)
    assert step(4) in replies[-1].text
    answers = json.loads((await draft_row(app)).answers)
    assert (answers["solution_type"], answers["field"]) == ("management", "other")


async def test_money_is_shown_back_as_understood_and_bad_amounts_are_asked_again(app: App, worker: TgUser) -> None:
    await walk_to_money(worker)
    replies = await worker.send("mười bốn triệu")
    assert vi("I could not read this amount.") in replies[-1].text and step(8) in replies[-1].text
    replies = await worker.send("350 nghìn/tháng")
    assert shown_money(app, "350 nghìn/tháng") in replies[-1].text
    assert PREVIEW in replies[-1].text  # money was the last required step: the summary
    await worker.click(EDIT, expect=0)
    await worker.click(vi("Money"))
    replies = await worker.send("khoảng 1,2 tỷ")
    assert shown_money(app, "khoảng 1,2 tỷ") in replies[-1].text and PREVIEW in replies[-1].text


async def walk_to_money(worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(TITLE)
    await worker.click(MANAGEMENT)
    await worker.click(vi("Occupational safety and health"))
    await worker.send(BEFORE)
    await worker.send(SOLUTION)
    await worker.send("Phân xưởng cơ khí")
    await worker.click(vi("Today"))


async def test_no_money_makes_the_social_benefit_required(worker: TgUser) -> None:
    await walk_to_money(worker)
    replies = await worker.send("không có")
    assert vi("no money benefit") in replies[-1].text
    assert step(9) in replies[-1].text and OPTIONAL not in replies[-1].text
    assert SKIP not in replies[-1].button_texts()
    replies = await worker.send("Công nhân không phải trèo vào bể để vệ sinh.")
    assert PREVIEW in replies[-1].text and SUBMIT in replies[-1].button_texts()
    assert vi("Social benefit") + ":" in replies[-1].text and vi("Social benefit") + "," not in replies[-1].text


async def to_before(worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(TITLE)
    await worker.click(TECH)
    await worker.click(OTHER)


async def test_a_long_answer_needs_no_done_and_can_be_added_to(app: App, worker: TgUser) -> None:
    await to_before(worker)
    replies = await worker.send("Phần một của hiện trạng.")
    assert step(5) in replies[-1].text and DONE not in replies[-1].button_texts()
    assert APPEND in replies[-1].button_texts()
    replies = await worker.click(APPEND)
    assert step(4) in replies[-1].text and "Phần một của hiện trạng." in replies[-1].text
    assert vi("Send what to add: it goes at the end of the current answer.") in replies[-1].text
    replies = await worker.send("Phần hai, dán từ Zalo.")
    assert step(5) in replies[-1].text  # back where the worker was
    answers = json.loads((await draft_row(app)).answers)
    assert answers["before"] == "Phần một của hiện trạng.\nPhần hai, dán từ Zalo."
    await worker.send(SOLUTION)
    replies = await worker.click(APPEND)  # offered after every long answer
    assert step(5) in replies[-1].text
    await worker.click(DONE)  # nothing to add after all
    assert step(6) in worker.last.text
    assert json.loads((await draft_row(app)).answers)["solution"] == SOLUTION


def pasted(chars: int) -> list[str]:
    """A text pasted in one go, as Telegram delivers it: pieces of 4,096 characters."""
    text = ("Trạm bơm chạy hết công suất cả đêm nên ống hay vỡ. " * (chars // 40 + 1))[:chars]
    return [text[i : i + 4096] for i in range(0, chars, 4096)]


async def test_a_pasted_answer_split_by_telegram_is_joined(app: App, worker: TgUser) -> None:
    await to_before(worker)
    pieces = pasted(9000)  # 4096 + 4096 + 808
    replies = await worker.send(pieces[0])
    assert DONE in replies[-1].button_texts() and step(4) not in replies[-1].text  # waits for the rest
    await worker.send(pieces[1])
    replies = await worker.send(pieces[2])  # shorter: the last piece
    assert step(5) in replies[-1].text
    assert json.loads((await draft_row(app)).answers)["before"] == "\n".join(p.strip() for p in pieces)
    await worker.send("/drafts")
    await worker.click(vi("▶️ Continue {n}", n=1))
    pieces = pasted(8192)
    for piece in pieces:  # a paste that ends exactly on a piece: Done says it is all
        await worker.send(piece)
    replies = await worker.click(DONE)
    assert step(6) in replies[-1].text
    assert json.loads((await draft_row(app)).answers)["solution"] == "\n".join(p.strip() for p in pieces)


async def test_back_skip_and_edit_from_preview(app: App, worker: TgUser) -> None:
    await fill_to_preview(worker)
    summary = worker.last
    replies = await worker.click(EDIT, expect=0)
    assert replies == [] and "✏️ " + vi("Field") in summary.button_texts()
    assert "➕ " + vi("Co-authors") in summary.button_texts()
    await worker.click(vi("Field"))
    assert step(3) in worker.last.text and "✓ " + PRODUCTION in worker.last.button_texts()
    replies = await worker.click(MAINTENANCE)
    assert PREVIEW in replies[-1].text and MAINTENANCE in replies[-1].text
    replies = await worker.click(ADD, expect=0)
    assert worker.last.button_texts() == [SUBMIT, *("➕ " + vi(d) for d in DETAILS), EDIT]
    await worker.click(vi("Co-authors"))
    assert OPTIONAL in worker.last.text and SKIP in worker.last.button_texts()
    replies = await worker.send("Nguyễn Văn An 60%\nTrần Thị Bình 30%")
    assert "90%" in replies[-1].text  # the sum is wrong: asked again
    replies = await worker.send("Nguyễn Văn An – 60%\nTrần Thị Bình – 40%")
    assert "Trần Thị Bình – 40%" in replies[-1].text and PREVIEW in replies[-1].text
    assert "➕ " + vi("Conditions") in replies[-1].button_texts()  # after a detail: the others still empty, at once
    await worker.click(vi("Conditions"))
    replies = await worker.click(SKIP)
    assert PREVIEW in replies[-1].text
    await worker.click(EDIT, expect=0)
    await worker.click(vi("Name"))
    replies = await worker.click(BACK)  # back from an edit returns to the preview
    assert PREVIEW in replies[-1].text
    await worker.click(SUBMIT)
    async with app.db.session() as s:
        row = await draft_row(app)
        authors = (await s.exec(select(Author).where(Author.initiative_id == row.id))).all()
    assert [(a.full_name, a.share) for a in authors] == [("Nguyễn Văn An", 60), ("Trần Thị Bình", 40)]
    assert row.field_of_work == "maintenance"


async def test_preview_buttons_fit_a_small_screen(worker: TgUser) -> None:
    from handlers.ui.keyboards import HALF, width

    await fill_to_preview(worker)
    await worker.click(EDIT, expect=0)
    preview = worker.last
    assert len(preview.button_texts()) == 15  # Submit, the 13 parts, Save & exit
    for row in preview.buttons:
        assert len(row) == 1 or all(width(b["text"]) <= HALF for b in row), row


async def test_back_walks_to_the_previous_step_and_keep_moves_on(worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(TITLE)
    replies = await worker.click(BACK)
    assert step(1) in replies[-1].text and TITLE in replies[-1].text
    replies = await worker.click(KEEP)
    assert step(3) in replies[-1].text
    await worker.click(TECH)
    await worker.click(OTHER)
    await worker.send(BEFORE)
    await worker.click(BACK)
    replies = await worker.click(BACK)  # back to the keyboard of both choices
    assert step(3) in replies[-1].text and "✓ " + OTHER in replies[-1].button_texts()
    replies = await worker.click(KEEP)
    assert step(4) in replies[-1].text and BEFORE in replies[-1].text


async def test_bad_input_gets_a_clear_message_and_a_reask(worker: TgUser) -> None:
    await worker.send("/new")
    replies = await worker.send("😀😀😀")
    assert vi("Please answer in words: emoji or symbols alone are not enough.") in replies[-1].text
    assert step(1) in replies[-1].text
    replies = await worker.send("x" * 301)
    too_long = "The answer is too long: {length} characters, at most {max} are allowed. Please shorten it."
    assert vi(too_long, length=301, max=300) in replies[-1].text
    replies = await worker.send_sticker()
    assert UNREADABLE in replies[-1].text and step(1) in replies[-1].text
    replies = await worker.send_voice()
    assert UNREADABLE in replies[-1].text
    replies = await worker.send_location()
    assert UNREADABLE in replies[-1].text
    replies = await worker.send_photo()  # early: kept with the photos and documents
    assert vi("File {n} received; it is kept with the photos and documents.", n=1) in replies[-1].text
    replies = await worker.send("Sáng kiến <b>không</b> & thẻ")  # user text is escaped, never parsed
    assert step(3) in replies[-1].text
    await worker.click(BACK)
    assert "Sáng kiến <b>không</b> & thẻ" in worker.last.text


async def test_decomposed_unicode_is_stored_composed(app: App, worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(unicodedata.normalize("NFD", "  Tiết   kiệm điện  "))
    answers = json.loads((await draft_row(app)).answers)
    assert answers["title"] == "Tiết kiệm điện" and unicodedata.is_normalized("NFC", answers["title"])


async def test_photos_and_documents_are_kept_with_file_ids(app: App, worker: TgUser) -> None:
    await fill_to_preview(worker)
    await worker.click(ADD, expect=0)
    await worker.click(vi("Files"))
    replies = await worker.send_photo()
    assert "Đã nhận tệp thứ 1" in replies[-1].text
    replies = await worker.send_document("ban-ve.pdf")
    assert "Đã nhận tệp thứ 2" in replies[-1].text
    await worker.click(DONE)
    assert vi("Photos and documents") + ": 2" in worker.last.text
    await worker.click(SUBMIT)
    async with app.db.session() as s:
        files = (await s.exec(select(Attachment))).all()
    assert [(f.kind, f.size) for f in files] == [("photo", 80000), ("document", 12345)]
    assert files[0].file_id.endswith("-800")  # the largest size of the photo
    assert files[1].file_name == "ban-ve.pdf"


async def test_cancel_keeps_the_draft_and_drafts_resumes_it(app: App, worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(TITLE)
    replies = await worker.send("/cancel")
    assert replies[-1].text == vi("You left the form. Your draft is saved: send /drafts to continue it.")
    replies = await worker.send("Văn bản sau khi hủy")
    assert step(2) not in replies[-1].text and "/new" in replies[-1].text  # outside the form now: a hint, no step
    replies = await worker.send("/drafts")
    assert TITLE in replies[-1].text and "bước 2/13" in replies[-1].text
    replies = await worker.click(vi("▶️ Continue {n}", n=1))
    assert step(3) in replies[-1].text
    await worker.click(TECH)
    replies = await worker.click(OTHER)
    assert step(4) in replies[-1].text


async def test_a_draft_resumed_at_the_preview_shows_every_edit_button(worker: TgUser) -> None:
    await fill_to_preview(worker)
    await worker.send("/cancel")
    await worker.send("/drafts")
    replies = await worker.click(vi("▶️ Continue {n}", n=1))
    assert PREVIEW in replies[-1].text
    assert "✏️ " + vi("Money") in replies[-1].button_texts() and EXIT in replies[-1].button_texts()


async def test_save_and_exit_then_delete_with_confirmation(app: App, worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(TITLE)
    replies = await worker.click(EXIT)
    assert "/drafts" in replies[-1].text
    await worker.send("/drafts")
    replies = await worker.click(vi("🗑 Delete {n}", n=1))
    assert vi("Delete the draft “{title}”? This cannot be undone.", title=TITLE) == replies[-1].text
    replies = await worker.click(vi("No, keep it"))
    assert (await draft_row(app)).status == "draft"
    await worker.send("/drafts")
    await worker.click(vi("🗑 Delete {n}", n=1))
    replies = await worker.click(vi("Yes, delete it"))
    assert vi("The draft is deleted.") == replies[-1].text
    assert (await draft_row(app)).status == "deleted"
    replies = await worker.send("/drafts")
    assert vi("You have no drafts. Send /new to start one.") == replies[-1].text


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
    _, button = worker.find_button(SUBMIT, preview)
    await asyncio.gather(worker.press(preview, button["callback_data"]), worker.press(preview, button["callback_data"]))
    async with app.db.session() as s:
        rows = (await s.exec(select(Initiative).where(Initiative.status == "submitted"))).all()
        events = (await s.exec(select(Event).where(Event.kind == "initiative.submitted"))).all()
    assert len(rows) == 1 and len(events) == 1
    number = rows[0].number or ""
    submitted = [m for m in worker.history if number in m.text]
    assert len(submitted) == 1
    assert vi("This initiative was already submitted as {number}.", number=number) in worker.alerts


async def test_pieces_sent_faster_than_replies_are_joined_in_order(app: App, worker: TgUser) -> None:
    await to_before(worker)
    pieces = [f"Phần {i}. " + "x" * 4000 for i in range(1, 6)]
    await asyncio.gather(*(worker.send(piece) for piece in pieces))
    assert json.loads((await draft_row(app)).pending) == pieces
    await worker.send("Hết.")
    assert json.loads((await draft_row(app)).answers)["before"] == "\n".join([*pieces, "Hết."])


async def test_stale_buttons_change_nothing(app: App, worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(TITLE)
    screen = worker.last
    await worker.click(TECH)
    await worker.click(OTHER)
    await worker.click(MANAGEMENT, message=screen)  # the keyboard of a step already passed
    assert worker.alerts[-1] == STALE
    assert json.loads((await draft_row(app)).answers)["solution_type"] == "technical"
    await worker.send(BEFORE)
    await worker.send(SOLUTION)
    await worker.click(APPEND, message=worker.history[-2])  # step 5's, pressed at step 6
    assert worker.alerts[-1] == STALE
    await worker.send(PLACE)
    assert json.loads((await draft_row(app)).answers)["applied_where"] == PLACE


async def test_someone_elses_draft_button_is_refused(app: App, worker: TgUser) -> None:
    await worker.send("/new")
    await worker.send(TITLE)
    message = worker.last
    _, button = worker.find_button(TECH, message)
    intruder = app.user()
    intruder.fake.messages[intruder.id] = {}
    await intruder.press(message, button["callback_data"], expect=0)
    assert intruder.alerts[-1] == STALE
    assert "solution_type" not in json.loads((await draft_row(app)).answers)


async def test_unregistered_user_is_sent_to_start(app: App) -> None:
    user = app.user()
    replies = await user.send("/new")
    assert "/start" in replies[-1].text


async def test_help_lists_commands_and_steps_in_the_users_language(worker: TgUser) -> None:
    replies = await worker.send("/help")
    assert "/new" in replies[-1].text and "13. " + vi("Photos and documents") in replies[-1].text
