"""The worker's effort, counted: every message sent and every button pressed, from /start (or /new) to the notice
with the initiative's number, through the real dispatcher. The goals of issue 13: at most 14 actions for a new
worker, 12 for one who opens an officer's invite link, 10 for a registered worker's next initiative; before it,
23, 21 and 17.

Each walk answers what the legal form requires (Circular 18/2013, Appendix I) the way a worker would: the
suggested name, a few words of the unit, the title, the type and the field, the situation before, the solution,
the place, the date, the money benefit, then Submit."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, select

from storage.invites import create_invite
from storage.models import Initiative
from storage.units import unit_by_code
from tests.conftest import App
from tests.fake_telegram import Sent
from tests.flows import BEFORE, PLACE, SOLUTION, TITLE, vi
from tests.tgclient import TgUser

GOALS = {"new worker": 14, "invited worker": 12, "next initiative": 10}


@dataclass
class Tally:
    actions: list[str] = field(default_factory=list)
    first_message: int = 0


class CountingUser(TgUser):
    """A worker whose every message and button press is written down."""

    tally: Tally

    def start_counting(self) -> None:
        history = self.history
        self.tally = Tally(first_message=history[-1].message_id if history else 0)

    async def _message(self, expect: int, **content: Any) -> list[Sent]:
        self.tally.actions.append(str(content.get("text", next(iter(content), "")))[:40])
        return await super()._message(expect, **content)

    async def press(self, message: Sent, data: str, expect: int = 1) -> list[Sent]:
        label = next((b["text"] for row in message.buttons for b in row if b.get("callback_data") == data), data)
        self.tally.actions.append(f"[{label}]")
        return await super().press(message, data, expect)

    def report(self, case: str) -> tuple[int, int, int]:
        sent = [m for m in self.history if m.message_id > self.tally.first_message]
        chars = sum(len(m.text) for m in sent)
        print(f"\n{case}: {len(self.tally.actions)} actions (goal ≤ {GOALS[case]}), bot messages {len(sent)}, "
              f"{chars} characters, {sum(m.edits for m in sent)} edited in place")  # fmt: skip
        print("  " + " · ".join(self.tally.actions))
        return len(self.tally.actions), len(sent), chars


def counting_user(app: App, **kwargs: Any) -> CountingUser:
    app._users += 1
    user = CountingUser(app.fake, app.deliver, 20_000 + app._users, **kwargs)
    user.start_counting()
    return user


@dataclass(frozen=True)
class WriteUp:
    title: str
    before: str
    solution: str
    place: str
    applied: str
    money: str


FIRST = WriteUp(TITLE, BEFORE, SOLUTION, PLACE, "15/03/2022", "14 triệu/năm")
NEXT = WriteUp(  # another initiative of the same worker, its solution long enough to raise no warning
    "Súc rửa bể chứa theo độ đục của nước",
    "Bể chứa được súc rửa mỗi tháng một lần theo lịch cố định, kể cả mùa khô khi nước rất trong; tốn nước sạch.",
    "Tổ vận hành đo độ đục của nước đầu vào mỗi sáng và ghi vào sổ giao ca. Khi độ đục vượt ngưỡng của bể thì "
    "súc rửa ngay trong tuần; mùa khô nước trong thì giãn lịch ra hai tháng một lần. Bảng ngưỡng của từng bể "
    "được xem lại mỗi quý cùng phòng kỹ thuật.",
    "Nhà máy nước Hoàng Văn Thụ, Công ty CP Cấp nước Lạng Sơn",
    "02/06/2022",
    "30 triệu/năm",
)


async def write_up(user: CountingUser, item: WriteUp = FIRST) -> Sent:
    """/new to the number: the required parts only; no Done, no Skip. Returns the summary Submit was pressed on."""
    await user.send("/new")
    await user.send(item.title)
    await user.click(vi("Technical solution"))
    await user.click(vi("Production and operation"))
    await user.send(item.before)
    await user.send(item.solution)
    await user.send(item.place)
    await user.send(item.applied)
    await user.send(item.money)
    summary = user.last
    await user.click(vi("📨 Submit for review"))
    return summary


async def newest(app: App) -> Initiative:
    async with app.db.session() as s:
        row = (await s.exec(select(Initiative).order_by(col(Initiative.id).desc()))).first()
    assert row is not None
    return row


async def check_submitted(app: App) -> None:
    row = await newest(app)
    answers = json.loads(row.answers)
    assert row.status == "submitted" and row.number is not None
    required = {"title", "solution_type", "field", "before", "solution", "applied_where", "applied_since"}
    assert required | {"benefit_money"} <= set(answers)


async def test_a_new_worker_submits_in_at_most_14_actions(app: App) -> None:
    user = counting_user(app, first_name="Hùng", last_name="Nguyễn Văn")
    await user.send("/start")
    await user.click("Nguyễn Văn Hùng")  # the suggested name
    await user.send("cấp nước")
    await user.click("Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn")
    await write_up(user)
    await check_submitted(app)
    actions, messages, _ = user.report("new worker")
    assert actions <= GOALS["new worker"] and messages <= 14


async def test_an_invited_worker_submits_in_at_most_12_actions(app: App) -> None:
    unit = await unit_by_code(app.db, "LS-NUOC")
    assert unit is not None
    invite = await create_invite(app.db, unit_id=unit.id or 0, by_id=None, days=30)
    user = counting_user(app, first_name="Dũng", last_name="Phạm Văn")
    await user.send(f"/start {invite.token}")  # what opening the link or scanning the QR code sends
    await user.click("Phạm Văn Dũng")
    await write_up(user)
    await check_submitted(app)
    actions, messages, _ = user.report("invited worker")
    assert actions <= GOALS["invited worker"] and messages <= 13


async def test_a_registered_workers_next_initiative_takes_at_most_10_actions(app: App) -> None:
    user = counting_user(app)
    await user.send("/start")
    await user.click(user.last.button_texts()[0])
    await user.send("cấp nước")
    await user.click(user.last.button_texts()[0])
    await write_up(user)
    user.start_counting()
    summary = await write_up(user, NEXT)
    await check_submitted(app)
    # a clean, complete initiative: no warning, and no button more than Submit, Add details and Edit
    assert vi("Before you submit, check:") not in summary.text
    assert summary.button_texts() == [vi("📨 Submit for review"), vi("➕ Add details"), vi("✏️ Edit")]
    actions, messages, _ = user.report("next initiative")
    assert actions <= GOALS["next initiative"] and messages <= 10
