"""Recognition (công nhận) after the team's check, then the upload to the TLĐ system: typed, answered in a short
conversation, or imported from a file; taken back only by an officer with a reason; what counts toward the quota
follows COUNT_TOWARD_QUOTA."""

from __future__ import annotations

import io

from openpyxl import Workbook

from tests.conftest import App, register
from tests.flows import fill_to_preview
from tests.test_review import Team, card_of, team
from tests.tgclient import TgUser


async def checked(app: App, crew: Team, worker: TgUser | None = None) -> str:
    """The worker submits; a team member confirms it in the group; the initiative's number."""
    worker = worker or crew.worker
    await fill_to_preview(worker)
    replies = await worker.click("Gửi duyệt")
    if "giống sáng kiến của anh/chị" in replies[-1].text:  # the same text again: sent all the same
        replies = await worker.click("Vẫn gửi duyệt")
    number = replies[-1].text.split("mã số sáng kiến: ")[1].split(".")[0]
    in_group = crew.in_group(crew.support[0])
    await in_group.click("Xác nhận", message=card_of(in_group), expect=0)
    return number


async def test_recognise_in_a_short_conversation_upload_and_take_back(app: App) -> None:
    crew = await team(app)
    number = await checked(app, crew)
    officer, support = crew.officer, crew.support[0]
    assert "Đạt: 0 / chỉ tiêu" in (await officer.send("/progress LS"))[-1].text  # checked is not recognised
    assert "Tính theo: sáng kiến đã được công nhận" in officer.last.text

    refused = (await crew.worker.send(f"/congnhan {number}"))[-1].text  # the author cannot recognise their own
    assert "không có sáng kiến này trong các đơn vị anh/chị phụ trách" in refused
    asked = (await support.send(f"/congnhan {number}"))[-1].text
    assert "gửi số quyết định, ngày quyết định và cơ quan ban hành" in asked
    again = (await support.send("12/QĐ-CĐCS"))[-1].text
    assert "Chưa thấy ngày quyết định" in again and "gửi số quyết định" in again  # told why, then asked again
    again = (await support.send("12/QĐ-CĐCS 31/02/2022"))[-1].text
    assert "Ngày quyết định không có thật" in again
    done = (await support.send("12/QĐ-CĐCS 15/03/2022 Hội đồng sáng kiến Công ty"))[-1].text
    assert f"Đã ghi: {number} đã được công nhận" in done
    assert "đã được công nhận theo quyết định số 12/QĐ-CĐCS ngày 15/03/2022" in crew.worker.last.text
    assert (
        "đã được công nhận (quyết định số 12/QĐ-CĐCS)"
        in (await support.send(f"/congnhan {number} 1/QĐ 1/1/2022"))[-1].text
    )

    progress = (await officer.send("/progress LS"))[-1].text
    assert "Đạt: 1 / chỉ tiêu" in progress and "đã công nhận: 1" in progress
    # the worker, the officer and two team members registered in the subtree; one author so far
    assert "4 người đăng ký tham gia · 1 tác giả có sáng kiến đã gửi duyệt" in progress

    assert "chưa được công nhận" not in (await support.send(f"/dacapnhat {number} 20/03/2022"))[-1].text
    assert "đã được cập nhật lên hệ thống của Tổng Liên đoàn ngày 20/03/2022" in crew.worker.last.text
    assert "đã được ghi là đã cập nhật" in (await support.send(f"/dacapnhat {number}"))[-1].text

    assert "Chỉ cán bộ công đoàn" in (await support.send(f"/huycongnhan {number} nhầm số"))[-1].text
    assert "ghi lý do" in (await officer.send(f"/huycongnhan {number}"))[-1].text
    assert "Đã hủy việc cập nhật" in (await officer.send(f"/huycongnhan {number} Cập nhật nhầm đợt"))[-1].text
    assert "Lý do: Cập nhật nhầm đợt" in crew.worker.last.text
    assert "Đã hủy việc công nhận" in (await officer.send(f"/huycongnhan {number} Quyết định bị thu hồi"))[-1].text
    assert "Đạt: 0 / chỉ tiêu" in (await officer.send("/progress LS"))[-1].text

    history = (await crew.worker.send(f"/history {number}"))[-1].text
    for line in ("được công nhận: quyết định số 12/QĐ-CĐCS ngày 15/03/2022 (Hội đồng sáng kiến Công ty)",
                 "đã cập nhật lên hệ thống TLĐ ngày 20/03/2022", "hủy cập nhật lên hệ thống TLĐ: Cập nhật nhầm đợt",
                 "hủy công nhận: Quyết định bị thu hồi"):  # fmt: skip
        assert line in history, line


async def test_one_line_command_and_a_not_yet_checked_initiative(app: App) -> None:
    crew = await team(app)
    await fill_to_preview(crew.worker)
    replies = await crew.worker.click("Gửi duyệt")
    number = replies[-1].text.split("mã số sáng kiến: ")[1].split(".")[0]
    support = crew.support[0]
    assert "chưa được Tổ hỗ trợ sáng kiến kiểm tra hợp lệ" in (await support.send(f"/congnhan {number}"))[-1].text
    await crew.in_group(support).click("Xác nhận", message=card_of(crew.in_group(support)), expect=0)
    assert "chưa được công nhận" in (await support.send(f"/dacapnhat {number}"))[-1].text
    usage = (await support.send("/congnhan"))[-1].text
    assert "/congnhan SK-000123 12/QĐ-CĐCS 15/03/2022" in usage and ".xlsx" in usage
    assert "Ngày quyết định nằm trong tương lai" in (await support.send(f"/congnhan {number} 3/QĐ 1/1/2099"))[-1].text
    done = (await crew.officer.send(f"/congnhan {number.lower()} 3/QĐ-CĐ 02/04/2022"))[-1].text  # officer, no body
    assert f"Đã ghi: {number} đã được công nhận" in done
    in_group = crew.in_group(support)  # typed in the support group, under the card
    assert "ngày 20/04/2022" in (await in_group.send(f"/dacapnhat {number} 20/04/2022"))[-1].text
    assert "đã được cập nhật lên hệ thống của Tổng Liên đoàn ngày 20/04/2022" in crew.worker.last.text


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def test_import_reports_every_bad_row_and_records_nothing_until_all_are_good(app: App) -> None:
    from datetime import datetime

    crew = await team(app)
    first = await checked(app, crew)
    other = app.user()
    await register(other)
    second = await checked(app, crew, other)
    support = crew.support[0]
    bad = xlsx([["Số sáng kiến", "Số quyết định", "Ngày", "Cơ quan ban hành"],
                [first, "5/QĐ", datetime(2022, 4, 1), "Giám đốc Công ty"],
                ["SK-999999", "6/QĐ", "01/04/2022", ""],
                [second, "", "01/04/2022", ""],
                [first, "7/QĐ", "01/04/2022", ""]])  # fmt: skip
    report = (await support.send_document("cong-nhan.xlsx", content=bad, caption="/congnhan"))[-1].text
    assert "Chưa ghi dòng nào" in report
    assert "Dòng 3: ⚠️ SK-999999: không có sáng kiến này" in report
    assert "Dòng 4: ⚠️ Còn thiếu số quyết định." in report
    assert f"Dòng 5: ⚠️ {first} có hai lần trong tệp." in report
    assert "Dòng 2" not in report
    assert "Đạt: 0 / chỉ tiêu" in (await crew.officer.send("/progress LS"))[-1].text  # nothing applied

    good = f"so,so quyet dinh,ngay\n{first},5/QĐ,01/04/2022\n{second},6/QĐ,2022-04-02\n".encode()
    done = (await support.send_document("cong-nhan.csv", content=good, caption="/congnhan"))[-1].text
    assert "Đã ghi quyết định công nhận cho 2 sáng kiến" in done
    assert "Đạt: 2 / chỉ tiêu" in (await crew.officer.send("/progress LS"))[-1].text
    assert "2 sáng kiến đã cập nhật" in (await support.send(f"/dacapnhat {first}, {second}"))[-1].text
    outsider = app.user(first_name="Khác")
    await register(outsider)
    assert (
        "không có sáng kiến này" in (await outsider.send_document("a.csv", content=good, caption="/congnhan"))[-1].text
    )


async def test_export_for_the_tld_system_lists_the_recognised_initiatives(app: App) -> None:
    from openpyxl import load_workbook

    crew = await team(app)
    number = await checked(app, crew)
    await crew.support[0].send(f"/congnhan {number} 12/QĐ-CĐCS 15/03/2022 Hội đồng sáng kiến Công ty")
    other = app.user()
    await register(other)
    await checked(app, crew, other)  # checked, not recognised: not in the file
    sent = (await crew.officer.send("/export tld LS"))[-1]
    assert sent.kind == "document" and sent.document is not None and sent.document["file_name"].startswith("tld-LS-")
    assert "1 sáng kiến đã công nhận" in sent.text
    upload = next(p for m, p in reversed(app.fake.log) if m == "sendDocument")
    rows = list(load_workbook(io.BytesIO(upload["document"]["content"])).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("STT", "Mã số", "Tên sáng kiến") and "Số quyết định" in rows[0]
    assert len(rows) == 2 and rows[1][1] == number
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Số quyết định"] == "12/QĐ-CĐCS" and row["Cơ quan ban hành"] == "Hội đồng sáng kiến Công ty"
    assert row["Ngày quyết định"].date().isoformat() == "2022-03-15" and row["Giá trị làm lợi (đồng/năm)"] == 14_000_000
    assert "chỉ xem được số liệu" in (await crew.worker.send("/export tld LS"))[-1].text
