"""The machinery of the bad-input corpus: flow positions reached by valid actions, corpus inputs delivered as a
Telegram client would, a snapshot of what the bot stored, and the invariants checked after every input."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shutil
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text as sql

from bot.app import create_form
from forms.engine import PREVIEW, Form, FormState
from forms.errors import FormError
from forms.template import Kind
from forms.text import clean_answer, has_words, normalize
from handlers.worker.profile import parse_phone
from storage.members import get_member
from storage.roles import OFFICER, SUPPORT, grant
from storage.units import unit_by_code
from tests.conftest import UNITS_CSV, App, build_app, close_app, make_settings
from tests.fake_telegram import FakeTelegram, Sent, utf16_len
from tests.tgclient import TgUser

CORPUS = Path(__file__).resolve().parent.parent / "data" / "bad_inputs.json"
PASTE_PIECE = 3_500  # a message this long is a piece of a paste Telegram split; a shorter one is the answer
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LOGGERS = ("bot", "handlers", "storage", "forms", "reports", "aiogram")
SORRY = ("Sorry, something went wrong", "Xin lỗi, hệ thống vừa gặp lỗi")
GROUP = {"id": -100_900_800, "type": "supergroup", "title": "Tổ hỗ trợ sáng kiến"}
FORM_STEPS = ("title", "solution_type", "field", "before", "solution", "applied_where", "applied_since",
              "benefit_money", "benefit_social", "authors", "conditions", "confidential", "files")  # fmt: skip
OFFICER_COMMANDS = ("progress", "chart", "export", "top", "invite", "history", "digest", "role")
POSITIONS = (
    "reg_language",  # /profile's language question (registration takes the Telegram app's language)
    "reg_name",  # after /start and the greeting's language button
    "reg_unit",
    "reg_phone",  # /profile's phone question (registration asks none)
    *FORM_STEPS,
    "preview",
    "drafts",
    "profile",
    "group_reason",
    *tuple(f"officer_{c}" for c in OFFICER_COMMANDS),
)
SUBTREE = {"LS", "LS-TD", "LS-NUOC"}  # the officer of these tests is an officer of LS
UNIT_NAMES = [line.split(",")[1] for line in UNITS_CSV.read_text(encoding="utf-8").splitlines()[1:] if line]

# -- language ---------------------------------------------------------------------------------------------
# Letters only Vietnamese uses: ă â đ ê ô ơ ư, and anything with a dot below, a hook above or a horn.
_VI_MARKS = {"\u0323", "\u0309", "\u031b", "\u0306", "\u0302"}
_VI_LETTERS = set("đĐ")


def vietnamese_letters(text: str) -> list[str]:
    found = []
    for ch in text:
        if ch in _VI_LETTERS or _VI_MARKS & set(unicodedata.normalize("NFD", ch)):
            found.append(ch)
    return found


def any_diacritic(text: str) -> bool:
    return any(ch in _VI_LETTERS or len(unicodedata.normalize("NFD", ch)) > 1 for ch in text if ch.isalpha())


PROPER_NAMES = {"TLĐ"}  # the Confederation's own abbreviation, kept in English ("the TLĐ system")


def language_problem(reply: str, lang: str, data: str) -> str | None:
    """None if ``reply`` reads as ``lang``; words that echo user data (``data``) are left out of the judgement."""
    data_nfc = unicodedata.normalize("NFC", data)
    own = []
    for token in reply.split():
        word = token.strip(".,:;!?()[]«»“”\"'…—–-·/|*_`<>&%")
        if not word or word in data_nfc or unicodedata.normalize("NFC", word) in data_nfc or word in PROPER_NAMES:
            continue
        own.append(word)
    if lang == "en":
        bad = [w for w in own if vietnamese_letters(w)]
        return f"Vietnamese words in an English reply: {' '.join(bad[:5])}" if bad else None
    words = [w for w in own if sum(ch.isalpha() for ch in w) >= 2]
    if len(words) >= 2 and not any(any_diacritic(w) for w in words):
        return f"no Vietnamese in a Vietnamese reply: {' '.join(words[:6])}"
    return None


# -- the corpus --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Input:
    cls: str
    n: int
    spec: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.spec["kind"])

    @property
    def text(self) -> str:
        spec = self.spec
        if "repeat" in spec:
            value = (spec["repeat"] * (spec["length"] // len(spec["repeat"]) + 1))[: spec["length"]]
        else:
            value = spec.get("text", "")
        return unicodedata.normalize(spec["form"], value) if "form" in spec else value

    def label(self) -> str:
        if self.kind == "text" or self.kind == "edited":
            t = self.text
            shown = t if len(t) <= 40 else f"{t[:24]}…({len(t)} chars)"
            extra = " NFD" if self.spec.get("form") else ""
            return f"{self.cls}#{self.n} {self.kind} {shown!r}{extra}"
        if self.kind == "callback":
            return f"{self.cls}#{self.n} callback {self.spec['data']!r}"
        own = "" if self.spec.get("own", True) else " (someone else's)"
        return f"{self.cls}#{self.n} {self.kind}{own}"


def load_corpus() -> list[Input]:
    data = json.loads(CORPUS.read_text(encoding="utf-8"))
    return [Input(cls, n, spec) for cls, items in data["classes"].items() for n, spec in enumerate(items)]


def split_like_telegram(text: str, limit: int = 4096) -> list[str]:
    """A client sends a long text as several messages of at most ``limit`` UTF-16 units each."""
    if utf16_len(text) <= limit:
        return [text]
    pieces, current, size = [], [], 0
    for ch in text:
        w = utf16_len(ch)
        if size + w > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(ch)
        size += w
    pieces.append("".join(current))
    return pieces


# -- delivery ----------------------------------------------------------------------------------------------
class Client(TgUser):
    """A TgUser that can also send arbitrary content, an edit of its previous message, and a raw update."""

    async def content(self, reply_to: Sent | None = None, **content: Any) -> None:
        if reply_to is not None:
            content["reply_to_message"] = self.fake.message_json(reply_to)
        text = content.get("text")
        if isinstance(text, str) and text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(text.split()[0])}]
        await self._message(0, **content)

    async def edit_last(self, new_text: str) -> None:
        last_id = next(self._message_ids) - 1  # the message the user sent last
        now = int(time.time())
        message: dict[str, Any] = {"message_id": max(last_id, 1), "date": now - 60, "edit_date": now,
                                   "chat": self.chat, "from": self.user, "text": new_text}  # fmt: skip
        if new_text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(new_text.split()[0])}]
        await self.deliver({"edited_message": message}, self, 0)

    async def contact_of(self, own: bool) -> None:
        await self.send_contact("+84912345678", own=own, expect=0)

    def in_group(self, group: dict[str, Any]) -> Client:
        return Client(self.fake, self.deliver, self.id, self.user["first_name"], self.user.get("last_name"),
                      self.user["language_code"], self.user.get("username"), chat=group)  # fmt: skip


def make_client(app: App, lang: str, **kwargs: Any) -> Client:
    app._users += 1
    names = (
        {"first_name": "An", "last_name": "Nguyễn Văn"}
        if lang == "vi"
        else {"first_name": "John", "last_name": "Smith"}
    )
    return Client(app.fake, app.deliver, 10_000 + app._users, **{**names, "language_code": lang, **kwargs})


def button_data(user: TgUser, prefix: str) -> tuple[Sent, str]:
    for m in reversed(user.history):
        for row in m.buttons:
            for b in row:
                if b.get("callback_data", "").startswith(prefix):
                    return m, b["callback_data"]
    raise AssertionError(f"no button {prefix!r}; last message {user.last.text[:200]!r}")


async def press_prefix(user: TgUser, prefix: str) -> None:
    m, data = button_data(user, prefix)
    await user.press(m, data, expect=0)


# -- what the bot stored -----------------------------------------------------------------------------------
async def snapshot(app: App) -> dict[str, Any]:
    async with app.db.engine.connect() as c:
        drafts = {
            r[0]: {
                "status": r[1],
                "answers": json.loads(r[2]),
                "step": r[3],
                "pending": json.loads(r[4]),
                "editing": bool(r[5]),
                "reason": r[6],
                "author": r[7],
            }
            for r in await c.execute(
                sql("SELECT id, status, answers, step, pending, editing, decision_reason, author_id FROM initiative")
            )
        }
        members = {
            r[0]: {"name": r[1], "language": r[2], "unit": r[3], "phone": r[4], "digest": bool(r[5]), "id": r[6]}
            for r in await c.execute(
                sql("SELECT tg_user_id, full_name, language, unit_id, phone, weekly_digest, id FROM member")
            )
        }
        fsm = {
            r[0]: (r[1], json.loads(r[2] or "{}"))
            for r in await c.execute(sql("SELECT key, state, data FROM fsm_record"))
        }
        roles = sorted(tuple(r) for r in await c.execute(sql("SELECT member_id, unit_id, role FROM role")))
        invites = (await c.execute(sql("SELECT count(*) FROM invite"))).scalar()
        units = {r[0] for r in await c.execute(sql("SELECT id FROM unit"))}
    return {"drafts": drafts, "members": members, "fsm": fsm, "roles": roles, "invites": invites, "units": units}


def fsm_of(snap: dict[str, Any], chat_id: int, user_id: int) -> tuple[str | None, dict[str, Any]]:
    for key, value in snap["fsm"].items():
        if f":{chat_id}:{user_id}" in key:
            return value
    return (None, {})


def text_problems(value: Any, where: str) -> list[str]:
    """Stored text must be NFC, without control or format characters (newlines aside)."""
    out = []
    if isinstance(value, str):
        if not unicodedata.is_normalized("NFC", value):
            out.append(f"{where} stored not in NFC")
        bad = {f"U+{ord(ch):04X}" for ch in value if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cf")}
        if bad:
            out.append(f"{where} stored with invisible characters {sorted(bad)}")
    elif isinstance(value, dict):
        for k, v in value.items():
            out += text_problems(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += text_problems(v, f"{where}[{i}]")
    return out


# -- positions ---------------------------------------------------------------------------------------------
@dataclass
class Position:
    """One place in a flow, in one app, with the people needed to reach it."""

    name: str
    lang: str
    app: App
    form: Form
    user: Client | None = None  # who receives the corpus input
    chat: Client | None = None  # where it is sent (the group for the reason prompt)
    draft_id: int = 0
    other_draft: int = 0
    other_step: int = 1
    other_member: int = 0
    initiative: int = 0
    prompt: Sent | None = None
    baseline: dict[str, Any] = field(default_factory=dict)
    officer: Client | None = None
    support: Client | None = None
    builds: int = 0
    last_replies: list[str] = field(default_factory=list)
    reg_step: str = ""

    @property
    def step_key(self) -> str:
        return self.name if self.name in FORM_STEPS else ""

    @property
    def step_index(self) -> int:
        if self.name in FORM_STEPS:
            return FORM_STEPS.index(self.name)
        return -1 if self.name == "preview" else 0

    def placeholders(self) -> dict[str, Any]:
        step = self.step_index
        prev = step - 1 if step > 0 else (3 if step == -1 else 5)
        if step > 0 and prev in self.form.screen_indices(FORM_STEPS[step]):  # asked on the same keyboard
            prev = min(self.form.screen_indices(FORM_STEPS[step])) - 1  # the step the walk asked before it
        return {"own_draft": self.draft_id, "step": step, "prev_step": prev, "other_draft": self.other_draft,
                "other_step": self.other_step, "other_member": self.other_member}  # fmt: skip


DRAFT_TITLE = "Sáng <b>kiến</b> & “nháp” " + "x" * 250
TITLES = {"vi": "Tự động duy trì áp lực mạng cấp nước", "en": "Automatic pressure control for the water network"}
LONG = {
    "vi": "Bơm chạy hết công suất cả đêm dù ít người dùng nước; ống hay bị vỡ.",
    "en": "The pumps ran at full power all night although little water was used; pipes burst.",
}
SOLUTION = {
    "vi": "Lắp cảm biến áp lực và biến tần để giữ áp lực ổn định; ban đêm bơm chạy chậm lại.",
    "en": "A pressure sensor and an inverter keep the pressure constant; the pump slows down at night.",
}
WALK_DATA = " ".join(
    [
        *TITLES.values(),
        *LONG.values(),
        *SOLUTION.values(),
        "Trạm bơm số 2",
        "Pumping station 2",
        "Nguyễn Văn An",
        "An Nguyễn Văn",
        "John Smith",
        "Smith John",
        "Hoa Lê Thị",
        "Lê Thị Hoa",
        "Phạm Tổ viên",
        "Tổ viên Phạm",
        *UNIT_NAMES,
        "Tiếng Việt",
        "Chọn ngôn ngữ",
        "ngôn",
        "ngữ",
        DRAFT_TITLE,
        "triệu",
        "tỷ",
        "nghìn",
        "nghìn/tháng",
        "Bình",
        "Trần",
        "Thị",
        "–",
        "₫",
        "₫/năm",
        "₫/year",
        "₫/tháng",
        GROUP["title"],
    ]
)


async def register_client(user: Client, lang: str, unit_query: str = "cấp nước") -> None:
    """/start in the language of the person's Telegram app (no language step), the suggested name, a search for
    the unit and its button; no phone step (the phone lives in /profile)."""
    assert user.user["language_code"] == lang, "the language comes from the Telegram app"
    await user.send("/start", expect=0)
    await user.send(user.last.button_texts()[0], expect=0)
    await user.send(unit_query, expect=0)
    await press_prefix(user, "v1u:")
    thanks = user.last.text  # registered: the thanks names /new and /profile
    assert "/new" in thanks and "/profile" in thanks, f"registration did not end: {thanks[:200]!r}"


async def latest_draft(app: App, user: TgUser) -> int:
    async with app.db.engine.connect() as c:
        member = await get_member(app.db, user.id)
        assert member is not None
        row = (await c.execute(sql("SELECT max(id) FROM initiative WHERE author_id = :m"), {"m": member.id})).scalar()
    return int(row or 0)


async def current_step(app: App, draft: int) -> str:
    async with app.db.engine.connect() as c:
        return str((await c.execute(sql("SELECT step FROM initiative WHERE id = :d"), {"d": draft})).scalar())


async def walk_form(user: Client, lang: str, until: str, app: App) -> int:
    """From /new to the step ``until`` (a field key or "preview"), as a worker does it: each required step the
    draft is at gets a valid value (a long answer is one message, no Done; the type and the field are two taps on
    one keyboard); past the money the summary comes, and an optional step is opened from it with "Add details"
    (the keyboard opens in place) and the step's ➕ button."""
    await user.send("/new", expect=0)
    draft = await latest_draft(app, user)
    for _ in range(40):
        key = await current_step(app, draft)
        if key == until:
            return draft
        if key == PREVIEW:
            summary, more = button_data(user, f"v1f:m:{draft}:-1:1")  # ➕ Add details
            edits = summary.edits
            await user.press(summary, more, expect=0)
            assert summary.edits == edits + 1, "Add details did not open the details in place"
            index = FORM_STEPS.index(until)
            part = button_data(user, f"v1f:e:{draft}:-1:{index}")[1]  # its ➕ among the opened buttons
            await user.press(summary, part, expect=0)
            continue
        i = FORM_STEPS.index(key)
        if key in ("title", "applied_where"):
            await user.send(TITLES[lang] if key == "title" else "Trạm bơm số 2", expect=0)
        elif key in ("solution_type", "field"):
            keyboard, data = button_data(user, f"v1f:o:{draft}:{i}:0")
            before_ids = {m.message_id for m in user.history}
            await user.press(keyboard, data, expect=0)
            if key == "solution_type":  # the first pick of the keyboard is ticked in place: no new message
                assert {m.message_id for m in user.history} == before_ids, "a type pick sent a new message"
        elif key in ("before", "solution"):
            await user.send(LONG[lang] if key == "before" else SOLUTION[lang], expect=0)
        elif key == "applied_since":
            await user.send("15/03/2022", expect=0)
        elif key == "benefit_money":
            await user.send("14000000", expect=0)
        else:
            raise AssertionError(f"the walk asked the optional step {key} (they wait for Add details)")
        assert await current_step(app, draft) != key, f"a valid answer did not move the form on from {key}"
    raise AssertionError(f"the form never reached {until}")


async def give(app: App, user: TgUser, role: str, unit_code: str) -> None:
    member, unit = await get_member(app.db, user.id), await unit_by_code(app.db, unit_code)
    assert member is not None and unit is not None
    await grant(app.db, member_id=member.id or 0, unit_id=unit.id or 0, role=role, by_id=None)


async def setup_common(pos: Position) -> None:
    """People every position shares: another worker with a draft (whose buttons get forged), an officer, a
    support member and, for the reason prompt, a bound support group."""
    app, lang = pos.app, pos.lang
    victim = make_client(app, "vi", username="victim")
    await register_client(victim, "vi")
    pos.other_draft = await walk_form(victim, "vi", "solution_type", app)
    member = await get_member(app.db, victim.id)
    pos.other_member = member.id if member and member.id else 0
    if pos.name == "group_reason" or pos.name.startswith("officer_"):
        officer = make_client(app, lang, first_name="Hoa", last_name="Lê Thị", username="hoa_ldld")
        await register_client(officer, lang, "tỉnh lạng sơn")
        await give(app, officer, OFFICER, "LS")
        pos.officer = officer
    if pos.name == "group_reason":
        support = make_client(app, lang, first_name="Tổ viên", last_name="Phạm", username="tovien1")
        await register_client(support, lang)
        await give(app, support, SUPPORT, "LS-NUOC")
        pos.support = support
        app.fake.add_chat(GROUP)
        app.fake.admins[GROUP["id"]] = {pos.officer.id}  # type: ignore[union-attr]
        await pos.officer.in_group(GROUP).send(f"/bind LS-NUOC {lang}", expect=0)  # type: ignore[union-attr]


async def build_position(pos: Position) -> None:
    """(Re)build the position with a fresh person; only valid actions on the way."""
    app, lang, name = pos.app, pos.lang, pos.name
    pos.builds += 1
    pos.draft_id, pos.prompt = 0, None
    if name.startswith("officer_"):
        pos.user = pos.chat = pos.officer
        if pos.builds > 1:  # the officer's session is reset: out of any state
            await pos.officer.send("/cancel", expect=0)  # type: ignore[union-attr]
    elif name == "group_reason":
        worker = make_client(app, "vi")
        await register_client(worker, "vi")
        pos.draft_id = await walk_form(worker, "vi", "preview", app)
        await press_prefix(worker, f"v1f:s:{pos.draft_id}:")
        if any(b.get("callback_data", "").startswith("v1s:s:") for row in worker.last.buttons for b in row):
            await press_prefix(worker, "v1s:s:")  # a rebuilt position's initiative is like the last one: anyway
        pos.initiative = pos.draft_id
        group_view = pos.support.in_group(GROUP)  # type: ignore[union-attr]
        await settle(app)  # the card is posted through the outbox
        card, changes = next(
            (m, b)
            for m in reversed(group_view.history)
            if m.text.startswith("SK-")
            for row in m.buttons
            for b in row
            if b["text"].startswith("↩️")
        )
        await group_view.press(card, changes["callback_data"], expect=0)
        pos.prompt = group_view.last
        pos.user = pos.support
        pos.chat = group_view
    else:
        user = make_client(app, lang)
        pos.user = pos.chat = user
        if name in ("reg_language", "reg_phone"):
            # registration asks neither any more: the language and the phone are asked in /profile
            await register_client(user, lang)
            await user.send("/profile", expect=0)
            await press_prefix(user, "v1p:l" if name == "reg_language" else "v1p:p")
        elif name.startswith("reg_"):
            await user.send("/start", expect=0)
            await press_prefix(user, f"v1l:{lang}")  # the greeting's language button
            if name == "reg_unit":
                await user.send(user.last.button_texts()[0], expect=0)
        else:
            await register_client(user, lang)
            if name in FORM_STEPS or name == "preview":
                pos.draft_id = await walk_form(user, lang, name, app)
            elif name == "drafts":
                await user.send("/new", expect=0)
                pos.draft_id = await latest_draft(app, user)
                await user.send(DRAFT_TITLE, expect=0)
                await user.send("/cancel", expect=0)
                await user.send("/drafts", expect=0)
            elif name == "profile":
                await user.send("/profile", expect=0)
    await settle(app)
    pos.baseline = await snapshot(app)
    if name.startswith("reg_"):  # where /start really left the person (the language may be taken from Telegram)
        state = fsm_of(pos.baseline, pos.user.chat_id, pos.user.id)[0] or ""  # type: ignore[union-attr]
        pos.reg_step = "reg_" + state.split(":")[-1] if state.startswith("Reg:") else "idle"


async def open_position(name: str, lang: str, template_db: Path, tmp: Path) -> tuple[Position, FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    target = tmp / f"{name}-{lang}.db"
    shutil.copy(template_db, target)
    settings = make_settings(f"sqlite+aiosqlite:///{target}", fake, group_messages_per_minute=100_000)
    app = await build_app(fake, settings)
    pos = Position(name, lang, app, create_form(settings))
    await setup_common(pos)
    await build_position(pos)
    return pos, fake


async def close_position(pos: Position, fake: FakeTelegram) -> None:
    await close_app(pos.app)
    await fake.stop()


# -- one case ----------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    position: str
    lang: str
    input: Input
    problems: list[str]

    def line(self) -> str:
        return f"[{self.position}/{self.lang}] {self.input.label()}: " + "; ".join(self.problems)


async def settle(app: App, timeout: float = 10.0) -> None:
    """Wait until what the handlers committed to send (the outbox) has gone out: under load its background
    sender may have claimed an item before the handler's own flush, so delivery can end after the update."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            async with app.db.engine.connect() as c:
                waiting = (await c.execute(sql("SELECT count(*) FROM outbox WHERE done_at IS NULL AND "
                                               "(attempts = 0 OR claimed_until IS NOT NULL)"))).scalar()  # fmt: skip
        except Exception:  # no outbox in this version of the bot
            return
        if not waiting:
            return
        await asyncio.sleep(0.02)


def deliverable_pieces(pos: Position, item: Input) -> list[str]:
    """The texts this input arrives as at this position."""
    text = item.text
    if pos.name.startswith("officer_"):
        command = pos.name.removeprefix("officer_")
        text = f"/{command} {text}" if text else f"/{command}"
        if item.cls == "command":  # a command in place of the argument: sent as it is
            text = item.text
    pieces = split_like_telegram(text)
    if pos.name == "group_reason":
        pieces = pieces[:1]  # in a group only the first piece is a reply to the prompt; the bot sees no other
    return pieces


async def deliver(pos: Position, item: Input, pieces: list[str]) -> list[str]:
    """Send the input; returns the callback query ids it made."""
    chat = pos.chat
    assert chat is not None
    reply_to = pos.prompt
    kind = item.kind
    if kind == "text":
        for i, piece in enumerate(pieces):
            await chat.content(reply_to=reply_to if i == 0 else None, text=piece)
    elif kind == "edited":
        t = item.text
        if pos.name.startswith("officer_") and not t.startswith("/"):
            t = f"/{pos.name.removeprefix('officer_')} {t}"
        await chat.edit_last(t)
    elif kind in ("sticker", "voice", "location"):
        content = {"sticker": {"file_id": "STK", "file_unique_id": "USTK", "type": "regular", "width": 512,
                               "height": 512, "is_animated": False, "is_video": False},
                   "voice": {"file_id": "V", "file_unique_id": "UV", "duration": 3},
                   "location": {"latitude": 21.85, "longitude": 106.76}}[kind]  # fmt: skip
        await chat.content(reply_to=reply_to, **{kind: content})
    elif kind == "photo":
        sizes = [{"file_id": f"PHOTO-{w}", "file_unique_id": f"UP-{w}", "width": w, "height": w, "file_size": w * 100}
                 for w in (90, 800)]  # fmt: skip
        await chat.content(reply_to=reply_to, photo=sizes)
    elif kind == "document":
        doc = {"file_id": "DOC1", "file_unique_id": "UD1", "file_name": "ban-ve.pdf", "mime_type": "application/pdf",
               "file_size": 12345}  # fmt: skip
        await chat.content(reply_to=reply_to, document=doc)
    elif kind == "contact":
        own = bool(item.spec.get("own", True))
        contact = {"phone_number": "+84912345678", "first_name": chat.user["first_name"],
                   "user_id": chat.id if own else chat.id + 1}  # fmt: skip
        await chat.content(reply_to=reply_to, contact=contact)
    elif kind == "callback":
        data = item.spec["data"].format(**pos.placeholders())
        before = len(pos.app.fake.callback_answers)
        target = pos.prompt or (chat.history[-1] if chat.history else None)
        assert target is not None, "no bot message to press a button on"
        await chat.press(target, data, expect=0)
        return [a.get("callback_query_id", "") for a in pos.app.fake.callback_answers[before:]]
    else:
        raise AssertionError(f"unknown corpus kind {kind}")
    return []


def expected_form(pos: Position, before: dict[str, Any], item: Input, pieces: list[str]) -> dict[str, Any] | None:
    """The reference model: what the position's draft must hold after the input; None if no claim is made.

    A long answer needs no Done: a message shorter than ``PASTE_PIECE`` is the answer (joined to the pieces kept
    before it, if any); a longer one is likely a piece of a paste Telegram split, kept until a shorter one comes."""
    d = before["drafts"][pos.draft_id]
    state = FormState(answers=d["answers"], step=d["step"], pending=tuple(d["pending"]), editing=d["editing"])
    form, today = pos.form, datetime.now(TZ).date()
    if item.kind == "text":
        if item.text.startswith("/"):
            return {"answers": state.answers, "step": state.step, "pending": list(state.pending)}
        for piece in pieces:
            if state.step == PREVIEW:
                continue
            f = form[state.step]
            if f.kind is Kind.LONGTEXT:
                part = normalize(piece, multiline=True)
                if not has_words(part):
                    continue
                text = piece
                if state.pending or len(piece) >= PASTE_PIECE:
                    try:
                        with_part = form.add_part(state, part)
                    except FormError:  # over the limit: refused, the pieces before it kept
                        continue
                    if len(piece) >= PASTE_PIECE:  # a piece of a split paste: kept until the rest comes
                        state = with_part
                        continue
                    text = form.join_parts(with_part)  # the last piece
                try:
                    value = form.parse(f, text, today)
                except FormError:
                    continue
                state = form.set_answer(state, value)
            elif f.kind in (Kind.TEXT, Kind.DATE, Kind.MONEY, Kind.AUTHORS):
                try:
                    value = form.parse(f, piece, today)
                except FormError:
                    continue
                state = form.set_answer(state, value)
    elif item.kind in ("photo", "document"):
        return None  # checked separately: unchanged, or kept as one more file
    return {"answers": state.answers, "step": state.step, "pending": list(state.pending)}


def valid_name(text: str) -> str | None:
    try:
        return clean_answer(text, multiline=False, max_len=100, min_len=2)
    except FormError:
        return None


def officer_valid(command: str, args: str) -> bool:
    """Whether the arguments of an officer's command are acceptable (the README's grammar)."""
    words = args.split()
    if command in ("progress", "chart", "export"):
        return not words or (len(words) == 1 and words[0].upper() in SUBTREE)
    if command == "top":
        return not words or (len(words) == 1 and words[0].upper() in SUBTREE)  # no phase is loaded in these tests
    if command == "invite":
        days = words.pop() if words and words[-1].isdigit() else None
        ok_days = days is None or (days.isascii() and 1 <= int(days) <= 3650)
        return ok_days and (not words or (len(words) == 1 and words[0].upper() in SUBTREE))
    if command == "digest":
        return args.strip().lower() in ("on", "off")
    return False  # /history and /role: nothing in the corpus names a real initiative or person


async def check_case(pos: Position, item: Input, caplog: Any) -> Outcome:
    app, chat = pos.app, pos.chat
    assert chat is not None
    problems: list[str] = []
    before = pos.baseline
    chat_ids = {chat.chat_id}
    seen = {cid: {m.message_id: m.edits for m in app.fake.in_chat(cid)} for cid in chat_ids}
    errors_before, answers_before = len(app.fake.errors), len(app.fake.callback_answers)
    records_before = len(caplog.records)
    pieces = deliverable_pieces(pos, item) if item.kind == "text" else []
    try:
        await deliver(pos, item, pieces)
    except Exception as exc:  # the dispatcher let an exception escape
        problems.append(f"exception escaped the dispatcher: {exc!r}"[:300])
    await settle(app)
    # (a) replies
    replies: list[str] = []
    for cid in chat_ids:
        for m in app.fake.in_chat(cid):
            old = seen[cid].get(m.message_id)
            if old is None or m.edits > old:
                if m.kind == "text" and not m.text.strip():
                    problems.append("an empty reply")
                replies.append(m.text if m.kind == "text" or m.text.strip() else f"[{m.kind}]")
    alerts = [a.get("text", "") for a in app.fake.callback_answers[answers_before:]]
    said = [r for r in replies + alerts if r.strip()]
    if not said:
        what = "no reply message and no callback answer text" if item.kind == "callback" else "no reply"
        problems.append(what)
    # (b) language
    if pos.reg_step != "reg_language":
        typed = " ".join([item.text, *pieces])
        data = " ".join([WALK_DATA, typed, normalize(typed), normalize(typed, multiline=True)])
        for r in said:
            if r.startswith("Chọn ngôn ngữ / Choose your language"):
                continue
            issue = language_problem(r, pos.lang, data)
            if issue:
                problems.append(f"{issue} (reply {r[:80]!r})")
                break
    # (c) Bot API errors
    for method, description in app.fake.errors[errors_before:]:
        problems.append(f"Bot API 400 on {method}: {description[:90]}")
    # (d) logs and apologies
    for record in caplog.records[records_before:]:
        if record.levelno > logging.INFO and record.name.split(".")[0] in LOGGERS:
            exc = record.exc_info[1] if record.exc_info else None
            detail = f"{type(exc).__name__}: {exc}" if exc else record.getMessage()
            problems.append(f"log {record.levelname} {record.name}: {detail[:160]}")
    if any(s in r for r in said for s in SORRY):
        problems.append("the 'something went wrong' apology")
    # (e) what was stored
    pos.last_replies = said
    after = await snapshot(app)
    problems += stored_problems(pos, item, pieces, before, after)
    if after != before:
        await build_position(pos)
    return Outcome(pos.name, pos.lang, item, list(dict.fromkeys(problems)))


def stored_problems(pos: Position, item: Input, pieces: list[str], before: dict[str, Any],
                    after: dict[str, Any]) -> list[str]:  # fmt: skip
    out: list[str] = []
    user = pos.user
    assert user is not None
    is_command = item.kind == "text" and item.text.startswith("/") and not pos.name.startswith("officer_")
    if pos.name.startswith("officer_") and item.kind == "text" and item.cls == "command":
        is_command = True
    # other people's drafts never change; the position's own draft as the reference model says
    for did, old in before["drafts"].items():
        new = after["drafts"].get(did)
        if did == pos.draft_id:
            continue
        if new != old:
            out.append(f"someone else's initiative {did} changed: {diff(old, new)}")
    new_ids = set(after["drafts"]) - set(before["drafts"])
    if new_ids and not (is_command or (item.kind == "edited" and item.text.startswith("/"))):
        out.append(f"initiative(s) created: {sorted(new_ids)}")
    for uid, old in before["members"].items():
        if uid != user.id and after["members"].get(uid) != old:
            out.append(f"member {uid} changed: {diff(old, after['members'].get(uid))}")
    if pos.name in FORM_STEPS or pos.name == "preview":
        out += form_problems(pos, item, pieces, before, after)
    elif pos.name.startswith("reg_") and pos.reg_step != "idle":  # "idle": the flow registered them already
        out += registration_problems(pos, item, pieces, before, after, is_command)
    elif pos.name == "group_reason":
        out += reason_problems(pos, item, pieces, before, after)
    else:
        out += idle_problems(pos, item, pieces, before, after, is_command)
    return out


def diff(old: Any, new: Any) -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = [k for k in {*old, *new} if old.get(k) != new.get(k)]
        return ", ".join(f"{k}: {short(old.get(k))} → {short(new.get(k))}" for k in sorted(keys))
    return f"{short(old)} → {short(new)}"


def short(value: Any) -> str:
    s = json.dumps(value, ensure_ascii=False, default=str)
    return s if len(s) <= 70 else s[:60] + f"…({len(s)})"


def form_problems(pos: Position, item: Input, pieces: list[str], before: dict[str, Any],
                  after: dict[str, Any]) -> list[str]:  # fmt: skip
    out: list[str] = []
    old, new = before["drafts"][pos.draft_id], after["drafts"][pos.draft_id]
    got = {"answers": new["answers"], "step": new["step"], "pending": new["pending"]}
    expected = expected_form(pos, before, item, pieces)
    if expected is None:  # a photo or document: refused, or kept as exactly one more file (required at step 13)
        files_old, files_new = old["answers"].get("files", []), new["answers"].get("files", [])
        rest_old = {k: v for k, v in old["answers"].items() if k != "files"}
        rest_new = {k: v for k, v in new["answers"].items() if k != "files"}
        one_more = len(files_new) == len(files_old) + 1 and files_new[: len(files_old)] == files_old
        if rest_old != rest_new or new["step"] != old["step"] or new["pending"] != old["pending"]:
            out.append(f"a file changed the answers: {diff(old, new)}")
        elif old["step"] == "files" and not one_more:
            out.append(f"a file at the files step was not stored as one more file: {diff(old, new)}")
        elif files_new != files_old and not one_more:
            out.append(f"a file was stored wrongly: {diff(old, new)}")
    elif got != expected:
        valid = expected != {"answers": old["answers"], "step": old["step"], "pending": old["pending"]}
        if not valid:
            out.append(f"draft changed on invalid input: {diff(old, new)}")
        elif got == {"answers": old["answers"], "step": old["step"], "pending": old["pending"]}:
            out.append(f"valid input was not taken (expected {diff(old, expected)})")
        else:
            out.append(f"draft changed wrongly: got {diff(old, got)}; expected {diff(old, expected)}")
    if new["status"] != old["status"]:
        out.append(f"draft status changed: {old['status']} → {new['status']}")
    out += text_problems(new["answers"], "answers")
    out += text_problems(new["pending"], "pending")
    return out


def registration_problems(pos: Position, item: Input, pieces: list[str], before: dict[str, Any],
                          after: dict[str, Any], is_command: bool) -> list[str]:  # fmt: skip
    user = pos.user
    assert user is not None
    out: list[str] = []
    old_state, old_data = fsm_of(before, user.chat_id, user.id)
    new_state, new_data = fsm_of(after, user.chat_id, user.id)
    if user.id in before["members"]:  # a member at /profile's question: a command drops it and runs
        out += profile_question_problems(pos, item, pieces, before, after, is_command)
        if not is_command and new_data != old_data:
            out.append(f"conversation data changed: {short(old_data)} → {short(new_data)}")
        return out
    member = after["members"].get(user.id)
    valid_value: dict[str, Any] = {}
    if pos.reg_step == "reg_name" and item.kind == "text" and not is_command:
        for piece in pieces:
            name = valid_name(piece)
            if name is not None:
                valid_value = {"name": name}
                break
    if pos.reg_step == "reg_phone":
        skip = {"vi": "Bỏ qua", "en": "Skip"}[pos.lang]
        if item.kind == "contact" and item.spec.get("own", True):
            valid_value = {"phone": "+84912345678"}
        elif item.kind == "text" and item.text == skip:
            valid_value = {"phone": None}
    for key in set(old_data) | set(new_data):
        changed = key in new_data and new_data.get(key) != old_data.get(key)
        if changed and (key not in valid_value or valid_value[key] != new_data[key]):
            out.append(f"registration data {key} set to {short(new_data[key])} on invalid input")
    lost = sorted(k for k in old_data if k not in new_data)
    if lost and not is_command and not valid_value:
        out.append(f"registration data lost: {lost}")
    if member is not None and user.id not in before["members"]:
        if not valid_value or pos.reg_step != "reg_phone":
            out.append(f"member registered on invalid input: {short(member)}")
        elif member["unit"] not in after["units"]:
            out.append(f"member registered with a unit that does not exist: {member['unit']}")
    if valid_value and pos.reg_step == "reg_name" and new_data.get("name") != valid_value["name"] and not out:
        out.append(f"valid name not taken (expected {valid_value['name']!r})")
    if new_data.get("unit_id") is not None and new_data.get("unit_id") not in after["units"]:
        out.append(f"unit id {new_data['unit_id']} that does not exist stored in registration")
    del old_state, new_state
    out += text_problems(new_data, "registration")
    return out


def profile_question_problems(pos: Position, item: Input, pieces: list[str], before: dict[str, Any],
                              after: dict[str, Any], is_command: bool) -> list[str]:  # fmt: skip
    """The language and the phone are asked in /profile (registration asks neither): a member's profile changes
    only as a valid answer says, i.e. at the phone question by one's own contact, a Vietnamese number typed in a
    usual way, or the button that removes it; at the language question only by its buttons (none in the corpus)."""
    user = pos.user
    assert user is not None
    old = before["members"][user.id]
    expected = dict(old)
    if pos.reg_step == "reg_phone" and not is_command:
        if item.kind == "contact" and item.spec.get("own", True):
            expected["phone"] = "+84912345678"
        elif item.kind == "text":
            i18n = pos.app.dp["i18n"]
            removal = {i18n.gettext(label, locale=pos.lang) for label in ("Remove the number", "Skip")}
            for piece in pieces:  # an invalid piece is asked again; the first valid one is taken
                if piece in removal or parse_phone(piece) is not None:
                    expected["phone"] = None if piece in removal else parse_phone(piece)
                    break
    new = after["members"].get(user.id)
    if new == expected:
        return []
    if expected == old:
        return [f"profile changed on invalid input: {diff(old, new)}"]
    return [f"profile changed wrongly: got {diff(old, new)}; expected {diff(old, expected)}"]


def reason_problems(pos: Position, item: Input, pieces: list[str], before: dict[str, Any],
                    after: dict[str, Any]) -> list[str]:  # fmt: skip
    out: list[str] = []
    old, new = before["drafts"][pos.initiative], after["drafts"][pos.initiative]
    reason = None
    if item.kind == "text" and pieces and not item.text.startswith("/"):
        try:
            reason = clean_answer(pieces[0], multiline=True, max_len=1000)
        except FormError:
            reason = None
    if new["status"] != old["status"]:
        if reason is None:
            out.append(f"decision recorded on an invalid reason: {old['status']} → {new['status']}, "
                       f"reason {short(new['reason'])}")  # fmt: skip
        else:
            stored = new["reason"] or ""
            if re.sub(r"\s+", "", stored) != re.sub(r"\s+", "", reason):
                out.append(f"reason stored as {short(stored)}, expected {short(reason)}")
            out += text_problems(stored, "reason")
    elif new != old:
        out.append(f"initiative changed: {diff(old, new)}")
    return out


def idle_problems(pos: Position, item: Input, pieces: list[str], before: dict[str, Any],
                  after: dict[str, Any], is_command: bool) -> list[str]:  # fmt: skip
    user = pos.user
    assert user is not None
    out: list[str] = []
    me = (before["members"].get(user.id) or {}).get("id")
    own = [d for d in before["drafts"] if me is not None and before["drafts"][d]["author"] == me]
    for did in own:
        if after["drafts"].get(did) != before["drafts"][did]:
            out.append(f"own draft {did} changed: {diff(before['drafts'][did], after['drafts'].get(did))}")
    if (
        pos.draft_id
        and pos.draft_id not in own
        and after["drafts"].get(pos.draft_id) != before["drafts"].get(pos.draft_id)
    ):
        out.append(f"draft {pos.draft_id} changed")
    valid = False
    if pos.name.startswith("officer_") and item.kind == "text" and not is_command:
        command = pos.name.removeprefix("officer_")
        valid = officer_valid(command, " ".join(pieces)[len(command) + 1 :])
        if not valid and not any(f"/{command}" in r for r in pos.last_replies):
            out.append(f"bad arguments of /{command} not answered with its usage")
    old_member, new_member = before["members"].get(user.id), after["members"].get(user.id)
    if old_member != new_member and not (valid and pos.name == "officer_digest"):
        out.append(f"profile changed: {diff(old_member, new_member)}")
    if before["roles"] != after["roles"]:
        out.append(f"roles changed: {short(before['roles'])} → {short(after['roles'])}")
    if before["invites"] != after["invites"] and not (valid and pos.name == "officer_invite"):
        out.append(f"invite link created on bad arguments ({before['invites']} → {after['invites']})")
    return out
