"""Helpers for the replay and race tests: delivering an update more than once, pressing a button with a known
query id, waiting for the outbox, and reading rows and fingerprints back from the database."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections import Counter
from typing import Any

from aiogram.types import Update
from sqlalchemy import text

from tests.conftest import App
from tests.fake_telegram import Sent
from tests.tgclient import TgUser

MODES = ("once", "one-after-another", "at-once")
_query_ids = itertools.count(7_000_001)
NUMBER = re.compile(r"SK-\d{6}")


class Replay:
    """An ``App.deliver`` that feeds every update (one update_id, one Update object) once, twice one after the
    other, or twice at the same moment, as a redelivering platform or two workers would."""

    def __init__(self, app: App, mode: str) -> None:
        assert mode in MODES, mode
        self.app, self.mode = app, mode
        self.updates = 0  # how many distinct updates were fed (each once or twice)

    async def __call__(self, update: dict[str, Any], user: TgUser, expect: int) -> None:
        full = {"update_id": self.app.fake.next_update_id(), **update}
        obj = Update.model_validate(full, context={"bot": self.app.bot})
        feed = self.app.dp.feed_update
        self.updates += 1
        if self.mode == "once":
            await feed(self.app.bot, obj)
        elif self.mode == "one-after-another":
            await feed(self.app.bot, obj)
            await feed(self.app.bot, obj)
        else:
            await asyncio.gather(feed(self.app.bot, obj), feed(self.app.bot, obj))


def replaying(user: TgUser, app: App, mode: str) -> TgUser:
    """The same person, every update of theirs delivered per ``mode``."""
    user.deliver = Replay(app, mode)
    return user


async def press(user: TgUser, message: Sent, data: str) -> str:
    """Press a button carrying ``data`` on ``message``; returns the callback query's id."""
    qid = f"rq{next(_query_ids)}"
    query = {
        "id": qid,
        "from": user.user,
        "chat_instance": f"ci{user.id}",
        "message": user.fake.message_json(message),
        "data": data,
    }
    await user.deliver({"callback_query": query}, user, 0)
    return qid


def answers_to(app: App, qid: str) -> list[dict[str, Any]]:
    return [a for a in app.fake.callback_answers if a.get("callback_query_id") == qid]


def button_data(message: Sent, label: str) -> str:
    for row in message.buttons:
        for b in row:
            if b["text"] == label or b["text"].endswith(" " + label):
                return str(b["callback_data"])
    raise AssertionError(f"no button {label!r} on {message.text[:80]!r}: {message.button_texts()}")


async def rows(app: App, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    async with app.db.read_engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]


async def scalar(app: App, sql: str, **params: Any) -> Any:
    found = await rows(app, sql, **params)
    return found[0][0] if found else None


async def settle(app: App, timeout: float = 10.0) -> None:
    """Wait until everything committed to the outbox was delivered (the handler's flush or the sender's loop)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        await app.dp["outbox"].flush()
        if not await scalar(app, "SELECT count(*) FROM outbox WHERE done_at IS NULL"):
            return
        if loop.time() > deadline:
            return
        await asyncio.sleep(0.02)


def norm(value: str) -> str:
    return NUMBER.sub("SK-N", value)


def chat_transcript(app: App, chat_id: int) -> list[tuple[str, tuple[str, ...]]]:
    """What a chat shows: every bot message's text (numbers normalised) and its buttons, in order."""
    return [(norm(m.text), tuple(m.button_texts())) for m in app.fake.in_chat(chat_id)]


INITIATIVE_COLUMNS = (
    "status, number, answers, step, pending, editing, title, solution_type, field_of_work, applied_on, "
    "benefit_per_year, has_social_benefit, review_round, submitted_answers, taken_by_id, decided_by_id, "
    "decision_reason, updated_at"
)


async def initiative_row(app: App, iid: int) -> tuple[Any, ...]:
    found = await rows(app, f"SELECT {INITIATIVE_COLUMNS} FROM initiative WHERE id = :i", i=iid)
    return found[0] if found else ()


async def fingerprint(app: App, iid: int) -> dict[str, Any]:
    """Everything a press on this initiative's buttons could change."""
    return {
        "initiative": await initiative_row(app, iid),
        "events": await rows(app, "SELECT kind FROM event WHERE initiative_id = :i ORDER BY id", i=iid),
        "all events": await scalar(app, "SELECT count(*) FROM event"),
        "initiatives": await scalar(app, "SELECT count(*) FROM initiative"),
        "outbox": await scalar(app, "SELECT count(*) FROM outbox"),
        "cards": await rows(app, "SELECT chat_id, message_id, round FROM review_card WHERE initiative_id = :i", i=iid),
    }


def messages_fingerprint(app: App) -> dict[int, list[tuple[int, str, tuple[str, ...]]]]:
    return {
        chat: [(m.message_id, m.text, tuple(m.button_texts())) for m in app.fake.in_chat(chat)]
        for chat in app.fake.messages
    }


def diff(before: dict[Any, Any], after: dict[Any, Any]) -> dict[Any, tuple[Any, Any]]:
    return {k: (before.get(k), after.get(k)) for k in set(before) | set(after) if before.get(k) != after.get(k)}


async def stored_work(app: App, tg_user_id: int) -> dict[str, Any]:
    """A worker's registration and initiatives as stored, without ids and times, for comparing two runs."""
    member = await rows(
        app, "SELECT id, full_name, language, unit_id, phone FROM member WHERE tg_user_id = :t", t=tg_user_id
    )
    assert member, f"user {tg_user_id} is not registered"
    mid = member[0][0]
    items = await rows(
        app,
        "SELECT id, status, number, answers, step, pending, editing, title, solution_type, field_of_work, "
        "applied_on, benefit_per_year, has_social_benefit, review_round, submitted_answers "
        "FROM initiative WHERE author_id = :m ORDER BY id",
        m=mid,
    )
    ids = [r[0] for r in items]
    initiatives = []
    for r in items:
        initiatives.append(
            {
                "status": r[1],
                "number": norm(r[2]) if r[2] else None,
                "answers": json.loads(r[3]),
                "step": r[4],
                "pending": json.loads(r[5]),
                "editing": bool(r[6]),
                "summary": (r[7], r[8], r[9], str(r[10]), r[11], bool(r[12])),
                "round": r[13],
                "submitted": json.loads(r[14]) if r[14] else None,
                "authors": await rows(
                    app,
                    "SELECT position, full_name, share, member_id IS NOT NULL FROM author "
                    "WHERE initiative_id = :i ORDER BY position",
                    i=r[0],
                ),
                "files": await rows(
                    app,
                    "SELECT kind, file_id, file_unique_id, file_name, mime_type, size "
                    "FROM attachment WHERE initiative_id = :i ORDER BY id",
                    i=r[0],
                ),
                "cards": await scalar(app, "SELECT count(*) FROM review_card WHERE initiative_id = :i", i=r[0]),
                "events": Counter(
                    k for (k,) in await rows(app, "SELECT kind FROM event WHERE initiative_id = :i", i=r[0])
                ),
                "outbox": Counter(
                    kind
                    for kind, payload in await rows(app, "SELECT kind, payload FROM outbox")
                    if json.loads(payload).get("iid") == r[0]
                ),
            }
        )
    own_events = await rows(
        app, "SELECT kind FROM event WHERE member_id = :m AND initiative_id IS NULL ORDER BY id", m=mid
    )
    return {
        "member": member[0][1:],
        "member events": [k for (k,) in own_events],
        "initiatives": initiatives,
        "ids": ids,
    }


# -- a worker filling the form, driven by what is stored rather than by button labels ------------------------
PREVIEW = "preview"


def find(user: TgUser, predicate: Any, message: Sent | None = None) -> tuple[Sent, str] | None:
    """The newest message in the user's chat (or ``message``) with a button whose callback data passes."""
    for m in [message] if message is not None else reversed(user.history):
        for row in m.buttons:
            for b in row:
                data = b.get("callback_data")
                if data is not None and predicate(data):
                    return m, str(data)
    return None


class Walker:
    """Fills the form for ``user`` from a plan {field key: answer}, asking the database which step the draft is
    at and pressing buttons by their callback data, so it follows the form whatever its labels and order.

    Answers: text for text, date, money and authors steps; a list of pieces for long texts; a choice's key;
    a list of "photo"/"document" for files; None to skip an optional step the walk asks."""

    def __init__(self, app: App, user: TgUser) -> None:
        self.app, self.user, self.form = app, user, app.dp["form"]
        self.draft = 0

    async def newest_draft(self) -> int:
        return int(
            await scalar(
                self.app,
                "SELECT i.id FROM initiative i JOIN member m ON m.id = i.author_id "
                "WHERE m.tg_user_id = :t ORDER BY i.id DESC",
                t=self.user.id,
            )
        )

    async def step(self) -> str:
        return str(await scalar(self.app, "SELECT step FROM initiative WHERE id = :i", i=self.draft))

    async def answers(self) -> dict[str, Any]:
        return dict(json.loads(await scalar(self.app, "SELECT answers FROM initiative WHERE id = :i", i=self.draft)))

    async def pending(self) -> list[str]:
        return list(json.loads(await scalar(self.app, "SELECT pending FROM initiative WHERE id = :i", i=self.draft)))

    def has(self, data: str) -> bool:
        return find(self.user, lambda d: d == data) is not None

    async def tap(self, prefix: str) -> None:
        found = find(self.user, lambda d: d == prefix or d.startswith(prefix + ":"))
        if found is None:
            raise AssertionError(
                f"no button {prefix}…; last message {self.user.last.text[:300]!r} "
                f"{[b.get('callback_data') for row in self.user.last.buttons for b in row]}"
            )
        await self.user.press(*found)

    def nav(self, action: str, step: int | None = None, value: int | None = None) -> str:
        parts = ["v1f", action, str(self.draft)]
        if step is not None:
            parts.append(str(step))
            if value is not None:
                parts.append(str(value))
        return ":".join(parts)

    async def answer(self, key: str, value: Any) -> None:
        f = self.form[key]
        index, kind = self.form.index(key), f.kind.name
        if value is None:
            await self.tap(self.nav("k", index))  # Skip
        elif kind == "CHOICE":
            choice = [c.key for c in f.choices].index(value)
            await self.tap(self.nav("o", index, choice))
        elif kind == "LONGTEXT":
            for piece in value:
                if await self.step() != key:
                    break  # the form took the previous piece as the whole answer
                await self.user.send(piece)
            if await self.step() == key and await self.pending():
                await self.tap(self.nav("d", index))
        elif kind == "FILES":
            for item in value:
                await (self.user.send_photo() if item == "photo" else self.user.send_document())
            await self.tap(self.nav("d", index))
        else:
            await self.user.send(value)

    async def start(self) -> None:
        await self.user.send("/new")
        self.draft = await self.newest_draft()

    async def fill(self, plan: dict[str, Any], *, detour: bool = False) -> None:
        """From /new to the preview with every answer of ``plan`` given; ``detour``: Back and Keep on the way."""
        await self.start()
        detoured = not detour
        for _ in range(4 * len(plan)):
            step = await self.step()
            if step == PREVIEW:
                break
            if not detoured and step != self.form.fields[0].key:
                await self.tap(self.nav("b"))  # Back to the first step ...
                await self.tap(self.nav("k", 0))  # ... and keep its answer
                detoured = True
                continue
            await self.answer(step, plan[step])
        else:
            raise AssertionError(f"the form did not reach the preview; at {await self.step()}")
        answers = await self.answers()
        for key, value in plan.items():  # optional parts the walk did not ask: added from the preview
            if value is not None and key not in answers:
                await self.edit(key, value)

    async def edit(self, key: str, value: Any) -> None:
        """From the preview: the field's ✏️ (shown after "Edit" when the preview hides it), then the answer."""
        data = f"v1f:e:{self.draft}:-1:{self.form.index(key)}"
        if not self.has(data):
            await self.tap(self.nav("m", -1, 2))
        found = find(self.user, lambda d: d == data)
        assert found is not None, f"no edit button for {key}"
        await self.user.press(*found)
        await self.answer(key, value)
        assert await self.step() == PREVIEW, f"after editing {key} the form is at {await self.step()}"

    async def submit(self) -> None:
        """Submit; when the bot first lists similar initiatives (one was submitted before), submit anyway."""
        await self.tap(self.nav("s", -1))
        anyway = f"v1s:s:{self.draft}:"
        if find(self.user, lambda d: d.startswith(anyway), self.user.last) is not None:
            await self.tap(anyway[:-1])
