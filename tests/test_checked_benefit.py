"""The money benefit as the support team checked it (/giatri): its own figure and note next to the author's; the
card, the author, /history, /progress, /top and /export show it, and totals use it where there is one."""

from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook

from forms.checked_benefit import parse_checked_benefit
from forms.errors import FormError
from storage.recognition import by_numbers
from tests.conftest import App, register
from tests.flows import fill_to_preview
from tests.test_recognition import checked
from tests.test_review import card_of, give, team


def test_the_figure_and_the_note_are_read_as_typed() -> None:
    value = parse_checked_benefit("12tr; tính lại theo giá vật tư 2022")
    assert (value.per_year, value.note) == (12_000_000, "tính lại theo giá vật tư 2022")
    value = parse_checked_benefit("350 nghìn/tháng\nchỉ tính phần điện tiết kiệm")  # a note on its own line
    assert (value.per_year, value.note) == (4_200_000, "chỉ tính phần điện tiết kiệm")
    assert parse_checked_benefit("1,2 tỷ - theo biên bản nghiệm thu").per_year == 1_200_000_000
    assert parse_checked_benefit("không có; không đo được bằng tiền").per_year == 0
    assert parse_checked_benefit("Bỏ").per_year is None and parse_checked_benefit("xoá").note is None
    for bad in ("12tr", "12tr; ok", "; chỉ có ghi chú", "mười hai; không đọc được số", "12tr; " + "x" * 501):
        with pytest.raises(FormError):
            parse_checked_benefit(bad)


async def initiative_of(app: App, number: str) -> tuple[int | None, str | None]:
    item = (await by_numbers(app.db, [number]))[number]
    return item.checked_benefit, item.checked_benefit_note


async def test_the_team_records_its_figure_the_author_is_told_and_totals_use_it(app: App) -> None:
    crew = await team(app)
    number = await checked(app, crew)
    officer, support = crew.officer, crew.support[0]
    in_group = crew.in_group(support)

    asked = (await in_group.send(f"/giatri {number}"))[-1].text  # in the support group, as a conversation
    assert "tác giả kê khai 14 triệu đồng/năm" in asked and "dấu chấm phẩy" in asked
    again = (await in_group.send("12 triệu"))[-1].text  # no note: told why, asked again, nothing recorded
    assert "ghi thêm một ghi chú ngắn" in again and "tác giả kê khai 14 triệu đồng" in again
    assert await initiative_of(app, number) == (None, None)
    again = (await in_group.send("mười hai; tính lại"))[-1].text
    assert "Tôi chưa hiểu số tiền này" in again and "tác giả kê khai 14 triệu đồng" in again
    done = (await in_group.send("12 triệu/năm; tính lại theo giá vật tư năm 2022"))[-1].text
    assert f"giá trị làm lợi của {number} theo Tổ hỗ trợ kiểm tra là 12 triệu đồng/năm" in done
    assert await initiative_of(app, number) == (12_000_000, "tính lại theo giá vật tư năm 2022")

    told = crew.worker.last.text
    assert "đã kiểm tra giá trị làm lợi" in told and "12 triệu đồng/năm" in told
    assert "Ghi chú: tính lại theo giá vật tư năm 2022" in told
    card = next(m.text for m in reversed(in_group.history) if "Đơn vị:" in m.text)  # the card: both figures
    assert "Giá trị làm lợi: 14 triệu đồng/năm" in card
    assert "Theo Tổ hỗ trợ kiểm tra: 12 triệu đồng/năm (tính lại theo giá vật tư năm 2022)" in card
    history = (await crew.worker.send(f"/history {number}"))[-1].text
    assert "ghi giá trị làm lợi theo Tổ hỗ trợ kiểm tra: 12 triệu đồng/năm (tính lại theo giá vật tư năm 2022)" in (
        history
    )

    await support.send(f"/congnhan {number} 12/QĐ-CĐCS 15/03/2022")  # now it counts
    progress = (await officer.send("/progress LS"))[-1].text
    assert "Giá trị làm lợi: 12 triệu đồng/năm" in progress
    assert "(theo số Tổ hỗ trợ đã kiểm tra ở 1 sáng kiến, số tác giả kê khai ở các sáng kiến còn lại)" in progress
    top = (await officer.send("/top LS"))[-1].text
    assert "12 triệu đồng" in top and "theo số Tổ hỗ trợ đã kiểm tra nếu có" in top

    await officer.send("/export LS")
    upload = next(p for m, p in reversed(app.fake.log) if m == "sendDocument")
    book = load_workbook(BytesIO(upload["document"]["content"]))
    summary = list(book["Tổng hợp"].iter_rows(values_only=True))
    money_col = summary[0].index("Giá trị làm lợi (đồng/năm)")
    assert summary[0][money_col + 1] == "Trong đó, số sáng kiến tính theo số của Tổ hỗ trợ"
    assert summary[1][money_col : money_col + 2] == (12_000_000, 1)
    items = list(book["Danh sách sáng kiến"].iter_rows(values_only=True))
    row = dict(zip(items[0], items[1], strict=True))
    assert row["Giá trị làm lợi (đồng/năm)"] == 12_000_000 and row["Theo tác giả kê khai"] == 14_000_000
    assert row["Theo Tổ hỗ trợ kiểm tra"] == 12_000_000
    assert row["Ghi chú của Tổ hỗ trợ"] == "tính lại theo giá vật tư năm 2022"

    gone = (await support.send(f"/giatri {number} bỏ"))[-1].text  # taken away: the author's figure again
    assert f"Đã bỏ con số của Tổ hỗ trợ cho {number}" in gone and "lại dùng số anh/chị kê khai" in crew.worker.last.text
    progress = (await officer.send("/progress LS"))[-1].text
    assert "Giá trị làm lợi: 14 triệu đồng/năm" in progress and "theo số Tổ hỗ trợ" not in progress
    assert "chưa có con số nào" in (await support.send(f"/giatri {number} bỏ"))[-1].text


async def test_only_the_team_and_officers_over_the_unit_and_only_after_submission(app: App) -> None:
    crew = await team(app)
    number = await checked(app, crew)
    outsider = app.user(first_name="Khác", last_name="Tổ")
    await register(outsider, unit_query="huyện tràng định")
    await give(app, outsider, "support", "LS-TD")  # the support team of a sibling unit
    for who in (crew.worker, outsider):
        refused = (await who.send(f"/giatri {number} 1 triệu; tự ghi"))[-1].text
        assert "không có sáng kiến này trong các đơn vị anh/chị phụ trách" in refused
    assert await initiative_of(app, number) == (None, None)
    done = (await crew.officer.send(f"/giatri {number.lower()} 20tr - theo biên bản nghiệm thu"))[-1].text
    assert "20 triệu đồng/năm" in done  # an officer above the unit may

    usage = (await crew.support[0].send("/giatri"))[-1].text
    assert "/giatri SK-000123 12 triệu đồng/năm; tính lại" in usage


async def test_a_note_with_markup_signs_and_a_resubmission_with_a_new_figure(app: App) -> None:
    crew = await team(app)
    await fill_to_preview(crew.worker)
    number = (await crew.worker.click("Gửi duyệt"))[-1].text.split("mã số sáng kiến: ")[1].split(".")[0]
    support = crew.support[0]
    done = (await support.send(f"/giatri {number} 10tr; chỉ tính <vật tư> & điện"))[-1].text
    assert "10 triệu đồng/năm" in done
    asked = (await support.send(f"/giatri {number}"))[-1].text  # the note comes back as typed, not as markup
    assert "(chỉ tính <vật tư> & điện)" in asked
    await support.send("/cancel")

    in_group = crew.in_group(support)  # returned; resubmitted with the same figure: the team's figure stays
    await in_group.click("Trả lại bổ sung", message=card_of(in_group))
    await in_group.send("Cần ghi rõ nơi áp dụng.", reply_to=in_group.last, expect=0)
    await crew.worker.click("Sửa và gửi lại", message=crew.worker.last)
    await crew.worker.click("Gửi duyệt")
    assert await initiative_of(app, number) == (10_000_000, "chỉ tính <vật tư> & điện")
    await in_group.click("Trả lại bổ sung", message=card_of(in_group))  # again, and now the author's figure changes
    await in_group.send("Cần tính lại giá trị làm lợi.", reply_to=in_group.last, expect=0)
    await crew.worker.click("Sửa và gửi lại", message=crew.worker.last)
    await crew.worker.click("✏️ Làm lợi")
    await crew.worker.send("9 triệu/năm")
    await crew.worker.click("Gửi duyệt")
    assert await initiative_of(app, number) == (None, None)  # to be checked again against the new figure
