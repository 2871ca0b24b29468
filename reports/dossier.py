"""The application for recognition of an initiative, "ĐƠN YÊU CẦU CÔNG NHẬN SÁNG KIẾN", laid out as Appendix I of
Circular 18/2013/TT-BKHCN, as a Word file. Plain Vietnamese text in, bytes out.

A value of None is not known yet: it is left as a dotted line to be written by hand. An empty optional value means
"none" and is written "Không có."."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from io import BytesIO

import docx
from docx.document import Document

from reports.docx_parts import DOTS, labelled, lines, para, set_up, table
from reports.vietnamese import place_and_date

TITLE = "ĐƠN YÊU CẦU CÔNG NHẬN SÁNG KIẾN"
NONE = "Không có."
AUTHOR_HEADER = ("Số TT", "Họ và tên", "Ngày tháng năm sinh", "Nơi công tác (hoặc nơi thường trú)", "Chức danh",
                 "Trình độ chuyên môn", "Tỷ lệ (%) đóng góp vào việc tạo ra sáng kiến")  # fmt: skip
HELPER_HEADER = ("Số TT", "Họ và tên", "Ngày tháng năm sinh", "Nơi công tác", "Chức danh", "Trình độ chuyên môn",
                 "Nội dung công việc hỗ trợ")  # fmt: skip
WIDTHS = (1.1, 3.6, 2.4, 3.6, 2.2, 2.4, 2.2)
DECLARATION = "xin cam đoan mọi thông tin nêu trong đơn là trung thực, đúng sự thật và hoàn toàn chịu trách nhiệm " \
              "trước pháp luật."  # fmt: skip
APPLIERS = ("- Đánh giá lợi ích thu được hoặc dự kiến có thể thu được do áp dụng sáng kiến theo ý kiến của tổ chức, "
            "cá nhân đã tham gia áp dụng sáng kiến lần đầu, kể cả áp dụng thử (nếu có):")  # fmt: skip


@dataclass(frozen=True)
class Person:
    """A row of the author table (``share`` in %) or of the list of people in the first application (``task``)."""

    name: str
    birth: str = ""
    workplace: str = ""
    title: str = ""
    qualification: str = ""
    share: int | None = None
    task: str = ""


@dataclass(frozen=True)
class Dossier:
    addressee: str | None
    authors: list[Person]
    name: str | None
    field: str | None
    first_applied: str | None
    solution_type: str | None
    before: str | None
    solution: str | None
    applied_where: str | None
    signed_on: date
    money: str = ""  # already written out: "14.000.000 đồng/năm (mười bốn triệu đồng)"
    social: str = ""
    confidential: str = ""
    conditions: str = ""
    investor: str | None = None
    appliers: str | None = None
    helpers: list[Person] | None = None
    place: str | None = None
    phone: str = ""


def _known(value: str | None, none: str = NONE) -> str:
    return DOTS if value is None else value or none


def _heading(doc: Document, d: Dossier) -> None:
    para(doc, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, center=True)
    para(doc, "Độc lập - Tự do - Hạnh phúc", bold=True, center=True)
    para(doc, "---------------", center=True)
    para(doc, TITLE, bold=True, center=True, size=15)
    para(doc, "Kính gửi: " + _known(d.addressee), center=True)


def _authors(doc: Document, d: Dossier) -> None:
    para(doc, "Tôi:" if len(d.authors) == 1 else "Chúng tôi:")
    rows = [(str(n), p.name, p.birth, p.workplace, p.title, p.qualification, f"{p.share}%" if p.share else "")
            for n, p in enumerate(d.authors, start=1)]  # fmt: skip
    table(doc, AUTHOR_HEADER, rows, WIDTHS)
    who = "tác giả" if len(d.authors) == 1 else "nhóm tác giả"
    labelled(doc, f"Là {who} đề nghị xét công nhận sáng kiến:", _known(d.name))
    if d.investor:
        labelled(doc, "- Chủ đầu tư tạo ra sáng kiến:", d.investor)
    labelled(doc, "- Lĩnh vực áp dụng sáng kiến:", _known(d.field))
    labelled(doc, "- Ngày sáng kiến được áp dụng lần đầu hoặc áp dụng thử:", _known(d.first_applied))


def _benefit(d: Dossier) -> str:
    parts = [f"Giá trị làm lợi: {d.money}."] if d.money else []
    parts += [f"Lợi ích xã hội: {d.social}"] if d.social else []
    return "\n".join(parts) or DOTS


def _essence(doc: Document, d: Dossier) -> None:
    labelled(doc, "- Mô tả bản chất của sáng kiến:", "")
    labelled(doc, "a) Tình trạng trước khi có sáng kiến:", "")
    lines(doc, _known(d.before))
    labelled(doc, "b) Nội dung giải pháp:", f"{d.solution_type}." if d.solution_type else "")
    lines(doc, _known(d.solution))
    labelled(doc, "c) Khả năng áp dụng:", "")
    lines(doc, f"Sáng kiến đã được áp dụng tại: {d.applied_where}." if d.applied_where else DOTS)
    labelled(doc, "d) Hiệu quả:", "")
    lines(doc, _benefit(d))
    labelled(doc, "- Những thông tin cần được bảo mật (nếu có):", d.confidential or NONE)
    labelled(doc, "- Những điều kiện cần thiết để áp dụng sáng kiến:", "")
    lines(doc, d.conditions or NONE)


def _views(doc: Document, d: Dossier) -> None:
    labelled(doc, "- Đánh giá lợi ích thu được hoặc dự kiến có thể thu được do áp dụng sáng kiến theo ý kiến của "
                  "tác giả:", "")  # fmt: skip
    lines(doc, _benefit(d))
    labelled(doc, APPLIERS, "")
    lines(doc, _known(d.appliers))
    labelled(doc, "- Danh sách những người đã tham gia áp dụng thử hoặc áp dụng sáng kiến lần đầu (nếu có):", "")
    if not d.helpers:
        lines(doc, _known(None if d.helpers is None else ""))
        return
    rows = [(str(n), p.name, p.birth, p.workplace, p.title, p.qualification, p.task)
            for n, p in enumerate(d.helpers, start=1)]  # fmt: skip
    table(doc, HELPER_HEADER, rows, WIDTHS)


def _signature(doc: Document, d: Dossier) -> None:
    we = "Tôi" if len(d.authors) == 1 else "Chúng tôi"
    para(doc, f"{we} {DECLARATION}")
    para(doc, place_and_date(d.place or "", d.signed_on), italic=True, center=True, indent=7)
    para(doc, "Người nộp đơn" if len(d.authors) == 1 else "Nhóm tác giả", bold=True, center=True, indent=7)
    para(doc, "(Ký và ghi rõ họ tên)", italic=True, center=True, indent=7)
    for person in d.authors:
        para(doc, "", indent=7)
        para(doc, "", indent=7)
        para(doc, person.name, bold=True, center=True, indent=7)
    if d.phone:
        para(doc, "Điện thoại liên hệ: " + d.phone, center=True, indent=7)


def render(d: Dossier) -> bytes:
    """The .docx file's bytes."""
    doc = docx.Document()
    set_up(doc)
    for part in (_heading, _authors, _essence, _views, _signature):
        part(doc, d)
    out = BytesIO()
    doc.save(out)
    return out.getvalue()
