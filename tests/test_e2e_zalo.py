"""End to end on Zalo: the real `sangkien run` process with both channels on, Telegram and the Zalo Bot Platform
faked over HTTP, people on both sides.

Most tests share one long-polling process (it takes seconds to start) and one database: each test has its own
people, groups and units, and reads the numbers it gets rather than assuming them. Webhook mode has its own
process."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import shutil
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from channels.addresses import zalo_address
from storage.db import Database
from storage.roles import OFFICER, grant
from tests.conftest import register
from tests.e2e import START_TIMEOUT, BotProcess, free_port
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import SECRET_HEADER as ZALO_SECRET_HEADER
from tests.fake_zalo import FakeZalo, Sent
from tests.flows import BEFORE, PLACE, SOLUTION, TITLE, vi
from tests.tgclient import TgUser
from tests.zaloclient import ZaloUser, choices, numbered

pytestmark = pytest.mark.asyncio(loop_scope="module")

TG_ADMIN = 889_001
TG_GROUP_ID = -100_889_000
TG_GROUP: dict[str, Any] = {"id": TG_GROUP_ID, "type": "supergroup", "title": "Tổ hỗ trợ sáng kiến Rạng Đông"}
SECRET = "zalo-e2e-Secret_0123456789"
PUBLIC = "https://bot.example.org"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NUMBER = re.compile(r"SK-\d{6}")
LIMIT = 2000  # Zalo's longest message


class Both(BotProcess):
    """`sangkien run` (or `sangkien run --webhook`) with the Telegram and the Zalo channel, on a free port."""

    def __init__(self, fake: FakeTelegram, zalo: FakeZalo, workdir: Path, env: dict[str, str], *,
                 webhook: bool = False) -> None:  # fmt: skip
        self.port = free_port()
        defaults = {"ZALO_BOT_TOKEN": zalo.token, "ZALO_API_BASE": zalo.base, "WEBHOOK_PORT": str(self.port)}
        super().__init__(fake, workdir, {**defaults, **env})
        self.zalo, self.webhook = zalo, webhook
        self.base = f"http://127.0.0.1:{self.port}"

    def _calls(self, method: str) -> tuple[int, int]:
        return (
            sum(1 for m, _ in self.fake.log if m == method),
            sum(1 for m, _ in self.zalo.log if m == method),
        )

    async def start(self) -> None:
        """Start; wait until both channels poll (webhook mode: both webhooks are set and /healthz answers 200)."""
        method = "setWebhook" if self.webhook else "getUpdates"
        before = self._calls(method)
        log = self.log_path.open("ab")
        args = ["run", "--webhook"] if self.webhook else ["run"]
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *args, cwd=self.workdir, env=self.env, stdout=log, stderr=log
        )
        self.starts += 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while loop.time() < deadline:
            if self.proc.returncode is not None:
                raise AssertionError(f"the bot exited with {self.proc.returncode}:\n{self.log()}")
            now = self._calls(method)
            if now[0] > before[0] and now[1] > before[1] and (not self.webhook or await self.healthy()):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the bot did not start in {START_TIMEOUT} s:\n{self.log()}")

    async def healthy(self) -> bool:
        try:
            return (await self.get("/healthz"))[0] == 200
        except aiohttp.ClientError:
            return False

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.get(self.base + path) as response:
            return response.status, await response.text()

    async def post(self, path: str, body: Any, headers: dict[str, str]) -> int:
        data, headers = json.dumps(body), {"Content-Type": "application/json", **headers}
        async with aiohttp.ClientSession() as http, http.post(self.base + path, data=data, headers=headers) as answer:
            await answer.read()
            return answer.status

    async def deliver(self, update: dict[str, Any], user: TgUser, expect: int) -> None:
        """Telegram's side: polled (as BotProcess does), or POSTed to the webhook as Telegram would."""
        if not self.webhook:
            await super().deliver(update, user, expect)
            return
        before = len(user.history)
        full = {"update_id": self.fake.next_update_id(), **update}
        status = await self.post("/webhook/telegram", full, {"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert status == 200, status
        if expect:
            await self.fake.wait_for(lambda: len(user.history) >= before + expect, timeout=10)


def polls_open(zalo: FakeZalo) -> int:
    """Long polls (getUpdates) the fake is still holding: asked, neither answered with an update nor timed out."""
    asked = sum(1 for method, _ in zalo.log if method == "getUpdates")
    answered = len(zalo.delivered) + sum(1 for method, _, _ in zalo.errors if method == "getUpdates")
    return asked - answered


async def end_abandoned_polls(zalo: FakeZalo) -> None:
    """After the process stopped, FakeZalo still holds the long poll it left open (the connection is gone, the
    handler waits) and would hand it the next update; end it as the platform does when its timeout comes, without
    waiting the 30 s. (FakeZalo has no public way to do this; `_closing` is what its `stop` uses.)"""
    zalo._closing = True
    try:
        await zalo._notify()
        await zalo.wait_for(lambda: polls_open(zalo) == 0, timeout=5)
    finally:
        zalo._closing = False


@dataclass
class World:
    """The shared long-polling process, its fakes and its database file."""

    fake: FakeTelegram
    zalo: FakeZalo
    bot: Both
    db_path: Path

    def mark(self) -> tuple[int, int, int]:
        return len(self.zalo.sent), len(self.zalo.errors), len(self.fake.errors)

    def check(self, mark: tuple[int, int, int]) -> None:
        """What the bot sent since ``mark``: plain text on Zalo, nothing either platform refused."""
        sent, zalo_errors, tg_errors = mark
        marked = [s.body for s in self.zalo.sent[sent:] if s.has_markup]
        assert not marked, marked
        refused = [e for e in self.zalo.errors[zalo_errors:] if e[:2] != ("getUpdates", 408)]
        assert not refused, refused
        assert not self.fake.errors[tg_errors:], self.fake.errors[tg_errors:]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    fake, zalo = FakeTelegram(), FakeZalo()
    await fake.start()
    await zalo.start()
    folder = tmp_path_factory.mktemp("e2e_zalo")
    db_path = folder / "sangkien.db"
    shutil.copy(template_db, db_path)
    port = free_port()
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
        "ADMIN_IDS": str(TG_ADMIN),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",  # the process serves its own file links
        "WEBHOOK_PORT": str(port),
    }
    bot = Both(fake, zalo, folder, env)
    await bot.start()
    yield World(fake, zalo, bot, db_path)
    if bot.proc is not None and bot.proc.returncode is None:
        await bot.terminate()
    await zalo.stop()
    await fake.stop()


# -- what people do ------------------------------------------------------------------------------------------


def rows(db_path: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path) as conn:
        return list(conn.execute(sql, params).fetchall())


async def register_zalo(user: ZaloUser, unit_query: str, unit: str) -> None:
    """/start to registered, typing everything: the language list, the name, a few words of the unit, its number."""
    greeting, question = await user.send("/start", expect=2)
    assert vi("Hello! I help union members write up and register their initiatives (sáng kiến).") in greeting.body
    assert [label.split(" ", 1)[1] for label in choices(greeting)] == ["Tiếng Việt", "English"]
    assert question.body.startswith(vi("What is your full name?"))
    (asked,) = await user.send(user.name)
    assert asked.body.startswith(vi("Which union unit are you in? Type part of its name, e.g. “cấp nước”."))
    (found,) = await user.send(unit_query)
    assert found.body.startswith(vi("Pick your unit (or type another part of the name):"))
    label = next(label for label in choices(found) if unit in label)
    (done,) = await user.choose(label, found)
    assert done.body.startswith(f"Cảm ơn {user.name}! Anh/chị đã đăng ký xong."), done.body


async def fill_form(user: ZaloUser, *, title: str = TITLE, before: str = BEFORE, solution: str = SOLUTION,
                    money: str = "14 triệu/năm", new: bool = True) -> Sent:  # fmt: skip
    """/new (unless the first step is already asked) to the summary, answering the required steps by typing;
    returns the summary."""
    if new:
        (first,) = await user.send("/new")
        assert vi("Step {k}/{n}", k=1, n=13) in first.body
    (kinds,) = await user.send(title)
    assert {"Giải pháp kỹ thuật", "Sản xuất, vận hành"} <= set(choices(kinds))  # type and field: one list
    (ticked,) = await user.send("giai phap ky thuat")  # no diacritics
    assert "✓ Giải pháp kỹ thuật" in choices(ticked)
    (step,) = await user.send("Sản xuất, vận hành")
    assert vi("Step {k}/{n}", k=4, n=13) in step.body
    for answer, k in ((before, 5), (solution, 6), (PLACE, 7), ("15/03/2022", 8)):
        (step,) = await user.send(answer)
        assert vi("Step {k}/{n}", k=k, n=13) in step.body, step.body
    sent = await user.send(money)
    summary = sent[-1]
    assert "Xem lại sáng kiến" in summary.body and "📨 Gửi duyệt" in choices(summary)
    return summary


async def submit(user: ZaloUser) -> str:
    """Types "gửi duyệt" on the summary (and, when the bot first lists similar initiatives, "1": submit anyway);
    returns the number the bot gives."""
    (done,) = await user.send("gửi duyệt")
    if done.body.startswith(vi("Before you submit: these initiatives look like yours.")):
        (done,) = await user.send("1")
    found = NUMBER.search(done.body)
    assert found and "Đã gửi duyệt" in done.body, done.body
    return found[0]


def member_id(db_path: Path, zalo_user: ZaloUser) -> int:
    [(found,)] = rows(db_path, "SELECT id FROM member WHERE tg_user_id = ?", zalo_address(zalo_user.id))
    return int(found)


async def make_officer(db_path: Path, zalo_user: ZaloUser, unit_code: str) -> None:
    """The officer role, given as the tests give roles (storage.roles.grant), on the running process's database."""
    [(unit_id,)] = rows(db_path, "SELECT id FROM unit WHERE code = ?", unit_code)
    db = Database(f"sqlite+aiosqlite:///{db_path}")
    await db.start()
    try:
        assert await grant(db, member_id=member_id(db_path, zalo_user), unit_id=unit_id, role=OFFICER, by_id=None)
    finally:
        await db.close()


@dataclass
class Crew:
    """A Zalo support group bound to a unit by a Zalo officer, its team (added with /team add), and a worker."""

    group: str
    officer: ZaloUser
    team: list[ZaloUser]
    worker: ZaloUser

    def in_group(self, who: ZaloUser) -> ZaloUser:
        return who.in_group(self.group)


async def zalo_crew(world: World, *, code: str, query: str, unit: str, officer_of: tuple[str, str, str],
                    team: list[str], worker: str = "Nguyễn Văn An") -> Crew:  # fmt: skip
    officer_code, officer_query, officer_unit = officer_of
    officer = ZaloUser(world.zalo, name="Lê Thị Hoa")
    await register_zalo(officer, officer_query, officer_unit)
    await make_officer(world.db_path, officer, officer_code)
    group = world.zalo.add_group(title=f"Tổ hỗ trợ sáng kiến {code}")
    crew = Crew(group, officer, [ZaloUser(world.zalo, name=name) for name in team], ZaloUser(world.zalo, name=worker))
    officer_in_group = crew.in_group(officer)
    (bound,) = await officer_in_group.send(f"/bind {code}")
    assert "Đã gắn nhóm này làm nhóm của Tổ hỗ trợ sáng kiến" in bound.body and unit in bound.body, bound.body
    for person in crew.team:
        await register_zalo(person, query, unit)
        (offer,) = await officer_in_group.send("/team add")  # the unit's registered members, as a numbered list
        (added,) = await officer_in_group.choose(person.name, offer)
        assert added.body == f"Đã thêm {person.name} vào Tổ hỗ trợ sáng kiến.", added.body
    await register_zalo(crew.worker, query, unit)
    return crew


def status_of(db_path: Path, number: str) -> str:
    [(status,)] = rows(db_path, "SELECT status FROM initiative WHERE number = ?", number)
    return str(status)


def events_of(db_path: Path, number: str) -> list[str]:
    found = rows(db_path, "SELECT e.kind FROM event e JOIN initiative i ON i.id = e.initiative_id "
                          "WHERE i.number = ? ORDER BY e.id", number)  # fmt: skip
    return [kind for (kind,) in found]


# -- the tests -----------------------------------------------------------------------------------------------


async def test_a_zalo_worker_submits_and_a_telegram_group_confirms(world: World) -> None:
    mark = world.mark()
    admin = TgUser(world.fake, world.bot.deliver, TG_ADMIN, first_name="Quản trị")
    await register(admin, unit_query="tỉnh lạng sơn")
    world.fake.admins[TG_GROUP_ID] = {TG_ADMIN}
    replies = await admin.in_group(TG_GROUP).send("/bind CT-RD")
    assert "nhóm của Tổ hỗ trợ sáng kiến" in replies[-1].text
    member = TgUser(world.fake, world.bot.deliver, 889_002, first_name="Tổ viên Rạng Đông")
    await register(member, unit_query="rạng đông")
    replies = await admin.in_group(TG_GROUP).send("/team add", reply_to=member)
    assert "vào Tổ hỗ trợ sáng kiến" in replies[-1].text

    worker = ZaloUser(world.zalo, name="Trần Thị Bình")
    await register_zalo(worker, "rạng đông", "Rạng Đông")
    await fill_form(worker)
    number = await submit(worker)
    in_group = member.in_group(TG_GROUP)
    await world.fake.wait_for(lambda: any(m.text.startswith(number) for m in in_group.history))
    card = next(m for m in in_group.history if m.text.startswith(number))
    assert "Trần Thị Bình (100%)" in card.text and "14 triệu đồng/năm" in card.text
    assert "Xác nhận" in " ".join(card.button_texts())  # buttons on Telegram

    seen = len(worker.history)
    await in_group.click("Xác nhận", message=card, expect=0)
    await world.zalo.wait_for(lambda: len(worker.history) > seen)
    notice = worker.last
    assert number in notice.body and "xác nhận" in notice.body and TITLE in notice.body, notice.body
    await world.fake.wait_for(lambda: "đã xác nhận hợp lệ (" in world.fake.messages[TG_GROUP_ID][card.message_id].text)
    assert status_of(world.db_path, number) == "confirmed"
    assert events_of(world.db_path, number)[-2:] == ["initiative.submitted", "review.confirmed"]
    world.check(mark)


async def arrives(user: ZaloUser, seen: int, found: Callable[[Sent], bool]) -> Sent:
    """The first message in the user's chat, after the first ``seen``, that ``found`` accepts (waiting for it)."""
    await user.fake.wait_for(lambda: any(found(s) for s in user.history[seen:]), timeout=15)
    return next(s for s in user.history[seen:] if found(s))


async def reply_to_late(member: ZaloUser, text: str) -> list[Sent]:
    """What the bot answered to ``text`` in a group, however many messages (none included): ``/queue`` is sent
    after it, and the updates of one chat are handled in order, so everything before its answer is for ``text``."""
    seen = len(member.history)
    await member.send(text, expect=0)
    await member.send("/queue", expect=0)
    queue = (vi("Nothing waits for review."), vi("Waiting for review"))
    await member.fake.wait_for(lambda: any(s.body.startswith(queue) for s in member.history[seen:]))
    return list(itertools.takewhile(lambda s: not s.body.startswith(queue), member.history[seen:]))


async def test_a_zalo_group_takes_and_returns_it_with_a_reason(world: World) -> None:
    mark = world.mark()
    crew = await zalo_crew(world, code="LS-NUOC", query="cấp nước", unit="Cấp nước Lạng Sơn",
                           officer_of=("LS", "tỉnh lạng sơn", "tỉnh Lạng Sơn"),
                           team=["Phạm Tổ viên Một", "Phạm Tổ viên Hai"])  # fmt: skip
    first, second = (crew.in_group(person) for person in crew.team)
    await fill_form(crew.worker)
    number = await submit(crew.worker)
    await world.zalo.wait_for(lambda: any(s.body.startswith(number) for s in first.history))
    card = next(s for s in first.history if s.body.startswith(number))
    assert TITLE in card.body and "14 triệu đồng/năm" in card.body and "Đang kiểm tra" not in card.body
    commands = [line for line in card.body.splitlines()
                if (line.endswith(number) or f"{number}:" in line) and "/dossier" not in line]  # fmt: skip
    assert [line.split(" SK-")[0] for line in commands] == [
        "🙋 Nhận kiểm tra", "✅ Xác nhận", "↩️ Trả lại bổ sung", "⛔ Từ chối", "🔁 Trùng lặp với…", "📄 Xem đầy đủ"
    ], card.body  # fmt: skip
    assert f"Để lấy đơn yêu cầu công nhận sáng kiến (tệp Word), gửi: /dossier {number}" in card.body
    assert commands[2].startswith(f"↩️ Trả lại bổ sung {number}:")  # then the reason

    replies = await first.send(f"Nhận kiểm tra {number}", expect=2)  # the answer, and the card as on Telegram
    assert vi("You are handling {number}.", number=number) in [r.body for r in replies]
    assert any(r.body.startswith(number) and "Đang kiểm tra: Phạm Tổ viên Một" in r.body for r in replies)
    seen, in_group = len(crew.worker.history), len(first.history)
    replies = await first.send(f"trả lại {number}: Cần ghi rõ số tiền tiết kiệm")  # the command and the reason
    assert replies[0].body != vi("This button is out of date."), replies[0].body
    updated = await arrives(first, in_group, lambda s: s.body.startswith(number))
    await world.zalo.wait_for(lambda: len(crew.worker.history) > seen)
    notice = crew.worker.last
    assert number in notice.body and "được trả lại để bổ sung" in notice.body
    assert "Lý do: Cần ghi rõ số tiền tiết kiệm" in notice.body and choices(notice) == ["✏️ Sửa và gửi lại"]
    assert "Phạm Tổ viên Một đã trả lại để bổ sung (" in updated.body
    assert "Lý do: Cần ghi rõ số tiền tiết kiệm" in updated.body and f"✅ Xác nhận {number}" not in updated.body

    late = await reply_to_late(second, f"xác nhận {number}")  # a second member, after the decision
    assert len(late) == 1 and "đã có kết quả" in late[0].body and "Phạm Tổ viên Một" in late[0].body, late
    assert status_of(world.db_path, number) == "changes_requested"
    assert events_of(world.db_path, number)[-3:] == ["initiative.submitted", "review.taken",
                                                     "review.changes_requested"]  # fmt: skip
    assert len(crew.worker.history) == seen + 1  # told once
    world.check(mark)


async def test_a_zalo_group_rejects_with_the_reason_in_a_second_message(world: World) -> None:
    mark = world.mark()
    crew = await zalo_crew(world, code="DK-PVGAS", query="pv gas", unit="PV GAS",
                           officer_of=("DK", "dầu khí", "Dầu khí Việt Nam"), team=["Vũ Tổ viên Bốn"])  # fmt: skip
    member = crew.in_group(crew.team[0])
    await fill_form(crew.worker)
    number = await submit(crew.worker)
    await world.zalo.wait_for(lambda: any(s.body.startswith(number) for s in member.history))
    short = f"sk {int(number[3:])}"  # "tu choi sk 5": no diacritics, the number as people say it
    (question,) = await member.send(f"tu choi {short}")
    assert "Vũ Tổ viên Bốn" in question.body and number in question.body and "/cancel" in question.body
    (cancelled,) = await member.send("/cancel")
    assert cancelled.body == vi("Cancelled: nothing was recorded.")
    (question,) = await member.send(f"Từ chối {number}")
    seen, in_group = len(crew.worker.history), len(member.history)
    await member.send("Đã đăng ký năm ngoái, trùng với sáng kiến cũ.", expect=0)  # the reason, by itself
    updated = await arrives(member, in_group, lambda s: s.body.startswith(number))
    assert "Vũ Tổ viên Bốn đã từ chối (" in updated.body and "Lý do: Đã đăng ký năm ngoái" in updated.body
    await world.zalo.wait_for(lambda: len(crew.worker.history) > seen)
    assert number in crew.worker.last.body and "Đã đăng ký năm ngoái" in crew.worker.last.body
    assert status_of(world.db_path, number) == "rejected"
    world.check(mark)


def sentences(prefix: str, size: int) -> str:
    """A paragraph of numbered sentences, about ``size`` characters long."""
    parts: list[str] = []
    n = 0
    while sum(len(p) + 1 for p in parts) < size - 80:
        n += 1
        parts.append(f"{prefix} {n}: bơm chạy theo áp lực đo được ở cuối mạng, ban đêm giảm tốc độ để tiết kiệm điện.")
    return " ".join(parts)


async def test_a_long_full_text_arrives_in_parts_of_at_most_2000_characters(world: World) -> None:
    mark = world.mark()
    crew = await zalo_crew(world, code="DK-BSR", query="bình sơn", unit="Bình Sơn",
                           officer_of=("DK", "dầu khí", "Dầu khí Việt Nam"), team=["Đỗ Tổ viên Ba"])  # fmt: skip
    before, solution = sentences("Hiện trạng", 1900), sentences("Giải pháp", 1990)
    assert 1900 < len(solution) <= LIMIT and len(before) > 1800
    await fill_form(crew.worker, before=before, solution=solution)
    number = await submit(crew.worker)
    member = crew.team[0]
    in_group = crew.in_group(member)
    await world.zalo.wait_for(lambda: any(s.body.startswith(number) for s in in_group.history))
    seen = len(member.history)
    (answer,) = await in_group.send(f"xem đầy đủ {number}")  # "📄 Xem đầy đủ": the whole text, privately
    assert answer.body == vi("Sent to you privately."), answer.body
    parts = member.history[seen:]
    assert len(parts) >= 3 and all(1 <= len(p.body) <= LIMIT for p in parts), [len(p.body) for p in parts]
    assert parts[0].body.startswith(number)
    for text in (before, solution):  # every sentence whole in one message: cut only between sentences
        for sentence in re.split(r"(?<=\.) ", text):
            assert any(sentence in p.body for p in parts), sentence
    words = " ".join(p.body for p in parts).split()  # nothing lost, in order
    joined = " ".join(words)
    assert " ".join(before.split()) in joined and " ".join(solution.split()) in joined
    assert joined.index(before[:40]) < joined.index(solution[:40]) < joined.index(PLACE)
    world.check(mark)


async def test_typed_choices_with_or_without_diacritics_and_free_text(world: World) -> None:
    mark = world.mark()
    worker = ZaloUser(world.zalo, name="Hoàng Văn Chín")
    await register_zalo(worker, "điện lực", "Điện lực Việt Nam")
    await worker.send("/new")
    title = "Quay lại quy trình cũ khi mất điện"  # starts with the words of "⬅️ Quay lại": a title all the same
    (kinds,) = await worker.send(title)
    assert vi("Step {k}/{n}", k=2, n=13) in kinds.body and "⬅️ Quay lại" in choices(kinds)
    (ticked,) = await worker.send("GIAI PHAP QUAN LY")  # a label, no diacritics, any case
    assert "✓ Giải pháp quản lý" in choices(ticked)
    (step,) = await worker.send(numbered(ticked)["Sản xuất, vận hành"] + ".")  # its number, e.g. "6."
    assert vi("Step {k}/{n}", k=4, n=13) in step.body
    (back,) = await worker.send("quay lai")
    assert vi("Step {k}/{n}", k=3, n=13) in back.body and "✓ Sản xuất, vận hành" in choices(back)
    (step,) = await worker.send("khác")
    assert "Lĩnh vực áp dụng: Khác" in step.body and vi("Step {k}/{n}", k=4, n=13) in step.body
    (step,) = await worker.send("Xong việc mới tắt bơm nên tốn điện.")  # "Xong" is a choice elsewhere: text here
    assert vi("Step {k}/{n}", k=5, n=13) in step.body
    (step,) = await worker.send("Bỏ qua bước kiểm tra bằng tay, dùng cảm biến tự động.")
    assert vi("Step {k}/{n}", k=6, n=13) in step.body
    (step,) = await worker.send("Trạm biến áp số 1")
    assert "1. Hôm nay" in step.body
    (step,) = await worker.send("hom nay")
    assert vi("Step {k}/{n}", k=8, n=13) in step.body
    (step,) = await worker.send("0")  # no money benefit ("0" is no number on this list): the social benefit
    assert vi("Step {k}/{n}", k=9, n=13) in step.body
    (summary,) = await worker.send("Công nhân không phải trực đêm.")
    assert "Xem lại sáng kiến" in summary.body and f"Tên sáng kiến: {title}" in summary.body
    (more,) = await worker.send("them chi tiet")
    assert "➕ Điều kiện" in choices(more)
    (step,) = await worker.send("dieu kien")
    assert vi("Step {k}/{n}", k=11, n=13) in step.body and "Bỏ qua" in choices(step)
    (summary,) = await worker.send("bo qua")
    assert "Xem lại sáng kiến" in summary.body
    number = await submit(worker)
    [(raw,)] = rows(world.db_path, "SELECT answers FROM initiative WHERE number = ?", number)
    answers = json.loads(raw)
    assert (answers["title"], answers["solution_type"], answers["field"]) == (title, "management", "other")
    assert answers["before"].startswith("Xong việc") and answers["solution"].startswith("Bỏ qua bước")
    assert "conditions" not in answers and answers["benefit_social"] == "Công nhân không phải trực đêm."
    world.check(mark)


UNREADABLE = "⚠️ " + vi(
    "I can only read text here: stickers, voice messages, locations and the like cannot be stored. Please type "
    "your answer."
)


async def add_files(worker: ZaloUser) -> Sent:
    """From the summary to the step of photos and documents."""
    (more,) = await worker.send("thêm chi tiết")
    assert "➕ Ảnh, tài liệu" in choices(more)
    (step,) = await worker.send("anh, tai lieu")  # "➕ Ảnh, tài liệu"
    assert vi("Step {k}/{n}", k=13, n=13) in step.body and "✅ Xong" in choices(step)
    return step


async def test_a_photo_is_kept_and_a_sticker_is_asked_again(world: World) -> None:
    mark = world.mark()
    worker = ZaloUser(world.zalo, name="Đinh Thị Mười")
    await register_zalo(worker, "điện lực", "Điện lực Việt Nam")
    await worker.send("/new")
    for again in (await worker.send_sticker(), await worker.send_unsupported()):  # a title is expected
        assert again[0].body.startswith(UNREADABLE) and vi("Step {k}/{n}", k=1, n=13) in again[0].body
    await fill_form(worker, new=False)
    await add_files(worker)
    photo = "https://photo.zalo.example/f/anh-tram-bom-2.jpg"
    (received,) = await worker.send_photo(photo)
    assert received.body.startswith(vi("File {n} received. Send more, or press Done.", n=1)), received.body
    (summary,) = await worker.send("xong")
    assert "Ảnh và tài liệu: 1 tệp" in summary.body
    number = await submit(worker)
    stored = "SELECT a.kind, a.file_id FROM attachment a JOIN initiative i ON i.id = a.initiative_id WHERE i.number = ?"
    assert rows(world.db_path, stored, number) == [("photo", photo)]
    world.check(mark)


async def test_a_sticker_at_the_photos_step_asks_for_photos(world: World) -> None:
    worker = ZaloUser(world.zalo, name="Đinh Văn Mười Một")
    await register_zalo(worker, "điện lực", "Điện lực Việt Nam")
    await fill_form(worker)
    await add_files(worker)
    (again,) = await worker.send_sticker()
    assert vi("Step {k}/{n}", k=13, n=13) in again.body  # the question again
    assert "gõ câu trả lời" not in again.body and "ảnh hoặc tài liệu" in again.body.split("\n\n")[0], again.body


async def test_an_officer_on_zalo_gets_the_chart_as_a_photo_and_the_export_as_a_link(world: World) -> None:
    mark = world.mark()
    officer = ZaloUser(world.zalo, name="Lê Văn Quản")
    await register_zalo(officer, "tỉnh lạng sơn", "tỉnh Lạng Sơn")
    await make_officer(world.db_path, officer, "LS")
    (chart,) = await officer.send("/chart")
    assert chart.kind == "photo" and chart.photo_url is not None, chart
    assert chart.photo_url.startswith(f"{world.bot.env['PUBLIC_BASE_URL']}/files/")  # the process's own link
    assert chart.photo_bytes is not None and chart.photo_bytes.startswith(PNG_SIGNATURE)  # the fake fetched it
    assert chart.photo_content_type == "image/png"
    (export,) = await officer.send("/export")  # Zalo carries no documents: a link to the workbook
    link = re.search(r"http://\S+\.xlsx", export.body)
    assert link and export.body.startswith("Liên đoàn Lao động tỉnh Lạng Sơn"), export.body
    async with aiohttp.ClientSession() as http, http.get(link[0]) as response:
        assert response.status == 200 and (await response.read()).startswith(b"PK")  # an XLSX is a zip
    world.check(mark)


def metric(page: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    found = re.search("^" + re.escape(f"{name}{{{wanted}}}") + r" (\S+)$", page, re.MULTILINE)
    return float(found[1]) if found else 0.0


async def test_webhook_mode_with_both_channels(template_db: Path, tmp_path: Path) -> None:
    fake, zalo = FakeTelegram(), FakeZalo()
    await fake.start()
    await zalo.start()
    db_path = tmp_path / "sangkien.db"
    shutil.copy(template_db, db_path)
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{db_path}", "PUBLIC_BASE_URL": PUBLIC, "WEBHOOK_SECRET": SECRET}
    bot = Both(fake, zalo, tmp_path, env, webhook=True)
    user = ZaloUser(zalo, name="Ngô Thị Sương")
    try:
        await bot.start()
        assert zalo.webhook is not None and fake.webhook is not None
        assert (zalo.webhook["url"], zalo.webhook["secret_token"]) == (f"{PUBLIC}/webhook/zalo", SECRET)
        assert fake.webhook["url"] == f"{PUBLIC}/webhook/telegram"
        zalo.webhook["url"] = f"{bot.base}/webhook/zalo"  # what the reverse proxy in front of the bot does

        start = zalo.text_update(user.id, "/start")
        for headers in ({ZALO_SECRET_HEADER: "not-the-secret"}, {}):
            assert await bot.post("/webhook/zalo", start, headers) == 403
        assert await bot.post("/webhook/zalo", {"message": "not an update"}, {ZALO_SECRET_HEADER: SECRET}) == 400
        assert rows(db_path, "SELECT count(*) FROM channel_address WHERE external_id = ?", user.id) == [(0,)]
        await zalo.deliver(start)  # from the platform, with the secret: answered 200 once handled
        assert len(user.history) == 2 and choices(user.history[0])  # the greeting and the name question
        await user.send(user.name)
        (found,) = await user.send("cấp nước")
        (done,) = await user.choose(choices(found)[0], found)
        assert "đã đăng ký xong" in done.body
        pick = user.last_update
        assert pick is not None
        await zalo.deliver(pick)  # the same update again: answered 200, handled once
        await zalo.deliver(start)
        assert user.history[-1] is done and len(user.history) == 5
        assert [u["message"]["message_id"] for u in zalo.delivered].count(pick["message"]["message_id"]) == 2

        person = TgUser(fake, bot.deliver, 889_200)  # Telegram, through its own webhook in the same process
        greeting, _question = await person.send("/start", expect=2)
        assert vi("Hello! I help union members write up and register their initiatives (sáng kiến).") in greeting.text
        status, page = await bot.get("/metrics")
        assert status == 200
        assert metric(page, "sangkien_updates_total", channel="zalo", outcome="forbidden") == 2
        assert metric(page, "sangkien_updates_total", channel="zalo", outcome="invalid") == 1
        assert metric(page, "sangkien_updates_total", channel="zalo", outcome="duplicate") == 2
        assert metric(page, "sangkien_updates_total", channel="zalo", outcome="handled") == 4
        assert metric(page, "sangkien_updates_total", channel="telegram", outcome="handled") == 1
        assert not [s for s in zalo.sent if s.has_markup] and not zalo.errors and not fake.errors
        assert await bot.terminate() == 0
        assert "Traceback" not in bot.log()
    finally:
        if bot.proc is not None and bot.proc.returncode is None:
            await bot.kill9()
        await zalo.stop()
        await fake.stop()
    assert rows(db_path, "SELECT full_name FROM member WHERE tg_user_id = ?", zalo_address(user.id)) == [(user.name,)]


async def test_sigterm_in_the_middle_of_the_form_and_the_list_still_answers(world: World) -> None:
    mark = world.mark()
    worker = ZaloUser(world.zalo, name="Lý Văn Khởi")
    await register_zalo(worker, "điện lực", "Điện lực Việt Nam")
    await worker.send("/new")
    (kinds,) = await worker.send("Tự động tắt đèn hành lang khi không có người")
    assert await world.bot.terminate() == 0
    assert "Traceback" not in world.bot.log()
    await end_abandoned_polls(world.zalo)
    await world.bot.start()
    (ticked,) = await worker.send(numbered(kinds)["Giải pháp tác nghiệp"])  # a number of the list shown before
    assert "✓ Giải pháp tác nghiệp" in choices(ticked)
    (step,) = await worker.send(numbered(kinds)["Môi trường, tiết kiệm năng lượng"])
    assert vi("Step {k}/{n}", k=4, n=13) in step.body
    [(step_key, raw)] = rows(world.db_path, "SELECT step, answers FROM initiative WHERE author_id = ?",
                             member_id(world.db_path, worker))  # fmt: skip
    answers = json.loads(raw)
    assert (step_key, answers["solution_type"], answers["field"]) == ("before", "operational", "environment")
    world.check(mark)


async def test_a_message_typed_while_the_bot_restarts_is_not_lost(world: World) -> None:
    worker = ZaloUser(world.zalo, name="Lý Thị Chờ")
    await register_zalo(worker, "điện lực", "Điện lực Việt Nam")
    await worker.send("/new")
    (kinds,) = await worker.send("Tự động tắt bơm khi bể đầy")
    await world.zalo.wait_for(lambda: polls_open(world.zalo) == 1)  # the bot waits on getUpdates, as usual
    assert await world.bot.terminate() == 0
    world.zalo.push(world.zalo.text_update(worker.id, numbered(kinds)["Giải pháp kỹ thuật"]))  # while it is down
    await end_abandoned_polls(world.zalo)  # none is left: the update went to the one the bot abandoned
    await world.bot.start()
    (step,) = await worker.send(numbered(kinds)["Khác"])  # handled after the one typed during the restart
    [(raw,)] = rows(
        world.db_path, "SELECT answers FROM initiative WHERE author_id = ?", member_id(world.db_path, worker)
    )
    assert json.loads(raw).get("solution_type") == "technical", step.body
