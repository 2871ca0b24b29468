"""The application for recognition (Circular 18/2013, Appendix I) as a Word file: Vietnamese dates and money in
words, every section in order in the generated .docx, the author's follow-up through the real dispatcher, and who
may have it."""

from __future__ import annotations

import unicodedata
from datetime import date
from io import BytesIO
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from sqlmodel import select

from bot.commands import set_commands
from forms.engine import PREVIEW, FormState
from forms.money import Money, Period
from handlers.worker.dossier_ask import DossierAction, DossierCb
from reports.dossier import DOTS, NONE, TITLE, Dossier, Person, render
from reports.dossier_data import parse_birth, parse_helpers, with_earlier
from reports.vietnamese import amount_line, document_date, money_line, number_in_words, place_and_date
from storage.dossier import initiatives_of, save, subject, subject_by_number
from storage.initiatives import create_draft
from storage.members import get_member
from storage.models import ServedFile
from storage.roles import OFFICER, SUPPORT
from tests.conftest import App, register
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo
from tests.flows import TITLE as FORM_TITLE
from tests.flows import fill_to_preview, vi
from tests.test_review import card_of, give, team
from tests.test_zalo import zalo_fill_to_preview, zalo_register
from tests.tgclient import TgUser
from tests.zalo_app import settings_for, start_two, stop_two
from tests.zaloclient import ZaloUser

SENTENCE = "Đoạn {n}: lắp cảm biến áp lực, biến tần và bộ điều khiển cho trạm bơm số {n}. "
LONG = "\n".join((SENTENCE * 8).format(n=n).strip() for n in range(40))  # 40 paragraphs, ~25,000 characters


def blocks(data: bytes) -> list[str]:
    """The document's text in reading order: a paragraph a block, a table row a block (cells joined by " | ")."""
    doc = docx.Document(BytesIO(data))
    out: list[str] = []
    for child in doc.element.body.iterchildren():
        if child.tag == qn("w:p"):
            out.append(Paragraph(child, doc).text)
        elif child.tag == qn("w:tbl"):
            out += [" | ".join(cell.text for cell in row.cells) for row in Table(child, doc).rows]
    return [b for b in out if b.strip()]


def in_order(found: list[str], expected: list[str]) -> None:
    """Each expected text is in a block after the block of the one before it."""
    at = -1
    for text in expected:
        at = next((i for i in range(at + 1, len(found)) if text in found[i]), -1)
        assert at >= 0, f"{text!r} missing or out of order in {found}"


def sent_documents(app: App, chat_id: int) -> list[bytes]:
    return [p["document"]["content"] for m, p in app.fake.log if m == "sendDocument" and int(p["chat_id"]) == chat_id]


def dossier(**changes: Any) -> Dossier:
    base: dict[str, Any] = {
        "addressee": "Hội đồng sáng kiến Công ty CP Cấp nước Lạng Sơn",
        "authors": [Person("Nguyễn Văn An", "12/03/1985", "Trạm bơm số 2", "Công nhân vận hành", "Kỹ sư điện", 100)],
        "name": FORM_TITLE,
        "field": "Sản xuất, vận hành",
        "first_applied": "15/03/2022",
        "solution_type": "Giải pháp kỹ thuật",
        "before": "Bơm chạy hết công suất cả đêm.",
        "solution": "Lắp cảm biến áp lực và biến tần.",
        "applied_where": "Trạm bơm số 2",
        "signed_on": date(2022, 11, 4),
        "money": amount_line(14_000_000),
        "social": "Công nhân không phải trèo lên bể.",
        "confidential": "Sơ đồ đấu nối tủ điều khiển.",
        "conditions": "Biến tần 15 kW.",
        "investor": "Công ty CP Cấp nước Lạng Sơn",
        "appliers": "Tiết kiệm điện, ống không còn vỡ.",
        "helpers": [Person("Hoàng Văn Nam", workplace="Tổ vận hành", task="Lắp cảm biến")],
        "place": "Lạng Sơn",
        "phone": "0912 345 678",
    }
    return Dossier(**{**base, **changes})


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (0, "không"),
        (5, "năm"),
        (10, "mười"),
        (11, "mười một"),
        (15, "mười lăm"),
        (21, "hai mươi mốt"),
        (24, "hai mươi bốn"),
        (105, "một trăm linh năm"),
        (110, "một trăm mười"),
        (1_005, "một nghìn không trăm linh năm"),
        (350_000, "ba trăm năm mươi nghìn"),
        (1_050_000, "một triệu không trăm năm mươi nghìn"),
        (14_000_000, "mười bốn triệu"),
        (1_200_000_000, "một tỷ hai trăm triệu"),
        (50_000_000_000, "năm mươi tỷ"),
        (10_000_000_000_000, "mười nghìn tỷ"),
    ],
)
def test_numbers_in_words(amount: int, words: str) -> None:
    assert number_in_words(amount) == words


def test_money_as_offices_write_it() -> None:
    assert amount_line(14_000_000) == "14.000.000 đồng/năm (mười bốn triệu đồng)"
    assert money_line(Money(14_000_000)) == "14.000.000 đồng/năm (mười bốn triệu đồng)"
    assert money_line(Money(1_200_000, Period.MONTH, approximate=True)) == (
        "khoảng 1.200.000 đồng/tháng (một triệu hai trăm nghìn đồng), "
        "tương đương 14.400.000 đồng/năm (mười bốn triệu bốn trăm nghìn đồng)"
    )
    assert money_line(Money(0)) == ""


def test_the_vietnamese_date_line() -> None:
    assert document_date(date(2022, 11, 4)) == "ngày 04 tháng 11 năm 2022"
    assert document_date(date(2022, 3, 15)) == "ngày 15 tháng 3 năm 2022"
    assert document_date(date(2023, 2, 5)) == "ngày 05 tháng 02 năm 2023"  # months 1 and 2 take a zero
    assert place_and_date("Lạng Sơn", date(2022, 11, 4)) == "Lạng Sơn, ngày 04 tháng 11 năm 2022"


def test_birth_dates_and_helpers_as_typed() -> None:
    today = date(2025, 6, 1)
    assert parse_birth("12/03/1985", today) == "1985-03-12"
    assert parse_birth("1985-3-12", today) == "1985-03-12"
    assert parse_birth("3/1985", today) == "1985-03"
    assert parse_birth("1985", today) == "1985"
    assert [parse_birth(bad, today) for bad in ("31/02/1985", "2020", "hôm qua", "12/03/85")] == [None] * 4
    assert parse_helpers("Hoàng Văn Nam – Tổ vận hành – lắp cảm biến\nLê Thị Hoa: theo dõi") == [
        {"name": "Hoàng Văn Nam", "workplace": "Tổ vận hành", "task": "lắp cảm biến"},
        {"name": "Lê Thị Hoa", "workplace": "", "task": "theo dõi"},
    ]
    assert parse_helpers("123 – abc") is None


def test_every_section_of_the_form_in_order() -> None:
    found = blocks(render(dossier()))
    in_order(
        found,
        [
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            "Độc lập - Tự do - Hạnh phúc",
            TITLE,
            "Kính gửi: Hội đồng sáng kiến Công ty CP Cấp nước Lạng Sơn",
            "Tôi:",
            "Số TT | Họ và tên | Ngày tháng năm sinh | Nơi công tác",
            "1 | Nguyễn Văn An | 12/03/1985 | Trạm bơm số 2 | Công nhân vận hành | Kỹ sư điện | 100%",
            "Là tác giả đề nghị xét công nhận sáng kiến: " + FORM_TITLE,
            "Chủ đầu tư tạo ra sáng kiến: Công ty CP Cấp nước Lạng Sơn",
            "Lĩnh vực áp dụng sáng kiến: Sản xuất, vận hành",
            "áp dụng lần đầu hoặc áp dụng thử: 15/03/2022",
            "Mô tả bản chất của sáng kiến",
            "Tình trạng trước khi có sáng kiến",
            "Bơm chạy hết công suất cả đêm.",
            "Nội dung giải pháp: Giải pháp kỹ thuật.",
            "Lắp cảm biến áp lực và biến tần.",
            "Khả năng áp dụng",
            "Sáng kiến đã được áp dụng tại: Trạm bơm số 2.",
            "Hiệu quả",
            "Giá trị làm lợi: 14.000.000 đồng/năm (mười bốn triệu đồng).",
            "cần được bảo mật (nếu có): Sơ đồ đấu nối tủ điều khiển.",
            "Những điều kiện cần thiết để áp dụng sáng kiến",
            "Biến tần 15 kW.",
            "theo ý kiến của tác giả",
            "Giá trị làm lợi: 14.000.000 đồng/năm (mười bốn triệu đồng).",
            "Lợi ích xã hội: Công nhân không phải trèo lên bể.",
            "kể cả áp dụng thử (nếu có)",
            "Tiết kiệm điện, ống không còn vỡ.",
            "Danh sách những người đã tham gia áp dụng thử",
            "1 | Hoàng Văn Nam |  | Tổ vận hành |  |  | Lắp cảm biến",
            "Tôi xin cam đoan mọi thông tin nêu trong đơn là trung thực",
            "Lạng Sơn, ngày 04 tháng 11 năm 2022",
            "Người nộp đơn",
            "(Ký và ghi rõ họ tên)",
            "Nguyễn Văn An",
            "Điện thoại liên hệ: 0912 345 678",
        ],
    )


def test_long_texts_several_authors_and_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Trần Thị Bình")
    authors = [Person("Nguyễn Văn An", share=50), Person(nfd, share=30), Person("Lê Văn Cường", share=20)]
    found = blocks(render(dossier(authors=authors, solution=LONG)))
    assert all(unicodedata.is_normalized("NFC", b) for b in found)
    rows = [b for b in found if b[:2] in ("1 ", "2 ", "3 ")][:3]
    assert [r.split(" | ")[1] for r in rows] == ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"]
    assert sum(int(r.split(" | ")[-1].rstrip("%")) for r in rows) == 100
    assert all(line in found for line in LONG.split("\n"))  # nothing of a long answer is cut
    in_order(found, ["Chúng tôi:", "Là nhóm tác giả đề nghị", "Chúng tôi xin cam đoan", "Nhóm tác giả",
                     "Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"])  # fmt: skip


def test_no_optional_fields_and_what_is_not_known() -> None:
    skipped = dossier(investor="", appliers="", helpers=[], confidential="", conditions="", social="", phone="")
    found = blocks(render(skipped))
    assert not any("Chủ đầu tư" in b for b in found) and not any("Điện thoại" in b for b in found)
    in_order(found, ["bảo mật (nếu có): " + NONE, "điều kiện cần thiết", NONE, "kể cả áp dụng thử", NONE,
                     "Danh sách những người", NONE])  # fmt: skip
    unknown = dossier(addressee=None, appliers=None, helpers=None, place=None, before=None)
    found = blocks(render(unknown))
    in_order(found, ["Kính gửi: " + DOTS, "Tình trạng trước khi có sáng kiến", DOTS, "kể cả áp dụng thử", DOTS,
                     "Danh sách những người", DOTS, "……, ngày 04 tháng 11 năm 2022"])  # fmt: skip


def test_earlier_answers_carry_over_but_not_what_belongs_to_one_initiative() -> None:
    old = {"addressee": "Giám đốc", "place": "Lạng Sơn", "investor": "Công ty", "people": {"an": {"birth": "1985"}}}
    newer = {"place": "Cao Lộc", "people": {"an": {"title": "Kỹ sư"}}}
    merged = with_earlier({"appliers": ""}, [newer, old])
    assert merged == {"addressee": "Giám đốc", "place": "Cao Lộc", "appliers": "",
                      "people": {"an": {"birth": "1985", "title": "Kỹ sư"}}}  # fmt: skip


async def press_draft(worker: TgUser) -> list[Any]:
    await worker.send("/dossier")
    assert vi("Which initiative is the application for?") in worker.last.text
    return await worker.click(FORM_TITLE)


async def test_the_author_answers_the_follow_up_once_and_gets_the_word_file(app: App, worker: TgUser) -> None:
    await fill_to_preview(worker)
    replies = await press_draft(worker)
    assert "Kính gửi" in replies[-1].text and "Công ty CP Cấp nước Lạng Sơn" in replies[-1].button_texts()
    await worker.send("Giám đốc Công ty CP Cấp nước Lạng Sơn")
    assert "Nguyễn Văn An" in worker.last.text  # the date of birth of the author of the profile
    replies = await worker.send("31/02/1985")
    assert vi("I could not read this date of birth. Type it like 12/03/1985, or the year alone.") in replies[-1].text
    await worker.send("12/03/1985")
    await worker.click("Công ty CP Cấp nước Lạng Sơn")  # the workplace the unit is named after
    await worker.send("Công nhân vận hành")
    await worker.send("Công nhân kỹ thuật bậc 5/7")
    await worker.click(vi("Skip"))  # no investor other than the author
    await worker.send("Tiết kiệm điện, ống không còn vỡ.")
    await worker.send("Hoàng Văn Nam – Tổ vận hành – lắp cảm biến")
    replies = await worker.send("Lạng Sơn")
    assert replies[-1].kind == "document" and replies[-1].document
    assert replies[-1].document["file_name"].endswith(".docx") and TITLE in replies[-1].text
    assert replies[-1].button_texts() == [vi("✏️ Change the details")]  # on the file itself: one message
    assert vi("Something wrong or missing in it? Change the details and I will make the file again.") in (
        replies[-1].text
    )
    found = blocks(sent_documents(app, worker.id)[-1])
    me = "1 | Nguyễn Văn An | 12/03/1985 | Công ty CP Cấp nước Lạng Sơn | Công nhân vận hành | Công nhân kỹ thuật"
    helper = "1 | Hoàng Văn Nam |  | Tổ vận hành |  |  | lắp cảm biến"
    money = "14.000.000 đồng/năm (mười bốn triệu đồng)"
    in_order(found, ["Kính gửi: Giám đốc Công ty CP Cấp nước Lạng Sơn", me, FORM_TITLE, money, "Tiết kiệm điện",
                     helper, "Lạng Sơn, ngày"])  # fmt: skip
    assert not any("Chủ đầu tư" in b for b in found)

    await fill_to_preview(worker)  # a second initiative: only what belongs to it is asked
    await worker.send("/dossier")
    replies = await worker.click(FORM_TITLE, message=worker.last)
    assert "Kính gửi" not in replies[-1].text and vi("Skip") in replies[-1].button_texts()
    await worker.click(vi("📄 Send it as it is"))
    found = blocks(sent_documents(app, worker.id)[-1])
    in_order(found, ["Kính gửi: Giám đốc", "12/03/1985", "kể cả áp dụng thử", DOTS, "Lạng Sơn, ngày"])


async def test_a_missing_birth_date_is_asked_then_present(app: App, worker: TgUser) -> None:
    member = await get_member(app.db, worker.id)
    assert member is not None
    names = {"Nguyễn Văn An": 50, "Trần Thị Bình": 30, "Lê Văn Cường": 20}
    authors = [{"name": name, "share": share} for name, share in names.items()]
    person = {"workplace": "Trạm bơm số 2", "title": "Kỹ sư", "qualification": "Đại học"}
    people = {name.casefold(): {"name": name, "birth": "1980", **person} for name in names}
    del people["trần thị bình"]["birth"]
    data = {"addressee": "Giám đốc", "place": "Lạng Sơn", "investor": "", "appliers": "", "helpers": [],
            "people": people}  # fmt: skip
    draft = await create_draft(app.db, member, FormState({"title": FORM_TITLE, "authors": authors}, PREVIEW))
    assert await save(app.db, draft.id, data, actor_id=member.id, item="test")
    replies = await press_draft(worker)
    left = app.dp["i18n"].gettext("{left} question left", "{left} questions left", 1, locale="vi").format(left=1)
    assert "Trần Thị Bình" in replies[-1].text and left in replies[-1].text  # one question: hers
    await worker.send("05/02/1990")
    found = blocks(sent_documents(app, worker.id)[-1])
    in_order(found, ["Chúng tôi:", "1 | Nguyễn Văn An | 1980", "2 | Trần Thị Bình | 05/02/1990 | Trạm bơm số 2",
                     "3 | Lê Văn Cường | 1980", "Là nhóm tác giả"])  # fmt: skip
    item = await subject(app.db, draft.id)
    assert item is not None  # the form's answers are kept beside the dossier's
    assert item.answers["title"] == FORM_TITLE and item.data["people"]["trần thị bình"]["birth"] == "1990-02-05"


async def test_the_checked_notice_the_team_the_officer_and_an_outsider(app: App) -> None:
    crew = await team(app)
    await fill_to_preview(crew.worker)
    replies = await crew.worker.click("Gửi duyệt")
    number = replies[-1].text.split("mã số sáng kiến: ")[1].split(".")[0]
    reviewer = crew.in_group(crew.support[0])
    await reviewer.click("Xác nhận", message=card_of(reviewer), expect=0)
    notice = crew.worker.last
    assert "xác nhận hợp lệ" in notice.text and vi("📄 Application form (Word file)") in notice.button_texts()
    replies = await crew.worker.click(vi("📄 Application form (Word file)"), message=notice)
    assert "Kính gửi" in replies[-1].text  # the author's follow-up starts
    await crew.worker.click(vi("📄 Send it as it is"))
    assert len(sent_documents(app, crew.worker.id)) == 1

    replies = await reviewer.send(f"/dossier {number}")  # typed under the card: sent privately
    assert vi("Sent to you privately.") in replies[-1].text
    assert len(sent_documents(app, crew.support[0].id)) == 1
    other = crew.in_group(crew.support[1])  # or the card's own button
    replies = await other.click(vi("📝 Application for recognition"), message=card_of(other))
    assert vi("Sent to you privately.") in replies[-1].text and len(sent_documents(app, crew.support[1].id)) == 1
    assert any(FORM_TITLE in b for b in blocks(sent_documents(app, crew.support[0].id)[0]))
    await crew.officer.send(f"/dossier {number.lower()}")  # an officer of the province, above the unit
    assert len(sent_documents(app, crew.officer.id)) == 1

    outsider = app.user(first_name="Khách", last_name="Trần", username="khach_bsr")
    await register(outsider, unit_query="bình sơn")
    replies = await outsider.send(f"/dossier {number}")
    assert sent_documents(app, outsider.id) == [] and "đơn" in replies[-1].text.lower()
    found = await subject_by_number(app.db, number)
    assert found is not None and found.author.tg_user_id == crew.worker.id


async def test_on_zalo_the_file_is_an_expiring_download_link(fake: FakeTelegram, db_path: Path) -> None:
    zalo, base = FakeZalo(), "https://bot.example.org"
    await zalo.start()
    settings = settings_for(f"sqlite+aiosqlite:///{db_path}", fake, zalo, public_base_url=base)
    two = await start_two(fake, zalo, settings, files_base=base)
    try:
        user = ZaloUser(zalo, name="Nguyễn Văn An")
        await zalo_register(user)
        await zalo_fill_to_preview(user)
        await user.send("/dossier")
        replies = await user.send("1", expect=2)  # the draft, by its number in the list
        assert "Kính gửi" in replies[-1].body
        replies = await user.send("gui ban dang co")  # "📄 Gửi bản đang có", typed without diacritics
        link = replies[-1].body
        assert TITLE in link and base + "/files/" in link and ".docx" in link
        assert link.index(".docx") < link.index("1. " + vi("✏️ Change the details"))  # the button under the link
        replies = await user.send("1", expect=2)  # it works: every question again
        assert "Kính gửi" in replies[-1].body
        replies = await user.send("Giám đốc Công ty CP Cấp nước Lạng Sơn")
        assert "Nguyễn Văn An" in replies[-1].body
        async with two.db.session() as session:
            served = (await session.exec(select(ServedFile))).one()
        assert served.name.endswith(".docx") and any(FORM_TITLE in b for b in blocks(served.data))
    finally:
        await stop_two(two)
        await zalo.stop()


async def test_help_and_the_command_menu_name_dossier(app: App, worker: TgUser) -> None:
    replies = await worker.send("/help")
    assert vi("/dossier SK-000123 — the application for recognition (Word file); /dossier alone lists yours") in (
        replies[-1].text
    )
    await set_commands(app.bot, app.dp["i18n"])
    menu = {c["command"]: c["description"] for c in app.fake.commands[""]}
    assert menu["dossier"] == vi("Application for recognition of an initiative (Word file)")
    english = {c["command"]: c["description"] for c in app.fake.commands["en"]}
    assert english["dossier"] == "Application for recognition of an initiative (Word file)"


async def test_cancel_ends_the_follow_up_and_keeps_what_was_answered(app: App) -> None:
    crew = await team(app, bind=False)
    worker = crew.worker
    await fill_to_preview(worker)
    await worker.click("Gửi duyệt")
    number = worker.last.text.split("mã số sáng kiến: ")[1].split(".")[0]
    replies = await worker.send(f"/dossier {number}")
    assert "Kính gửi" in replies[-1].text
    await worker.send("Giám đốc Công ty CP Cấp nước Lạng Sơn")
    await worker.send("12/03/1985")
    replies = await worker.send("/cancel")
    assert replies[-1].text == vi(
        "Stopped. What you have answered is saved and will not be asked again: send {command} to continue, or to "
        "get the file."
    ).format(command=f"/dossier {number}")
    item = await subject_by_number(app.db, number)
    assert item is not None and item.data["addressee"] == "Giám đốc Công ty CP Cấp nước Lạng Sơn"
    assert item.data["people"]["nguyễn văn an"]["birth"] == "1985-03-12"
    replies = await worker.send("Công nhân vận hành")  # no longer read as an answer
    assert sent_documents(app, worker.id) == [] and "Nguyễn Văn An" not in replies[-1].text
    replies = await worker.send(f"/dossier {number}")  # on again: from the workplace, not the addressee
    assert "Kính gửi" not in replies[-1].text and "Nguyễn Văn An" in replies[-1].text
    assert "Công ty CP Cấp nước Lạng Sơn" in replies[-1].button_texts()
    await worker.click(vi("📄 Send it as it is"))
    found = blocks(sent_documents(app, worker.id)[-1])
    in_order(found, ["Kính gửi: Giám đốc Công ty CP Cấp nước Lạng Sơn", "1 | Nguyễn Văn An | 12/03/1985"])
    replies = await worker.send("/cancel")  # nothing under way any more
    assert vi("There is nothing to cancel.") in replies[-1].text

    newcomer = app.user()  # mid-registration, /dossier is told to finish registering first, as other commands are
    await newcomer.send("/start", expect=2)
    await newcomer.click("Tiếng Việt")
    replies = await newcomer.send("/dossier", expect=2)
    assert "đăng ký xong trước" in replies[0].text and "Họ và tên của anh/chị" in replies[-1].text


async def test_the_team_and_officers_of_another_subtree_cannot_have_it(app: App) -> None:
    crew = await team(app)
    await fill_to_preview(crew.worker)
    await crew.worker.click("Gửi duyệt")
    number = crew.worker.last.text.split("mã số sáng kiến: ")[1].split(".")[0]
    found = await subject_by_number(app.db, number)
    assert found is not None
    refused = vi("You can get the application for your own initiatives, or for your unit's if you are in its support "
                 "team or an officer.")  # fmt: skip
    for role, unit in ((SUPPORT, "DK-BSR"), (OFFICER, "DK")):
        other = app.user(first_name="Khách", last_name=role, username=f"khach_{role}")
        await register(other, unit_query="bình sơn")
        await give(app, other, role, unit)
        answer = (await other.send(f"/dossier {number}"))[-1]
        assert refused in answer.text
        assert refused in (await other.in_group(crew.group).send(f"/dossier {number}"))[-1].text  # under the card
        forged = DossierCb(action=DossierAction.OPEN, initiative=found.id or 0).pack()  # the notice's button
        assert refused in (await other.press(answer, forged))[-1].text
        assert sent_documents(app, other.id) == []
    reviewer = crew.in_group(crew.support[0])  # the unit's own team, from the card in the group: privately
    replies = await reviewer.send(f"/dossier {number}", reply_to=card_of(reviewer))
    assert vi("Sent to you privately.") in replies[-1].text and len(sent_documents(app, crew.support[0].id)) == 1
    assert sent_documents(app, crew.group["id"]) == []
    private = crew.support[1]  # the same button the notice carries, pressed by the unit's team in a private chat
    answer = (await private.send("/help"))[-1]
    await private.press(answer, DossierCb(action=DossierAction.OPEN, initiative=found.id or 0).pack())
    assert len(sent_documents(app, private.id)) == 1
    assert vi("✏️ Change the details") not in private.last.button_texts()  # only the author changes the details


async def test_every_optional_item_skipped_and_answers_typed_in_nfd(app: App, worker: TgUser) -> None:
    def nfd(text: str) -> str:
        return unicodedata.normalize("NFD", text)

    await fill_to_preview(worker)
    await press_draft(worker)
    await worker.send(nfd("Giám đốc Công ty CP Cấp nước Lạng Sơn"))
    await worker.send("1985")
    await worker.send(nfd("Trạm bơm số 2"))
    await worker.send(nfd("Công nhân vận hành"))
    await worker.send(nfd("Kỹ sư điện"))
    for _ in range(3):  # the investor, the appliers' view, the people in the first application
        await worker.click(vi("Skip"))
    await worker.send(nfd("Lạng Sơn"))
    found = blocks(sent_documents(app, worker.id)[-1])
    assert all(unicodedata.is_normalized("NFC", b) for b in found)
    assert not any("Chủ đầu tư" in b for b in found) and DOTS not in "".join(found)
    in_order(found, ["Kính gửi: Giám đốc Công ty CP Cấp nước Lạng Sơn",
                     "1 | Nguyễn Văn An | 1985 | Trạm bơm số 2 | Công nhân vận hành | Kỹ sư điện | 100%",
                     "bảo mật (nếu có): " + NONE, "điều kiện cần thiết", NONE, "theo ý kiến của tác giả",
                     "kể cả áp dụng thử", NONE, "Danh sách những người", NONE, "Tôi xin cam đoan",
                     "Lạng Sơn, ngày"])  # fmt: skip
    member = await get_member(app.db, worker.id)
    assert member is not None
    item = await subject(app.db, (await initiatives_of(app.db, member))[0].id or 0)
    assert item is not None and item.data["investor"] == "" and item.data["helpers"] == []  # skipped, not unknown
