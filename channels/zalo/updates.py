"""A Zalo update as the aiogram update a Telegram user would have caused, fed to the same dispatcher.

- Ids: the Zalo user and chat become addresses (``channels.addresses``); the update's key in the handled-update
  record is the channel, the bot and Zalo's message id, so a redelivered message has no second effect.
- A typed answer that names a choice of the chat's last list ("1", "bỏ qua", "gui duyet") becomes the press of
  that button: a callback query on the message that showed the list, checked by the handlers like any press.
- In a group, "xác nhận SK-000123" (or any other command of a card) becomes the press of that card's button, and
  the reason after a colon ("trả lại SK-000123: thiếu số liệu") the reply to the question the press asks. A
  message from someone the bot asked a question counts as the reply to it (Zalo has no replies). Other group
  chatter is not for the bot and is ignored.
- One chat's updates are translated and handled one at a time, in order: the list a typed answer is read against
  is the one the previous answer produced.
- In a private chat, a turn that moves the conversation to another step (its state changes) without showing a
  list forgets the list shown before: the bot asked something that offers no choices, so what is typed next
  ("1", a word of an old button) is the answer to it, not the press of a button of an earlier step. A turn that
  stays on its step keeps the list ("⚠️ Please answer in words", "✓ File received": the question above stands)."""

from __future__ import annotations

import asyncio
import re
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import Chat, Update, User

from channels.addresses import zalo_address
from channels.text import Menu, fold, match, match_command
from channels.zalo.menus import Menus
from channels.zalo.session import ZaloSession
from storage.channels import remember_address
from storage.db import Database
from storage.handled import Handling

# A typed word that stands for a control's label in the other language or in short.
ALIASES = {
    "back": "quay lai", "skip": "bo qua", "done": "xong", "submit": "gui duyet", "gui": "gui duyet",
    "luu": "luu thoat", "thoat": "luu thoat", "quay lai": "back", "bo qua": "skip", "xong": "done",
    "gui duyet": "submit for review",
}  # fmt: skip
NUMBER = re.compile(r"\bSK[\s-]?0*(\d{1,9})\b", re.IGNORECASE)
BARE_NUMBER = re.compile(r"\s*\d{1,3}\.?\s*")


class NotAnUpdate(ValueError):
    """The body is not a Zalo update."""


@dataclass(frozen=True)
class Incoming:
    ident: str  # Zalo's message id
    millis: int
    chat: Chat
    user: User
    event: str
    text: str | None
    photo_url: str | None
    sticker: str | None


def parse(raw: Any) -> Incoming:
    """The parts of a Zalo update the bot reads; raises NotAnUpdate."""
    body = raw.get("result", raw) if isinstance(raw, dict) else None
    message = body.get("message") if isinstance(body, dict) else None
    try:
        assert isinstance(body, dict) and isinstance(message, dict)
        chat, sender = message["chat"], message.get("from") or message["chat"]
        group = str(chat.get("chat_type", "PRIVATE")).upper() == "GROUP"
        chat_id, user_id = str(chat["id"]), str(sender["id"])
        millis = int(message.get("date") or 0)
        name = str(sender.get("display_name") or "").strip()[:64] or "Zalo"
        return Incoming(
            ident=str(message["message_id"]),
            millis=millis,
            chat=Chat(id=zalo_address(chat_id, group), type="group" if group else "private"),
            user=User(id=zalo_address(user_id), is_bot=bool(sender.get("is_bot")), first_name=name),
            event=str(body.get("event_name") or ""),
            text=message.get("text") if isinstance(message.get("text"), str) else None,
            photo_url=message.get("photo_url") if isinstance(message.get("photo_url"), str) else None,
            sticker=str(message["sticker"]) if message.get("sticker") else None,
        )
    except (AssertionError, KeyError, TypeError, ValueError) as exc:
        raise NotAnUpdate(f"not a Zalo update: {type(exc).__name__}") from None


def chat_key(raw: Any) -> str:
    """The chat an update belongs to, as Zalo names it (for keeping one chat's updates in order)."""
    message = (raw.get("result", raw) if isinstance(raw, dict) else {}).get("message") or {}
    return str((message.get("chat") or {}).get("id", ""))


def external_ids(raw: Any) -> tuple[tuple[int, str], ...]:
    """The (address, Zalo id) pairs an update introduces: its chat, and its sender when that is another id."""
    message = (raw.get("result", raw) if isinstance(raw, dict) else {}).get("message", {})
    chat, sender = message["chat"], message.get("from") or message["chat"]
    group = str(chat.get("chat_type", "PRIVATE")).upper() == "GROUP"
    pairs = {
        (zalo_address(str(chat["id"]), group), str(chat["id"])),
        (zalo_address(str(sender["id"])), str(sender["id"])),
    }
    return tuple(sorted(pairs))


class Inbound:
    def __init__(self, dp: Dispatcher, bot: Bot, db: Database, menus: Menus) -> None:
        assert isinstance(bot.session, ZaloSession)
        self.dp, self.bot, self.db, self.menus, self.session = dp, bot, db, menus, bot.session
        self.source = f"zalo:{bot.id}"
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self._known: set[int] = set()  # addresses whose Zalo id is recorded

    @asynccontextmanager
    async def _chat_turn(self, chat_id: int) -> AsyncIterator[None]:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._waiting[chat_id] = self._waiting.get(chat_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[chat_id] -= 1
            if not self._waiting[chat_id]:
                del self._waiting[chat_id], self._locks[chat_id]

    def key(self, raw: Any) -> str:
        return f"{self.source}:{parse(raw).ident}"

    async def feed(self, raw: Any, **data: Any) -> Any:
        """Handle one Zalo update (raises NotAnUpdate); returns the dispatcher's last response."""
        incoming = parse(raw)
        for address, external in external_ids(raw):
            if address not in self._known:  # the mapping never changes: once per process is enough
                await remember_address(self.db, address, "zalo", external)
                self._known.add(address)
        async with self._chat_turn(incoming.chat.id):
            if incoming.chat.type != "private":
                return await self._handle(incoming, data)
            state = await self.dp.storage.get_state(self._state_key(incoming))
            menu, shown = await self.menus.load(incoming.chat.id), self.session.lists_shown(incoming.chat.id)
            result = await self._handle(incoming, data, menu)
            await self._forget_stale_list(incoming, state, menu, shown)
            return result

    def _state_key(self, incoming: Incoming) -> StorageKey:
        return StorageKey(bot_id=self.bot.id, chat_id=incoming.chat.id, user_id=incoming.user.id)

    async def _forget_stale_list(self, incoming: Incoming, state: str | None, menu: Menu | None, shown: int) -> None:
        """After a private chat's turn: the list shown before is forgotten when the turn moved the conversation
        to another step and showed no list of its own (nor did another worker meanwhile)."""
        if menu is None or self.session.lists_shown(incoming.chat.id) != shown:
            return
        if await self.dp.storage.get_state(self._state_key(incoming)) == state:
            return
        if await self.menus.load(incoming.chat.id) == menu:
            await self.menus.clear(incoming.chat.id)

    async def _feed(self, incoming: Incoming, update: Update, data: dict[str, Any], part: int = 0) -> Any:
        ident = incoming.ident if not part else f"{incoming.ident}:{part}"
        handling = Handling(self.source, ident, incoming.millis or None)
        return await self.dp.feed_update(self.bot, update, handling=handling, **data)

    async def _handle(self, incoming: Incoming, data: dict[str, Any], menu: Menu | None = None) -> Any:
        """``menu``: a private chat's list, as it stood when the turn began."""
        text = incoming.text if incoming.event.endswith("text.received") or incoming.text else None
        if text is None or text.startswith("/"):
            return await self._feed(incoming, self._message(incoming), data)
        handled, result = await self._card_command(incoming, text, data)
        if handled:
            return result
        if incoming.chat.type == "private":
            choice = match(text, menu.choices, ALIASES) if menu else None
            if menu is not None and choice is not None and choice.callback_data:
                return await self._feed(incoming, self._press(incoming, menu, choice.callback_data), data)
            prompt = await self._prompt(incoming) if choice is None else None
            typed = choice.text if choice is not None and choice.text else None
            return await self._feed(incoming, self._message(incoming, typed, reply_to=prompt), data)
        return await self._group_text(incoming, text, data)

    async def _card_command(self, incoming: Incoming, text: str, data: dict[str, Any]) -> tuple[bool, Any]:
        """A command of a card shown in this chat ("xác nhận SK-000123") handled as that card's button: (True, the
        dispatcher's response); (False, None) when the text is not one."""
        found = NUMBER.search(text)
        card = await self.menus.load(incoming.chat.id, int(found.group(1))) if found else None
        command = match_command(text, {fold(c.label): str(i) for i, c in enumerate(card.choices)}) if card else None
        if card is None or command is None:
            return False, None
        index, _number, reason = command
        pressed = card.choices[int(index)].callback_data or ""
        if reason:
            with self.session.answered(incoming.chat.id):
                result = await self._feed(incoming, self._press(incoming, card, pressed), data)
        else:
            result = await self._feed(incoming, self._press(incoming, card, pressed), data)
        prompt = await self._prompt(incoming) if reason else None
        if prompt is None:
            return True, result
        return True, await self._feed(incoming, self._message(incoming, reason, reply_to=prompt), data, part=1)

    async def _group_text(self, incoming: Incoming, text: str, data: dict[str, Any]) -> Any:
        if (prompt := await self._prompt(incoming)) is not None:
            return await self._feed(incoming, self._message(incoming, reply_to=prompt), data)
        menu = await self.menus.load(incoming.chat.id) if BARE_NUMBER.fullmatch(text) else None
        choice = match(text, menu.choices) if menu else None
        if menu is not None and choice is not None and choice.callback_data:
            return await self._feed(incoming, self._press(incoming, menu, choice.callback_data), data)
        return UNHANDLED  # group chatter, not addressed to the bot

    async def _prompt(self, incoming: Incoming) -> int | None:
        """The question this person was asked in this chat and has not answered yet, if any."""
        prompt = (await self.dp.storage.get_data(self._state_key(incoming))).get("prompt")
        return int(prompt) if isinstance(prompt, int) else None

    def _when(self, incoming: Incoming) -> datetime:
        return datetime.fromtimestamp(incoming.millis / 1000, UTC) if incoming.millis else datetime.now(UTC)

    def _id(self, incoming: Incoming) -> int:
        return zlib.crc32(incoming.ident.encode()) & 0x7FFFFFFF

    def _from(self, incoming: Incoming) -> dict[str, Any]:
        user = incoming.user
        return {"id": user.id, "is_bot": user.is_bot, "first_name": user.first_name}

    def _chat(self, incoming: Incoming) -> dict[str, Any]:
        if incoming.chat.type == "private":  # a private chat carries the person's name, as Telegram's does
            return {"id": incoming.chat.id, "type": "private", "first_name": incoming.user.first_name}
        return {"id": incoming.chat.id, "type": incoming.chat.type}

    def _update(self, incoming: Incoming, **content: Any) -> Update:
        """An update parsed with the bot in context, as aiogram parses Telegram's, so ``message.answer`` works."""
        return Update.model_validate({"update_id": incoming.millis, **content}, context={"bot": self.bot})

    def _message(self, incoming: Incoming, text: str | None = None, reply_to: int | None = None) -> Update:
        when = int(self._when(incoming).timestamp())
        content: dict[str, Any] = {}
        if incoming.photo_url:
            unique = f"{zlib.crc32(incoming.photo_url.encode()):08x}"
            content["photo"] = [{"file_id": incoming.photo_url, "file_unique_id": unique, "width": 0, "height": 0}]
            if text or incoming.text:
                content["caption"] = text or incoming.text
        elif incoming.sticker:
            content["sticker"] = {"file_id": incoming.sticker, "file_unique_id": incoming.sticker[:64],
                                  "type": "regular", "width": 0, "height": 0, "is_animated": False,
                                  "is_video": False}  # fmt: skip
        elif text is not None or incoming.text is not None:
            content["text"] = text if text is not None else incoming.text
        if reply_to is not None:
            content["reply_to_message"] = {"message_id": reply_to, "date": when, "chat": self._chat(incoming)}
        message = {"message_id": self._id(incoming), "date": when, "chat": self._chat(incoming),
                   "from": self._from(incoming), **content}  # fmt: skip
        return self._update(incoming, message=message)

    def _press(self, incoming: Incoming, menu: Menu, data: str) -> Update:
        query_id = f"zalo-{incoming.ident}"
        self.session.expect_callback(query_id, incoming.chat.id)
        shown = {"message_id": menu.message_id, "date": int(self._when(incoming).timestamp()),
                 "chat": self._chat(incoming), "from": {"id": self.bot.id, "is_bot": True, "first_name": "Zalo bot"},
                 "text": ""}  # fmt: skip
        query = {"id": query_id, "from": self._from(incoming), "chat_instance": str(incoming.chat.id),
                 "message": shown, "data": data}  # fmt: skip
        return self._update(incoming, callback_query=query)
