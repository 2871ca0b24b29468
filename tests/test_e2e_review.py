"""End to end over HTTP: the real `sangkien run` process, a support group, a worker and two team members."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import register
from tests.e2e import BotProcess
from tests.fake_telegram import FakeTelegram
from tests.flows import fill_to_preview, vi
from tests.tgclient import TgUser

ADMIN = 888_001
GROUP = {"id": -100_777_000, "type": "supergroup", "title": "Tổ hỗ trợ sáng kiến"}


@pytest.fixture
async def bot(fake: FakeTelegram, db_path: Path, tmp_path: Path) -> AsyncIterator[BotProcess]:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{db_path}", "ADMIN_IDS": str(ADMIN)}
    process = BotProcess(fake, tmp_path, env)
    await process.start()
    yield process
    if process.proc is not None and process.proc.returncode is None:
        await process.kill9()


async def test_return_resubmit_confirm_over_http(fake: FakeTelegram, bot: BotProcess) -> None:
    admin = TgUser(fake, bot.deliver, ADMIN, first_name="Quản trị")
    await register(admin, unit_query="tỉnh lạng sơn")
    fake.admins[GROUP["id"]] = {ADMIN}
    in_group = admin.in_group(GROUP)
    replies = await in_group.send("/bind LS-NUOC")
    assert "nhóm của Tổ hỗ trợ sáng kiến" in replies[-1].text
    first, second = (TgUser(fake, bot.deliver, 888_000 + i, first_name=f"Tổ viên {i}") for i in (2, 3))
    for member in (first, second):
        await register(member)
        replies = await in_group.send("/team add", reply_to=member)
        assert "Đã thêm Nguyễn Văn Tổ viên" in replies[-1].text and "vào Tổ hỗ trợ sáng kiến" in replies[-1].text

    worker = TgUser(fake, bot.deliver, 888_010)
    await register(worker)
    await fill_to_preview(worker)
    await worker.click("Gửi duyệt")
    first_in_group = first.in_group(GROUP)
    await fake.wait_for(lambda: any(m.text.startswith("SK-") for m in first_in_group.history))
    card = next(m for m in first_in_group.history if m.text.startswith("SK-"))

    await first_in_group.click("Trả lại bổ sung", message=card)
    seen = len(worker.history)
    await first_in_group.send("Bổ sung số tiền tiết kiệm theo tháng.", reply_to=first_in_group.last, expect=0)
    await fake.wait_for(lambda: len(worker.history) > seen)
    assert "được trả lại để bổ sung" in worker.last.text
    await worker.click("Sửa và gửi lại")
    await worker.click(vi("Money"))  # the preview's short label
    await worker.send("1,2 triệu/tháng")
    await worker.click("Gửi duyệt")
    await fake.wait_for(lambda: sum(m.text.startswith("SK-") for m in first_in_group.history) == 2)
    new_card = [m for m in first_in_group.history if m.text.startswith("SK-")][-1]
    assert "Gửi lại; đã sửa: Giá trị làm lợi" in new_card.text

    seen = len(worker.history)
    await second.in_group(GROUP).click("Xác nhận", message=new_card, expect=0)
    await fake.wait_for(lambda: len(worker.history) > seen)
    assert "xác nhận hợp lệ" in worker.last.text
    await fake.wait_for(lambda: "đã xác nhận hợp lệ (" in fake.messages[GROUP["id"]][new_card.message_id].text)
    assert not fake.errors, fake.errors
