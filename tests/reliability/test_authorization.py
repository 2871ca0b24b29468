"""The authorization matrix: every group command and card button, every officer's command and button, pressed or
sent by every kind of person, against the rules in README.md.

Each cell starts from the same snapshot (a bound support group with one submitted card, quotas and confirmed
initiatives, an invite link, an officer's paged /progress) in a fresh database file and a fresh dispatcher, so no
cell sees what another cell did. An allowed cell asserts the effect (stored status, the reply with its figures,
the file); a refused cell asserts a clear refusal (a reply, or an alert for a button), that nothing in the
database changed, and that nothing sent during the cell carries a figure, a file, an invite token or the
initiative's text."""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import text

from bot.app import create_bot, create_dispatcher
from storage.db import Database
from storage.groups import unbind
from storage.members import get_member
from storage.progress import counted_change
from storage.roles import OFFICER, SUPPORT, grant
from storage.unit_files import read_units
from storage.units import import_units, unit_by_code
from storage.writer import Stmt
from tests.conftest import UNITS_CSV, App, build_app, close_app, make_settings, register
from tests.fake_telegram import FakeTelegram, Sent
from tests.flows import BEFORE, SOLUTION, TITLE, fill_to_preview
from tests.tgclient import TgUser

pytestmark = [pytest.mark.reliability, pytest.mark.asyncio(loop_scope="module")]

# -- the expected table ---------------------------------------------------------------------------------------
# The initiative belongs to LS-NUOC ("the unit"). Its sibling is LS-TD, its ancestor LS, an unrelated unit DK-BSR.
ROLES = (
    "stranger",  # never registered, writes in the group
    "worker_of_unit",  # registered in LS-NUOC, no role (not the author)
    "worker_of_other_unit",  # registered in DK-BSR, no role
    "support_of_unit",  # support team of LS-NUOC
    "support_of_sibling",  # support team of LS-TD
    "support_of_ancestor",  # support team of LS
    "officer_of_unit",  # officer of LS-NUOC
    "officer_of_unrelated_unit",  # officer of DK-BSR
    "officer_of_ancestor",  # officer of LS
    "bot_admin",  # in ADMIN_IDS, registered in EVN, no role
    "anonymous_group_admin",  # from = GroupAnonymousBot (1087968824), sender_chat = the group
    "channel_sender",  # from = Channel_Bot (136817688), sender_chat = a channel
)
# A = allowed, R = refused. Columns in the order of ROLES: worker/worker_x = of the unit/of another unit; sup, sup_sib,
# sup_up = support team of the unit/of its sibling/of its ancestor; off, off_x, off_up = officer of the unit/of an
# unrelated unit/of its ancestor; admin = bot admin; anon = the anonymous group admin; chan = a channel sender.
EXPECTED_TABLE = """
action          stranger worker worker_x sup sup_sib sup_up off off_x off_up admin anon chan
take            R        R      R        A   R       A      A   R     A      A     R    R
confirm         R        R      R        A   R       A      A   R     A      A     R    R
request_changes R        R      R        A   R       A      A   R     A      A     R    R
reject          R        R      R        A   R       A      A   R     A      A     R    R
reason_reply    R        R      R        A   R       A      A   R     A      A     R    R
full_text       R        R      R        A   R       A      A   R     A      A     R    R
bind            R        R      R        R   R       R      A   R     A      A     R    R
unbind          R        R      R        R   R       R      A   R     A      A     R    R
team            A        A      A        A   A       A      A   A     A      A     A    A
team_add        R        R      R        R   R       R      A   R     A      A     R    R
team_remove     R        R      R        R   R       R      A   R     A      A     R    R
queue           A        A      A        A   A       A      A   A     A      A     A    A
remind          R        R      R        R   R       R      A   R     A      A     R    R
progress        R        R      R        R   R       R      A   R     A      A     R    R
progress_above  R        R      R        R   R       R      R   R     A      A     R    R
progress_page   R        R      R        R   R       R      A   R     A      A     R    R
chart           R        R      R        R   R       R      A   R     A      A     R    R
export          R        R      R        R   R       R      A   R     A      A     R    R
top             R        R      R        R   R       R      A   R     A      A     R    R
invite          R        R      R        R   R       R      A   R     A      A     R    R
invites         R        R      R        R   R       R      A   R     A      A     R    R
invite_revoke   R        R      R        R   R       R      A   R     A      A     R    R
digest          R        R      R        R   R       R      A   A     A      R     R    R
role            R        R      R        R   R       R      A   R     A      A     R    R
history         R        R      R        A   R       A      A   R     A      A     R    R
"""
# Where the rules come from (README.md):
# - card buttons, the reason and "Full text": support-team members and officers of the initiative's unit or a unit
#   above it, and bot admins.  /history: the author, the team, officers (of the unit or above), admins.
# - /bind, /unbind, /team add|remove, /remind, /role: officers of the unit or above, admins.  /team, /queue: anyone.
# - /progress, /chart, /export, /top, /invite, /invites and their buttons: an officer acts on the unit's whole
#   subtree and never sees another unit's figures; admins may see any unit.  "progress_above" is /progress LS: the
#   parent of the officer's unit.  The unrelated officer's /invites lists only his own links: refused for LS-NUOC's.
# - /digest is about the officer's own unit: any officer may turn it on; an admin who is no officer has no digest.
# - the anonymous group admin and a channel sender are no known person: refused for everything that needs one.


def parse_table(table: str) -> dict[tuple[str, str], bool]:
    rows = [line.split() for line in table.strip().splitlines()]
    expected: dict[tuple[str, str], bool] = {}
    for row in rows[1:]:
        assert len(row) == len(ROLES) + 1 and set(row[1:]) <= {"A", "R"}, row
        for role, mark in zip(ROLES, row[1:], strict=True):
            expected[(row[0], role)] = mark == "A"
    return expected


EXPECTED = parse_table(EXPECTED_TABLE)
ACTIONS = tuple(dict.fromkeys(action for action, _ in EXPECTED))

# -- the world every cell starts from ------------------------------------------------------------------------
ANONYMOUS_ADMIN_ID, CHANNEL_BOT_ID = 1087968824, 136817688
ADMIN_ID, UNREGISTERED_ADMIN_ID = 5_000_001, 5_000_002
GROUP = {"id": -100_700_800, "type": "supergroup", "title": "Tổ hỗ trợ sáng kiến Cấp nước"}
CHANNEL = {"id": -100_900_900, "type": "channel", "title": "Kênh Công đoàn"}
QUOTA_OF_UNIT = "4.321"  # LS-NUOC's quota, as /progress prints it
OTHER_QUOTAS = ("8.765", "5.432", "3.210")  # LS, LS-TD, DK-BSR: never in a report about LS-NUOC


@dataclass(frozen=True)
class Person:
    user_id: int
    first_name: str
    username: str
    unit_query: str | None  # None: never registered
    role: tuple[str, str] | None = None  # (role, unit code)


PEOPLE = {
    "stranger": Person(5_000_101, "Khách", "khach_la", None),
    "worker_of_unit": Person(5_000_102, "Công nhân", "cn_nuoc", "cấp nước"),
    "worker_of_other_unit": Person(5_000_103, "Công nhân BSR", "cn_bsr", "bsr"),
    "support_of_unit": Person(5_000_104, "Tổ viên", "tv_nuoc", "cấp nước", (SUPPORT, "LS-NUOC")),
    "support_of_sibling": Person(5_000_105, "Tổ viên Tràng Định", "tv_td", "tràng định", (SUPPORT, "LS-TD")),
    "support_of_ancestor": Person(5_000_106, "Tổ viên tỉnh", "tv_tinh", "tỉnh lạng sơn", (SUPPORT, "LS")),
    "officer_of_unit": Person(5_000_107, "Cán bộ", "cb_nuoc", "cấp nước", (OFFICER, "LS-NUOC")),
    "officer_of_unrelated_unit": Person(5_000_108, "Cán bộ BSR", "cb_bsr", "bsr", (OFFICER, "DK-BSR")),
    "officer_of_ancestor": Person(5_000_109, "Cán bộ tỉnh", "cb_tinh", "tỉnh lạng sơn", (OFFICER, "LS")),
    "bot_admin": Person(ADMIN_ID, "Quản trị", "qt_bot", "điện lực"),
    # not in the matrix: they set the world up, or are the object of an action
    "author": Person(5_000_201, "Tác giả", "tac_gia", "cấp nước"),
    "boss": Person(5_000_202, "Trưởng ban", "truong_ban", "tỉnh lạng sơn", (OFFICER, "LS")),
    "helper": Person(5_000_203, "Tổ viên giúp", "tv_giup", "cấp nước", (SUPPORT, "LS-NUOC")),
    "newcomer": Person(5_000_204, "Người mới", "moi_nuoc", "cấp nước"),
}


def units_csv() -> str:
    """The test units with quotas, and eleven units below LS-NUOC so its /progress is paged."""
    quotas = {"LS": 8765, "LS-TD": 5432, "LS-NUOC": 4321, "DK-BSR": 3210}
    lines = ["code,name,parent_code,quota"]
    for row in UNITS_CSV.read_text(encoding="utf-8").splitlines()[1:]:
        code = row.split(",")[0]
        lines.append(f"{row},{quotas.get(code, '')}")
    names = ("Một", "Hai", "Ba", "Bốn", "Năm", "Sáu", "Bảy", "Tám", "Chín", "Mười", "Mười một")
    for i, name in enumerate(names):
        lines.append(f"LS-NUOC-{i:02d},Tổ công đoàn Phân xưởng {name},LS-NUOC,{40 + i}")
    return "\n".join(lines) + "\n"


async def seed_confirmed(app: App, unit_code: str, count: int) -> None:
    """Confirmed initiatives of a placeholder author, counted into the tallies like real decisions."""
    unit = await unit_by_code(app.db, unit_code)
    assert unit is not None
    now = "2022-03-01 00:00:00"
    await app.db.write(Stmt("INSERT INTO member (tg_user_id, full_name, language, created_at, updated_at) "
                            "VALUES (1, 'x', 'vi', :now, :now) ON CONFLICT (tg_user_id) DO NOTHING",
                            {"now": now}))  # fmt: skip
    for _ in range(count):
        result = await app.db.write(Stmt(
            "INSERT INTO initiative (author_id, unit_id, status, answers, step, pending, editing, has_social_benefit, "
            "benefit_per_year, review_round, created_at, updated_at) SELECT id, :unit, 'draft', '{}', '', '[]', :no, "
            ":no, 14000000, 1, :now, :now FROM member WHERE tg_user_id = 1 RETURNING id",
            {"unit": unit.id, "no": False, "now": now}, returning=True))  # fmt: skip
        iid = result.rows[0][0]
        change = Stmt("UPDATE initiative SET status = 'confirmed' WHERE id = :iid AND status = 'draft'",
                      {"iid": iid}, guard=True)  # fmt: skip
        await app.db.write_all(counted_change(iid, change))


@dataclass(repr=False)
class World:
    fake: FakeTelegram
    db_files: dict[str, Path]  # suffix -> snapshot file
    chats: dict[int, dict[str, Any]]
    messages: dict[int, dict[int, Sent]]
    card_id: int  # the card's message id in GROUP
    progress_message: tuple[int, int]  # (chat, message id): the boss's paged /progress LS-NUOC
    invites_message: tuple[int, int]  # the boss's /invites, with a revoke button
    invite_id: int
    invite_token: str
    initiative_id: int
    number: str
    closing: list[asyncio.Future[Any]] = field(default_factory=list)


def settings_for(db_path: Path, fake: FakeTelegram) -> Any:
    return make_settings(f"sqlite+aiosqlite:///{db_path}", fake, admin_ids=[ADMIN_ID, UNREGISTERED_ADMIN_ID])


def person(app: App, key: str) -> TgUser:
    p = PEOPLE[key]
    return app.user(p.user_id, first_name=p.first_name, last_name="Trần", username=p.username)


class SenderChatUser(TgUser):
    """A message "from" one of Telegram's service bots on behalf of a chat (anonymous admin, channel)."""

    def __init__(self, fake: FakeTelegram, deliver: Any, user_id: int, first_name: str, username: str,
                 sender_chat: dict[str, Any]) -> None:  # fmt: skip
        super().__init__(fake, deliver, user_id, first_name, None, "vi", username, chat=dict(GROUP))
        self.user = {"id": user_id, "is_bot": True, "first_name": first_name, "username": username}
        self.sender_chat = sender_chat

    async def _message(self, expect: int, **content: Any) -> list[Sent]:
        return await super()._message(expect, sender_chat=self.sender_chat, **content)


def service_sender(app: App, role: str) -> TgUser:
    if role == "anonymous_group_admin":
        return SenderChatUser(app.fake, app.deliver, ANONYMOUS_ADMIN_ID, "Group", "GroupAnonymousBot", dict(GROUP))
    app.fake.add_chat(CHANNEL)
    return SenderChatUser(app.fake, app.deliver, CHANNEL_BOT_ID, "Channel", "Channel_Bot", dict(CHANNEL))


async def give(app: App, key: str) -> None:
    p = PEOPLE[key]
    assert p.role is not None
    member, unit = await get_member(app.db, p.user_id), await unit_by_code(app.db, p.role[1])
    assert member is not None and unit is not None
    await grant(app.db, member_id=member.id or 0, unit_id=unit.id or 0, role=p.role[0], by_id=None)


async def scalar(app: App, sql: str, **params: Any) -> Any:
    async with app.db.read_engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    fake = FakeTelegram()
    await fake.start()
    folder = tmp_path_factory.mktemp("authorization")
    db_path = folder / "world.db"
    shutil.copy(template_db, db_path)
    app = await build_app(fake, settings_for(db_path, fake))
    (folder / "units.csv").write_text(units_csv(), encoding="utf-8")
    await import_units(app.db, read_units(folder / "units.csv"))
    await seed_confirmed(app, "LS-NUOC", 5)
    await seed_confirmed(app, "LS-NUOC-03", 2)
    users = {}
    for key, p in PEOPLE.items():
        users[key] = person(app, key)
        if p.unit_query is not None:
            await register(users[key], unit_query=p.unit_query)
        if p.role is not None:
            await give(app, key)
    boss = users["boss"]
    fake.admins[GROUP["id"]] = {boss.id}
    replies = await boss.in_group(GROUP).send("/bind LS-NUOC vi")
    assert "Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn" in replies[-1].text
    await fill_to_preview(users["author"])
    replies = await users["author"].click("Gửi duyệt")
    number = re.search(r"SK-\d+", replies[-1].text)
    assert number is not None
    card = next(m for m in reversed(fake.in_chat(GROUP["id"])) if m.text.startswith(number[0]))
    await boss.send("/invite LS-NUOC")
    invites = (await boss.send("/invites"))[-1]
    assert invites.buttons, invites.text
    paged = (await boss.send("/progress LS-NUOC"))[-1]
    assert "▶️" in paged.button_texts(), paged.button_texts()
    invite_id = await scalar(app, "SELECT id FROM invite")
    token = await scalar(app, "SELECT token FROM invite")
    initiative_id = await scalar(app, "SELECT id FROM initiative WHERE number = :n", n=number[0])
    await close_app(app)
    files = {suffix: Path(f"{db_path}{suffix}") for suffix in ("", "-wal", "-shm")}
    snapshot = World(
        fake=fake,
        db_files={s: f for s, f in files.items() if f.exists()},
        chats=copy.deepcopy(fake.chats),
        messages=copy.deepcopy(fake.messages),
        card_id=card.message_id,
        progress_message=(paged.chat_id, paged.message_id),
        invites_message=(invites.chat_id, invites.message_id),
        invite_id=invite_id,
        invite_token=token,
        initiative_id=initiative_id,
        number=number[0],
    )
    yield snapshot
    await asyncio.gather(*snapshot.closing)
    await fake.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def fresh(world: World, tmp_path: Path) -> AsyncIterator[App]:
    """A fresh app on a copy of the world: its database file, and the fake's chats and messages as they were."""
    fake = world.fake
    fake.chats = copy.deepcopy(world.chats)
    fake.messages = copy.deepcopy(world.messages)
    fake.admins = {GROUP["id"]: {PEOPLE["boss"].user_id}}
    fake.log.clear()
    fake.callback_answers.clear()
    fake.errors.clear()
    fake.kicked.clear()
    fake.fail_next.clear()
    db_path = tmp_path / "cell.db"
    for suffix, source in world.db_files.items():
        shutil.copy(source, f"{db_path}{suffix}")
    settings = settings_for(db_path, fake)
    db = Database(settings.database_url)
    await db.start()
    bot = create_bot(settings)
    dp = create_dispatcher(settings, db)
    await dp.emit_startup(bot=bot)
    app = App(fake, db, bot, dp)
    app._users = 100  # ids given by app.user() without one stay clear of PEOPLE
    yield app
    await dp.emit_shutdown(bot=bot)
    await db.close()
    world.closing.append(asyncio.ensure_future(bot.session.close()))  # it waits 250 ms: not in each cell


# -- what a cell observes ---------------------------------------------------------------------------------------
IGNORED_TABLES = {"handled_update", "alembic_version"}  # bookkeeping of which updates were handled


async def fingerprint(app: App) -> dict[str, list[tuple[Any, ...]]]:
    async with app.db.read_engine.connect() as conn:
        tables = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        names = [row[0] for row in await conn.execute(text(tables))]
        return {
            name: [tuple(row) for row in await conn.execute(text(f'SELECT * FROM "{name}" ORDER BY rowid'))]
            for name in names
            if name not in IGNORED_TABLES
        }


def db_changes(before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]) -> list[str]:
    changes = []
    for name in sorted(set(before) | set(after)):
        old, new = set(before.get(name, [])), set(after.get(name, []))
        if old != new:
            changes.append(f"{name}: -{sorted(old - new, key=repr)[:3]} +{sorted(new - old, key=repr)[:3]}")
    return changes


class Watch:
    """Everything the bot sent or changed from now on: new messages, edited messages, callback answers."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.last = {chat: max(msgs, default=0) for chat, msgs in fake.messages.items()}
        self.seen = {(chat, mid): (m.text, m.markup) for chat, msgs in fake.messages.items() for mid, m in msgs.items()}
        self.answers = len(fake.callback_answers)

    def new(self, chat: int | None = None) -> list[Sent]:
        return [
            m
            for c, msgs in self.fake.messages.items()
            if chat is None or c == chat
            for mid, m in sorted(msgs.items())
            if mid > self.last.get(c, 0)
        ]

    def edited(self) -> list[Sent]:
        return [
            m
            for c, msgs in self.fake.messages.items()
            for mid, m in msgs.items()
            if (c, mid) in self.seen and self.seen[(c, mid)] != (m.text, m.markup)
        ]

    def alerts(self) -> list[str]:
        return [a.get("text", "") for a in self.fake.callback_answers[self.answers :]]


# -- a cell ---------------------------------------------------------------------------------------------------
@dataclass(repr=False)
class Cell:
    app: App
    world: World
    role: str
    home: TgUser  # where the role sends private commands (the group, for the anonymous admin and a channel)
    in_group: TgUser
    sent_to: int = 0  # the chat the action was sent in
    note: dict[str, Any] = field(default_factory=dict)

    @property
    def fake(self) -> FakeTelegram:
        return self.app.fake

    @property
    def card(self) -> Sent:
        return self.fake.messages[GROUP["id"]][self.world.card_id]

    async def member_id(self, key: str | None = None) -> int | None:
        member = await get_member(self.app.db, PEOPLE[key or self.role].user_id)
        return member.id if member else None

    async def status(self) -> str:
        return str(await scalar(self.app, "SELECT status FROM initiative WHERE id = :i", i=self.world.initiative_id))

    async def has_role(self, key: str, role: str, unit: str) -> bool:
        sql = ("SELECT count(*) FROM role r JOIN unit u ON u.id = r.unit_id JOIN member m ON m.id = r.member_id "
               "WHERE m.tg_user_id = :tg AND r.role = :role AND u.code = :unit")  # fmt: skip
        return bool(await scalar(self.app, sql, tg=PEOPLE[key].user_id, role=role, unit=unit))

    async def group_unit(self) -> str | None:
        sql = "SELECT u.code FROM review_group g JOIN unit u ON u.id = g.unit_id WHERE g.chat_id = :c"
        return await scalar(self.app, sql, c=GROUP["id"])

    async def send_group(self, command: str) -> list[Sent]:
        self.sent_to = GROUP["id"]
        return await self.in_group.send(command, expect=0)

    async def send_home(self, command: str) -> list[Sent]:
        self.sent_to = self.home.chat_id
        return await self.home.send(command, expect=0)

    async def press_on_card(self, label: str) -> None:
        self.sent_to = GROUP["id"]
        await self.in_group.click(label, message=self.card, expect=0)

    async def place_in_home(self, source: tuple[int, int]) -> Sent:
        """The officer's message with its buttons, as it would sit in this role's chat (forwarded, or kept from
        when they had the right): sent there through the Bot API, buttons unchanged."""
        original = self.fake.messages[source[0]][source[1]]
        keyboard = InlineKeyboardMarkup.model_validate(original.markup)
        await self.app.bot.send_message(self.home.chat_id, original.html, reply_markup=keyboard)
        return self.fake.in_chat(self.home.chat_id)[-1]


def prompt_for(watch: Watch, name: str) -> Sent | None:
    """The ForceReply asking this person for a reason, if the bot sent one."""
    return next(
        (m for m in watch.new(GROUP["id"]) if (m.markup or {}).get("force_reply") and name in m.text),
        None,
    )


# -- the actions: what the role does, and what "allowed" means -------------------------------------------------
@dataclass(frozen=True)
class Action:
    run: Callable[[Cell, Watch], Awaitable[None]]
    allowed: Callable[[Cell, Watch], Awaitable[None]]
    button: bool = False  # refused: an alert is the answer
    private_only: bool = False  # a private-chat command: in a group (service senders) silence is a refusal
    plain_text: bool = False  # not a command: silence is a refusal
    prepare: Callable[[Cell], Awaitable[None]] | None = None


async def take(cell: Cell, watch: Watch) -> None:
    await cell.press_on_card("Nhận kiểm tra")


async def take_allowed(cell: Cell, watch: Watch) -> None:
    assert await cell.status() == "in_review"
    taken_by = await scalar(cell.app, "SELECT taken_by_id FROM initiative WHERE id = :i", i=cell.world.initiative_id)
    assert taken_by == await cell.member_id()
    assert "Đang kiểm tra" in cell.card.text


async def confirm(cell: Cell, watch: Watch) -> None:
    await cell.press_on_card("Xác nhận")


async def confirm_allowed(cell: Cell, watch: Watch) -> None:
    assert await cell.status() == "confirmed", watch.alerts()
    assert "đã xác nhận hợp lệ (" in cell.card.text


REASON = "Cần ghi rõ số tiền tiết kiệm mỗi tháng."


async def decide_with_reason(cell: Cell, watch: Watch, label: str, fallback: Sent) -> None:
    await cell.press_on_card(label)
    prompt = prompt_for(watch, cell.in_group.user["first_name"])
    cell.note["prompt"] = prompt
    await cell.in_group.send(REASON, reply_to=prompt or fallback, expect=0)


async def request_changes(cell: Cell, watch: Watch) -> None:
    await decide_with_reason(cell, watch, "Trả lại bổ sung", cell.card)


async def request_changes_allowed(cell: Cell, watch: Watch) -> None:
    assert cell.note["prompt"] is not None, "no ForceReply asked this person for the reason"
    assert await cell.status() == "changes_requested"
    reason = await scalar(cell.app, "SELECT decision_reason FROM initiative WHERE id = :i", i=cell.world.initiative_id)
    assert reason == REASON


async def reject(cell: Cell, watch: Watch) -> None:
    await cell.press_on_card("Từ chối")


async def reject_allowed(cell: Cell, watch: Watch) -> None:
    prompt = prompt_for(watch, PEOPLE[cell.role].first_name)
    assert prompt is not None and prompt.markup == {"force_reply": True, "selective": True}
    assert await cell.status() == "submitted"  # recorded only when the reason arrives


async def helper_asks_to_reject(cell: Cell) -> None:
    """A member of the unit's team pressed Reject: the group now shows a ForceReply addressed to them."""
    helper = person(cell.app, "helper").in_group(GROUP)
    watch = Watch(cell.fake)
    await helper.click("Từ chối", message=cell.card, expect=0)
    cell.note["helper_prompt"] = prompt_for(watch, PEOPLE["helper"].first_name)
    assert cell.note["helper_prompt"] is not None


async def reason_reply(cell: Cell, watch: Watch) -> None:
    """The role presses Reject and answers its own prompt; when it got none, it answers the helper's prompt."""
    await decide_with_reason(cell, watch, "Từ chối", cell.note["helper_prompt"])


async def reason_reply_allowed(cell: Cell, watch: Watch) -> None:
    assert cell.note["prompt"] is not None, "no ForceReply asked this person for the reason"
    assert await cell.status() == "rejected"
    row = await scalar(cell.app, "SELECT decided_by_id FROM initiative WHERE id = :i", i=cell.world.initiative_id)
    assert row == await cell.member_id()


async def full_text(cell: Cell, watch: Watch) -> None:
    await cell.press_on_card("Xem đầy đủ")


async def full_text_allowed(cell: Cell, watch: Watch) -> None:
    private = watch.new(PEOPLE[cell.role].user_id)
    assert any(SOLUTION in m.text for m in private), [m.text[:80] for m in private]
    assert "Đã gửi riêng cho anh/chị." in watch.alerts()


async def group_admins_all(cell: Cell) -> None:
    """Everyone in the matrix administers the group: only their role decides."""
    cell.fake.admins[GROUP["id"]] = {p.user_id for p in PEOPLE.values()} | {ANONYMOUS_ADMIN_ID, CHANNEL_BOT_ID}


async def unbound_group(cell: Cell) -> None:
    await group_admins_all(cell)
    await unbind(cell.app.db, chat_id=GROUP["id"], by_id=None)


async def bind(cell: Cell, watch: Watch) -> None:
    await cell.send_group("/bind LS-NUOC")


async def bind_allowed(cell: Cell, watch: Watch) -> None:
    assert await cell.group_unit() == "LS-NUOC"


async def unbind_(cell: Cell, watch: Watch) -> None:
    await cell.send_group("/unbind")


async def unbind_allowed(cell: Cell, watch: Watch) -> None:
    assert await cell.group_unit() is None


async def team(cell: Cell, watch: Watch) -> None:
    await cell.send_group("/team")


async def team_allowed(cell: Cell, watch: Watch) -> None:
    replies = watch.new(GROUP["id"])
    assert replies and "Tổ viên giúp" in replies[-1].text and "Trưởng ban" in replies[-1].text, replies


async def team_add(cell: Cell, watch: Watch) -> None:
    await cell.send_group("/team add @moi_nuoc")


async def team_add_allowed(cell: Cell, watch: Watch) -> None:
    assert await cell.has_role("newcomer", SUPPORT, "LS-NUOC")


async def team_remove(cell: Cell, watch: Watch) -> None:
    await cell.send_group("/team remove @tv_giup")


async def team_remove_allowed(cell: Cell, watch: Watch) -> None:
    assert not await cell.has_role("helper", SUPPORT, "LS-NUOC")


async def queue(cell: Cell, watch: Watch) -> None:
    await cell.send_group("/queue")


async def queue_allowed(cell: Cell, watch: Watch) -> None:
    replies = watch.new(GROUP["id"])
    assert replies and cell.world.number in replies[-1].text, replies


async def remind(cell: Cell, watch: Watch) -> None:
    await cell.send_group("/remind 8 2")


async def remind_allowed(cell: Cell, watch: Watch) -> None:
    assert await scalar(cell.app, "SELECT reminder_hour FROM review_group WHERE chat_id = :c", c=GROUP["id"]) == 8


def reply_text(cell: Cell, watch: Watch) -> str:
    replies = watch.new(cell.sent_to)
    assert replies, "no reply"
    return "\n".join(m.text for m in replies)


async def progress(cell: Cell, watch: Watch) -> None:
    await cell.send_home("/progress LS-NUOC")


async def progress_allowed(cell: Cell, watch: Watch) -> None:
    shown = reply_text(cell, watch)
    assert "Tiến độ của Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn" in shown and QUOTA_OF_UNIT in shown, shown
    assert not any(q in shown for q in OTHER_QUOTAS), shown


async def progress_above(cell: Cell, watch: Watch) -> None:
    await cell.send_home("/progress LS")


async def progress_above_allowed(cell: Cell, watch: Watch) -> None:
    shown = reply_text(cell, watch)
    assert "Tiến độ của Liên đoàn Lao động tỉnh Lạng Sơn" in shown and "8.765" in shown, shown


async def page_placed(cell: Cell) -> None:
    cell.note["page"] = await cell.place_in_home(cell.world.progress_message)


async def progress_page(cell: Cell, watch: Watch) -> None:
    cell.sent_to = cell.home.chat_id
    await cell.home.click("▶️", message=cell.note["page"], expect=0)


async def progress_page_allowed(cell: Cell, watch: Watch) -> None:
    page = cell.fake.messages[cell.home.chat_id][cell.note["page"].message_id]
    assert "2/2" in page.button_texts() and "Phân xưởng" in page.text, (page.text, page.button_texts())
    assert not any(q in page.text for q in OTHER_QUOTAS), page.text


async def chart(cell: Cell, watch: Watch) -> None:
    await cell.send_home("/chart LS-NUOC")


async def chart_allowed(cell: Cell, watch: Watch) -> None:
    assert [m.kind for m in watch.new(cell.sent_to)] == ["photo"]


async def export(cell: Cell, watch: Watch) -> None:
    await cell.send_home("/export LS-NUOC")


async def export_allowed(cell: Cell, watch: Watch) -> None:
    files = [m for m in watch.new(cell.sent_to) if m.kind == "document"]
    assert files and files[0].document and files[0].document["file_name"].startswith("sang-kien-LS-NUOC-")


async def top(cell: Cell, watch: Watch) -> None:
    await cell.send_home("/top LS-NUOC")


async def top_allowed(cell: Cell, watch: Watch) -> None:
    shown = reply_text(cell, watch)
    assert "Tác giả, đơn vị tiêu biểu – Công đoàn cơ sở Công ty CP Cấp nước Lạng Sơn" in shown, shown
    assert "Điện lực" not in shown and "Tràng Định" not in shown, shown  # only units of LS-NUOC's subtree


async def invite(cell: Cell, watch: Watch) -> None:
    await cell.send_home("/invite LS-NUOC")


async def invite_allowed(cell: Cell, watch: Watch) -> None:
    sent = watch.new(cell.sent_to)
    assert [m.kind for m in sent] == ["photo"] and "start=" in sent[0].text
    sql = "SELECT count(*) FROM invite i JOIN unit u ON u.id = i.unit_id WHERE u.code = 'LS-NUOC'"
    assert await scalar(cell.app, sql) == 2


async def invites(cell: Cell, watch: Watch) -> None:
    await cell.send_home("/invites")


async def invites_allowed(cell: Cell, watch: Watch) -> None:
    shown = reply_text(cell, watch)
    assert cell.world.invite_token in shown, f"LS-NUOC's active link is not listed: {shown!r}"


async def revoke_placed(cell: Cell) -> None:
    cell.note["list"] = await cell.place_in_home(cell.world.invites_message)


async def invite_revoke(cell: Cell, watch: Watch) -> None:
    cell.sent_to = cell.home.chat_id
    listing: Sent = cell.note["list"]
    await cell.home.click(listing.button_texts()[0], message=listing, expect=0)


async def invite_revoke_allowed(cell: Cell, watch: Watch) -> None:
    assert await scalar(cell.app, "SELECT revoked_at FROM invite WHERE id = :i", i=cell.world.invite_id) is not None


async def digest(cell: Cell, watch: Watch) -> None:
    await cell.send_home("/digest on")


async def digest_allowed(cell: Cell, watch: Watch) -> None:
    assert await scalar(cell.app, "SELECT weekly_digest FROM member WHERE tg_user_id = :t",
                        t=PEOPLE[cell.role].user_id)  # fmt: skip


async def role(cell: Cell, watch: Watch) -> None:
    await cell.send_home("/role add support @moi_nuoc LS-NUOC")


async def role_allowed(cell: Cell, watch: Watch) -> None:
    assert await cell.has_role("newcomer", SUPPORT, "LS-NUOC")


async def history(cell: Cell, watch: Watch) -> None:
    await cell.send_home(f"/history {cell.world.number}")


async def history_allowed(cell: Cell, watch: Watch) -> None:
    shown = reply_text(cell, watch)
    assert "gửi duyệt (lần 1)" in shown, shown


ACTION_SPECS: dict[str, Action] = {
    "take": Action(take, take_allowed, button=True),
    "confirm": Action(confirm, confirm_allowed, button=True),
    "request_changes": Action(request_changes, request_changes_allowed, button=True),
    "reject": Action(reject, reject_allowed, button=True),
    "reason_reply": Action(reason_reply, reason_reply_allowed, button=True, prepare=helper_asks_to_reject),
    "full_text": Action(full_text, full_text_allowed, button=True),
    "bind": Action(bind, bind_allowed, prepare=unbound_group),
    "unbind": Action(unbind_, unbind_allowed, prepare=group_admins_all),
    "team": Action(team, team_allowed),
    "team_add": Action(team_add, team_add_allowed),
    "team_remove": Action(team_remove, team_remove_allowed),
    "queue": Action(queue, queue_allowed),
    "remind": Action(remind, remind_allowed),
    "progress": Action(progress, progress_allowed),
    "progress_above": Action(progress_above, progress_above_allowed),
    "progress_page": Action(progress_page, progress_page_allowed, button=True, prepare=page_placed),
    "chart": Action(chart, chart_allowed),
    "export": Action(export, export_allowed),
    "top": Action(top, top_allowed),
    "invite": Action(invite, invite_allowed, private_only=True),
    "invites": Action(invites, invites_allowed, private_only=True),
    "invite_revoke": Action(invite_revoke, invite_revoke_allowed, button=True, prepare=revoke_placed),
    "digest": Action(digest, digest_allowed, private_only=True),
    "role": Action(role, role_allowed, private_only=True),
    "history": Action(history, history_allowed),
}
assert set(ACTION_SPECS) == set(ACTIONS)

SERVICE_SENDERS = {"anonymous_group_admin", "channel_sender"}
FIGURE = re.compile(r"\d|%")


def leaks(cell: Cell, sent: list[Sent], alerts: list[str]) -> list[str]:
    """Figures, files, invite tokens or the initiative's text in what a refused person was shown."""
    found = []
    secrets = (cell.world.invite_token, "start=", TITLE, SOLUTION[:40], BEFORE[:40])
    for m in sent:
        if m.kind != "text":
            found.append(f"a {m.kind} was sent to chat {m.chat_id}")
        shown = m.text
        if FIGURE.search(shown) or any(s in shown for s in secrets):
            found.append(f"chat {m.chat_id} was shown {shown[:300]!r}")
    for alert in alerts:
        if FIGURE.search(alert) or any(s in alert for s in secrets):
            found.append(f"alert {alert!r}")
    return found


def cell_id(cell: tuple[str, str]) -> str:
    action, who = cell
    return f"{action}-{who}-{'allowed' if EXPECTED[cell] else 'refused'}"


@pytest.mark.parametrize("action_role", list(EXPECTED), ids=cell_id)
async def test_authorization_cell(
    action_role: tuple[str, str], world: World, fresh: App, caplog: pytest.LogCaptureFixture
) -> None:
    action_name, role_name = action_role
    spec = ACTION_SPECS[action_name]
    if role_name in SERVICE_SENDERS:
        in_group = home = service_sender(fresh, role_name)
    else:
        home = person(fresh, role_name)
        in_group = home.in_group(GROUP)
    cell = Cell(fresh, world, role_name, home, in_group)
    if spec.prepare is not None:
        await spec.prepare(cell)
    before = await fingerprint(fresh)
    watch = Watch(fresh.fake)
    caplog.set_level(logging.ERROR)
    caplog.clear()
    await spec.run(cell, watch)

    failures = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not failures, f"the bot failed while handling it: {failures}"
    api_errors = [e for e in fresh.fake.errors if "message is not modified" not in e[1]]
    assert not api_errors, f"Telegram refused what the bot sent: {api_errors}"

    if EXPECTED[action_role]:
        await spec.allowed(cell, watch)
        return

    # refused: nothing changed ...
    changes = db_changes(before, await fingerprint(fresh))
    assert not changes, f"refused, yet the database changed: {changes}"
    edited = [(m.chat_id, m.text[:120]) for m in watch.edited()]
    assert not edited, f"refused, yet messages were edited: {edited}"
    own_chats = {cell.sent_to, home.chat_id}  # where the person acted, and their own private chat
    elsewhere = [(m.chat_id, m.text[:120]) for m in watch.new() if m.chat_id not in own_chats]
    assert not elsewhere, f"refused, yet others were sent messages: {elsewhere}"
    # ... the person is told so ...
    alerts = watch.alerts()
    replies = watch.new(cell.sent_to)
    if spec.button:
        assert any(a.strip() for a in alerts), f"refused without an alert; answers {alerts}, replies {replies}"
    elif not spec.plain_text and not (spec.private_only and role_name in SERVICE_SENDERS):
        assert replies, "refused without a reply"
    # ... and shown no figures, files, tokens or the initiative's text
    shown = [m for m in watch.new() if m.chat_id in own_chats]
    assert not leaks(cell, shown, alerts), leaks(cell, shown, alerts)


# -- two cases from the reliability issue ---------------------------------------------------------------------
async def test_an_unrelated_officer_cannot_rebind_another_units_group(world: World, fresh: App) -> None:
    """The officer of DK-BSR administers LS-NUOC's support group and sends /bind DK-BSR there: refused, and
    LS-NUOC keeps its group."""
    officer = person(fresh, "officer_of_unrelated_unit").in_group(GROUP)
    fresh.fake.admins[GROUP["id"]] = {PEOPLE["boss"].user_id, officer.id}
    watch = Watch(fresh.fake)
    await officer.send("/bind DK-BSR", expect=0)
    sql = "SELECT u.code FROM review_group g JOIN unit u ON u.id = g.unit_id WHERE g.chat_id = :c"
    assert await scalar(fresh, sql, c=GROUP["id"]) == "LS-NUOC", "the group was taken from LS-NUOC"
    assert await scalar(fresh, "SELECT count(*) FROM review_group g JOIN unit u ON u.id = g.unit_id "
                               "WHERE u.code = 'DK-BSR'") == 0  # fmt: skip
    assert watch.new(GROUP["id"]), "refused without a reply"


async def test_a_bot_admin_who_never_registered_confirms_a_card(world: World, fresh: App) -> None:
    admin = fresh.user(UNREGISTERED_ADMIN_ID, first_name="Quản trị", last_name="Lê").in_group(GROUP)
    card = fresh.fake.messages[GROUP["id"]][world.card_id]
    await admin.click("Xác nhận", message=card, expect=0)
    status = await scalar(fresh, "SELECT status FROM initiative WHERE id = :i", i=world.initiative_id)
    assert status == "confirmed", f"status {status}; the admin was told {admin.alerts[-1:]!r}"
