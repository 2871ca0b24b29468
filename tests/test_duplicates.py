"""Duplicates (issue 12): the matching rules against the index on SQLite and PostgreSQL, an index that survives a
restart and follows other workers' submissions; the worker's list before submitting, "submit anyway" and the line on
how it differs; "Trùng lặp với…" on the card end to end (the author's notice, the tallies, /history, /export),
wrong picks and forged or stale presses; the same decision typed in a Zalo group."""

from __future__ import annotations

import json
import unicodedata
from io import BytesIO
from pathlib import Path
from typing import Any

from sqlmodel import select

from storage.db import Database
from storage.migrate import upgrade
from storage.models import Event, Initiative, utcnow
from storage.progress import tallies
from storage.review import load
from storage.similar.search import similarity, suggest
from storage.similar.store import doc_stmt
from storage.similar.text import fold, prepare
from storage.unit_files import read_units
from storage.units import import_units, unit_by_code
from storage.writer import Stmt
from tests.conftest import UNITS_CSV, App, register
from tests.fake_zalo import FakeZalo
from tests.flows import SOLUTION, TITLE, fill_to_preview
from tests.test_review import GROUP, card_of, team
from tests.test_zalo import zalo_fill_to_preview, zalo_number, zalo_register, zalo_team
from tests.tgclient import TgUser
from tests.zalo_app import TwoChannels
from tests.zaloclient import ZaloUser, choices

PUMP = "Tự động duy trì áp lực mạng cấp nước bằng biến tần"
PUMP_HOW = "Lắp cảm biến áp lực ở cuối mạng và biến tần cho bơm; ban đêm bơm chạy chậm lại, ống không còn bị vỡ."
OTHERS = [
    ("Lắp biến tần cho quạt làm mát lò hơi", "Thay khởi động sao tam giác bằng biến tần; quạt chạy theo nhiệt độ."),
    ("Tự động hóa trạm bơm tiêu úng", "Phao báo mực nước điều khiển bơm; không cần người trực đêm."),
    ("Số hóa quy trình kiểm kê vật tư", "Dán mã QR lên kệ, kiểm kê bằng điện thoại thay sổ ghi tay."),
    ("Thay đèn LED và cảm biến chuyển động cho nhà xưởng", "Đèn chỉ sáng khi có người; tiết kiệm điện."),
    ("Cải tiến băng tải than", "Thay con lăn bằng loại chịu mài mòn, lắp gạt than ở đầu băng."),
]
SAME_PUMP = {
    "decomposed (NFD)": (unicodedata.normalize("NFD", PUMP), unicodedata.normalize("NFD", PUMP_HOW)),
    "no diacritics, d for đ": ("Tu dong duy tri ap luc mang cap nuoc bang bien tan", "Lap cam bien ap luc, bien tan."),
    "case and punctuation": ("TỰ ĐỘNG - duy trì (áp lực) mạng cấp nước!!! bằng BIẾN TẦN", PUMP_HOW.upper()),
    "word order": ("Bằng biến tần, duy trì tự động áp lực mạng cấp nước", PUMP_HOW),
    "typos": ("Tự đông duy trì áp lưc mạng cấp nuớc bằg biến tầng", "Lắp cảm biến áp lực ở cuối mạg và biến tân."),
    "reworded": ("Giải pháp tự động giữ ổn định áp lực mạng cấp nước nhờ biến tần",
                 "Dùng biến tần và cảm biến áp lực đặt cuối mạng để bơm chạy chậm ban đêm, tránh vỡ ống."),
}  # fmt: skip


def test_folding_ignores_case_diacritics_d_punctuation_and_unicode_form() -> None:
    nfc = "Đường ống DẪN khí — Tổ 3, phân xưởng số 2!"
    assert fold(nfc) == fold(unicodedata.normalize("NFD", nfc)) == "duong ong dan khi to 3 phan xuong so 2"
    assert fold("ĐỒNG HỒ đo momen") == fold("dong ho do MOMEN") == "dong ho do momen"
    assert fold("Ðiện") == "dien"  # Ð (eth), typed for Đ on some keyboards
    reordered = _stored("Bằng biến tần: duy trì tự động áp lực mạng cấp nước", PUMP_HOW)
    assert similarity(prepare(PUMP, PUMP_HOW), *reordered) == 100


def _stored(title: str, solution: str) -> tuple[str, str]:
    p = prepare(title, solution)
    return p.title, p.body


async def _member(db: Database) -> None:
    await db.write(Stmt("INSERT INTO member (id, tg_user_id, full_name, language, created_at, updated_at) "
                        "VALUES (1, 1, 'An', 'vi', :now, :now)", {"now": utcnow()}))  # fmt: skip


async def seed(db: Database, title: str, solution: str, unit_code: str = "LS-NUOC", *, index: bool = True) -> str:
    """A submitted initiative written straight to the database (with its row for the search unless ``index``)."""
    unit = await unit_by_code(db, unit_code)
    assert unit is not None
    answers = json.dumps({"title": title, "solution": solution}, ensure_ascii=False)
    result = await db.write(Stmt(
        "INSERT INTO initiative (author_id, unit_id, status, answers, step, pending, editing, has_social_benefit, "
        "review_round, title, created_at, updated_at) VALUES (1, :unit, 'submitted', :answers, '', '[]', :no, :no, 1, "
        ":title, :now, :now) RETURNING id",
        {"unit": unit.id, "answers": answers, "no": False, "title": title, "now": utcnow()},
        returning=True))  # fmt: skip
    iid = int(result.rows[0][0])
    number = f"SK-{iid:06d}"
    await db.write(Stmt("UPDATE initiative SET number = :n WHERE id = :id", {"n": number, "id": iid}),
                   *([doc_stmt(db, iid, unit.id, title, solution)] if index else []))  # fmt: skip
    return number


async def numbers(db: Database, title: str, solution: str, unit_code: str = "LS-NUOC") -> list[str]:
    unit = await unit_by_code(db, unit_code)
    return [s.number for s in await suggest(db, title=title, solution=solution, unit_id=unit.id if unit else None)]


async def matching_rules(url: str) -> None:
    db, other_worker = Database(url), Database(url)  # two processes' views of one database
    await db.start()
    await other_worker.start()
    try:
        await _member(db)
        for title, solution in OTHERS:
            await seed(db, title, solution)
        pump = await seed(db, PUMP, PUMP_HOW)
        far = await seed(db, PUMP, PUMP_HOW, "DK-BSR")  # the same text in another sector: not compared
        for kind, (title, solution) in SAME_PUMP.items():
            found = await numbers(db, title, solution)
            assert found and found[0] == pump, kind
            assert far not in found, kind
        unrelated = ("Phần mềm quản lý hồ sơ bệnh án điện tử", "Bác sĩ ghi bệnh án trên máy tính bảng.")
        assert pump not in await numbers(db, *unrelated)
        assert await numbers(db, PUMP, PUMP_HOW, "DK-PVGAS") == [far]  # DK-BSR's sibling sees it
        newer = await seed(other_worker, "Lắp van một chiều cho đường ống dẫn khí nén", "Chống dòng chảy ngược.")
        assert (await numbers(db, "Van một chiều cho ống khí nén", "Chống chảy ngược"))[0] == newer  # caught up
        unindexed = await seed(db, "Cải tạo bể lắng sơ cấp của trạm xử lý nước thải", "Thêm vách ngăn.", index=False)
        restarted = Database(url)  # a restart: loads the table, indexes what has no row yet
        await restarted.start()
        assert (await numbers(restarted, "Cai tao be lang so cap tram xu ly nuoc thai", "vach ngan"))[0] == unindexed
        assert (await numbers(restarted, *SAME_PUMP["typos"]))[0] == pump
        await restarted.close()
    finally:
        await db.close()
        await other_worker.close()


async def test_matching_rules_on_sqlite(db_path: Path) -> None:
    await matching_rules(f"sqlite+aiosqlite:///{db_path}")


async def test_matching_rules_on_postgresql(pg_url: str) -> None:
    db = Database(pg_url)
    await db.start()
    await upgrade(db.engine)
    await import_units(db, read_units(UNITS_CSV))
    await db.close()
    await matching_rules(pg_url)


async def submit_via_form(user: TgUser, *, anyway: bool = False) -> str:
    await fill_to_preview(user)
    replies = await user.click("Gửi duyệt")
    if anyway:
        replies = await user.click("Vẫn gửi duyệt")
    return replies[-1].text.split("mã số sáng kiến: ")[1].split(".")[0]


async def test_before_submitting_the_worker_sees_similar_ones_and_may_say_how_it_differs(app: App) -> None:
    crew = await team(app)
    first = await submit_via_form(crew.worker)
    second = app.user(first_name="Nam", last_name="Hoàng Văn")
    await register(second)
    await fill_to_preview(second)
    listing = (await second.click("Gửi duyệt"))[-1]
    assert "giống sáng kiến của anh/chị" in listing.text
    assert f"• {first} · {TITLE} — chờ duyệt, giống 100%" in listing.text
    assert listing.button_texts() == ["📨 Vẫn gửi duyệt", "✍️ Ghi điểm khác"]
    async with app.db.session() as s:
        assert len((await s.exec(select(Initiative).where(Initiative.status == "submitted"))).all()) == 1
    await second.click("Ghi điểm khác")
    assert "khác các sáng kiến trên ở điểm nào" in second.last.text
    replies = await second.send("Trạm bơm số 5 dùng bộ điều khiển PLC, không dùng cảm biến cơ.")
    number = replies[-1].text.split("mã số sáng kiến: ")[1].split(".")[0]
    card = card_of(crew.in_group(crew.support[0]))
    assert card.text.startswith(number) and f"• {first} · {TITLE} — chờ duyệt, giống 100%" in card.text
    assert "Tác giả ghi điểm khác: Trạm bơm số 5 dùng bộ điều khiển PLC" in card.text
    async with app.db.session() as s:
        item = (await s.exec(select(Initiative).where(Initiative.number == number))).one()
    assert item.status == "submitted" and item.differs_note and item.differs_note.startswith("Trạm bơm số 5")

    # returned, changed and resubmitted: the list was seen at the first submission, it is not shown again
    in_group = crew.in_group(crew.support[0])
    await in_group.click("Trả lại bổ sung", message=card)
    await in_group.send("Cần ghi rõ số tiền tiết kiệm mỗi tháng.", reply_to=in_group.last, expect=0)
    await second.click("Sửa và gửi lại", message=second.last)
    await second.click("✏️ Làm lợi")
    await second.send("15 triệu/năm")
    again = (await second.click("Gửi duyệt"))[-1].text
    assert f"mã số sáng kiến: {number}" in again and "giống sáng kiến của anh/chị" not in again


async def two_alike(app: App) -> tuple[Any, str, str]:
    crew = await team(app)
    original = await submit_via_form(crew.worker)
    copier = app.user(first_name="Nam", last_name="Hoàng Văn")
    await register(copier)
    copy = await submit_via_form(copier, anyway=True)
    crew.copier = copier
    return crew, original, copy


async def test_the_team_marks_a_duplicate_and_the_author_history_export_and_tallies_show_it(app: App) -> None:
    crew, original, copy = await two_alike(app)
    member = crew.in_group(crew.support[0])
    card = card_of(member)
    assert card.text.startswith(copy) and original in card.text
    await member.click("Trùng lặp với…", message=card)
    prompt = member.last
    assert prompt.markup == {"force_reply": True, "selective": True} and f"1. {original} · {TITLE}" in prompt.text
    await member.send("SK-999999", reply_to=prompt, expect=1)
    assert "Không có sáng kiến nào đã gửi duyệt mang mã số SK-999999" in member.last.text
    await member.send(copy, reply_to=member.last, expect=1)
    assert f"{copy} chính là sáng kiến này" in member.last.text
    await member.send("1: cùng trạm bơm, cùng giải pháp", reply_to=member.last, expect=0)
    review = await load(app.db, int(copy[3:]))
    assert review is not None and review.initiative.status == "duplicate"
    assert review.duplicate_of is not None and review.duplicate_of.number == original
    shown = app.fake.messages[GROUP["id"]][card.message_id]
    assert f"Phạm Tổ viên 1 đã xác định trùng lặp với {original} (" in shown.text
    assert shown.button_texts() == ["📄 Xem đầy đủ", "📝 Đơn công nhận"]
    notice = crew.copier.last.text
    assert f"Sáng kiến {copy}" in notice and f"trùng lặp với sáng kiến {original}" in notice
    assert "không được tính" in notice and "cùng trạm bơm" in notice
    unit = await unit_by_code(app.db, "LS-NUOC")
    counts = (await tallies(app.db, [unit.id or 0], None))[unit.id or 0].by_status
    assert counts == {"submitted": 1, "rejected": 1}  # a duplicate counts as a rejection
    history = (await crew.copier.send(f"/history {copy}"))[-1].text
    assert f"Trùng lặp với sáng kiến {original} “{TITLE}”" in history
    assert f"xác định trùng lặp với {original}: cùng trạm bơm" in history
    assert "trùng lặp" in (await crew.copier.send("/my"))[-1].text
    await _export_shows(app, crew.officer, copy, original)


async def _export_shows(app: App, officer: TgUser, copy: str, original: str) -> None:
    from openpyxl import load_workbook

    await officer.send("/export LS")
    upload = next(p for m, p in reversed(app.fake.log) if m == "sendDocument")
    sheet = load_workbook(BytesIO(upload["document"]["content"]))["Danh sách sáng kiến"]
    rows = list(sheet.iter_rows(values_only=True))
    header, by_number = rows[0], {r[0]: r for r in rows[1:]}
    at = header.index("Trùng lặp với")
    assert by_number[copy][6] == "trùng lặp" and by_number[copy][at] == original
    assert by_number[original][at] in ("", None)


async def test_a_wrong_original_a_forged_or_stale_press_changes_nothing(app: App) -> None:
    crew, original, copy = await two_alike(app)
    first, second = crew.in_group(crew.support[0]), crew.in_group(crew.support[1])
    card = card_of(first)
    _, dup = first.find_button("Trùng lặp với…", card)
    await first.press(card, dup["callback_data"].rsplit(":", 1)[0] + ":7", expect=0)  # another round
    assert first.alerts[-1] == "Nút này đã cũ, không dùng được nữa."
    outsider = app.user(first_name="Khách")
    await register(outsider, unit_query="bsr")
    elsewhere = await submit_via_form(outsider)
    await crew.in_group(outsider).press(card, dup["callback_data"], expect=0)
    assert outsider.alerts[-1] == "Chỉ Tổ hỗ trợ sáng kiến của đơn vị mới làm được việc này."
    await first.press(card, dup["callback_data"], expect=1)
    await first.send(elsewhere, reply_to=first.last, expect=1)
    assert f"{elsewhere} không thuộc đơn vị này" in first.last.text
    await second.click("Xác nhận", message=card, expect=0)  # meanwhile another member confirms it
    await first.send(original, reply_to=first.last)
    assert first.last.text.startswith("Sáng kiến này đã có kết quả: đã xác nhận (Phạm Tổ viên 2")
    await first.press(card, dup["callback_data"], expect=0)
    assert first.alerts[-1].startswith("Sáng kiến này đã có kết quả: đã xác nhận")
    async with app.db.session() as s:
        item = (await s.exec(select(Initiative).where(Initiative.number == copy))).one()
        marked = (await s.exec(select(Event).where(Event.kind == "review.duplicate"))).all()
    assert item.status == "confirmed" and item.duplicate_of_id is None and marked == []


async def test_a_zalo_group_marks_a_duplicate_with_one_typed_command(two: TwoChannels, zalo: FakeZalo) -> None:
    group, (first, _second) = await zalo_team(two, zalo)
    author = ZaloUser(zalo, name="Trần Thị Bình")
    await zalo_register(author)
    await zalo_fill_to_preview(author)
    original = zalo_number((await author.send("gửi duyệt"))[-1].body)
    copier = ZaloUser(zalo, name="Hoàng Văn Nam")
    await zalo_register(copier)
    await zalo_fill_to_preview(copier)
    listing = (await copier.send("gửi duyệt"))[-1]
    assert original in listing.body and choices(listing) == ["📨 Vẫn gửi duyệt", "✍️ Ghi điểm khác"]
    copy = zalo_number((await copier.send("1"))[-1].body)
    await zalo.wait_for(lambda: any(s.body.startswith(copy) for s in zalo.in_chat(group)))
    card = next(s for s in zalo.in_chat(group) if s.body.startswith(copy))
    assert f"🔁 Trùng lặp với… {copy}: mã số sáng kiến gốc" in card.body and original in card.body
    await first.send(f"trùng lặp {copy}: {original}", expect=1)
    await zalo.wait_for(lambda: f"trùng lặp với sáng kiến {original}" in copier.last.body)
    review = await load(two.db, int(copy[3:]))
    assert review is not None and review.initiative.status == "duplicate"
    assert review.initiative.duplicate_of_id == int(original[3:])


async def test_an_original_stored_decomposed_is_listed_and_the_reviewer_may_type_its_number(app: App) -> None:
    """An initiative stored in NFD (as another system may have written it) is listed for the same words typed in
    NFC, with its figure; Reject asks for a reason without the list; the reviewer then marks the copy with the
    original's number typed loosely ("sk 6", not a place in the list), and the author hears which one it repeats."""
    crew = await team(app)
    for title, solution in OTHERS:
        await seed(app.db, title, solution)
    decomposed = unicodedata.normalize("NFD", TITLE)
    assert decomposed != TITLE
    original = await seed(app.db, decomposed, unicodedata.normalize("NFD", SOLUTION))
    await fill_to_preview(crew.worker)
    listing = (await crew.worker.click("Gửi duyệt"))[-1]
    assert f"• {original} · " in listing.text and "chờ duyệt, giống 100%" in listing.text
    assert not any(number in listing.text for number in ("SK-000001", "SK-000002", "SK-000003"))
    copy = (await crew.worker.click("Vẫn gửi duyệt"))[-1].text.split("mã số sáng kiến: ")[1].split(".")[0]
    member = crew.in_group(crew.support[0])
    card = card_of(member)
    assert card.text.startswith(copy) and f"• {original} · " in card.text
    await member.click("Từ chối", message=card)
    assert "Các sáng kiến giống nhất" not in member.last.text and original not in member.last.text
    await member.click("Trùng lặp với…", message=card)
    assert f"1. {original} · " in member.last.text
    await member.send(f"sk {int(original[3:])}", reply_to=member.last, expect=0)
    review = await load(app.db, int(copy[3:]))
    assert review is not None and review.initiative.status == "duplicate"
    assert review.duplicate_of is not None and review.duplicate_of.number == original == "SK-000006"
    await app.fake.wait_for(lambda: f"trùng lặp với sáng kiến {original}" in crew.worker.last.text)
    assert "không được tính" in crew.worker.last.text
