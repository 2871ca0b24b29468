"""A simulated Telegram user: sends messages and presses buttons, returns what the bot sent back.

``deliver`` either feeds the update to the dispatcher in-process (flow tests), or queues it on the fake
server for the real ``sangkien`` process and waits for the expected replies (end-to-end tests)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tests.fake_telegram import FakeTelegram, Sent

Deliver = Callable[[dict[str, Any], "TgUser", int], Awaitable[None]]
_query_ids = itertools.count(1)


class TgUser:
    def __init__(
        self,
        fake: FakeTelegram,
        deliver: Deliver,
        user_id: int,
        first_name: str = "An",
        last_name: str | None = "Nguyễn Văn",
        language_code: str = "vi",
        username: str | None = None,
        chat: dict[str, Any] | None = None,
    ) -> None:
        self.fake, self.deliver, self.id = fake, deliver, user_id
        self.user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language_code}
        if username:
            self.user["username"] = username
        self.chat: dict[str, Any] = chat or {"id": user_id, "type": "private", "first_name": first_name}
        if username and chat is None:
            self.chat["username"] = username
        if last_name:
            self.user["last_name"] = last_name
            if chat is None:
                self.chat["last_name"] = last_name
        fake.add_chat(self.chat)
        self.chat_id = int(self.chat["id"])
        self._message_ids = itertools.count(1)

    # -- what the user sees ------------------------------------------------------------------------------
    @property
    def history(self) -> list[Sent]:
        return self.fake.in_chat(self.chat_id)

    @property
    def last(self) -> Sent:
        return self.history[-1]

    def _since(self, last_id: int) -> list[Sent]:
        return [m for m in self.history if m.message_id > last_id]

    def _last_id(self) -> int:
        history = self.history
        return history[-1].message_id if history else 0

    @property
    def alerts(self) -> list[str]:
        return [a.get("text", "") for a in self.fake.callback_answers if a.get("text")]

    # -- what the user does ------------------------------------------------------------------------------
    async def _message(self, expect: int, **content: Any) -> list[Sent]:
        last_id = self._last_id()
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat,
            "from": self.user,
            **content,
        }
        await self.deliver({"message": message}, self, expect)
        return self._since(last_id)

    def in_group(self, group: dict[str, Any]) -> TgUser:
        """The same person, writing in a group chat."""
        return TgUser(
            self.fake,
            self.deliver,
            self.id,
            self.user["first_name"],
            self.user.get("last_name"),
            self.user["language_code"],
            self.user.get("username"),
            chat=group,
        )

    async def send(self, text: str, expect: int = 1, reply_to: Sent | TgUser | None = None) -> list[Sent]:
        """Send a text; ``reply_to`` is a bot message, or another person (a reply to something they wrote)."""
        content: dict[str, Any] = {"text": text}
        if isinstance(reply_to, TgUser):
            content["reply_to_message"] = {"message_id": 1, "date": int(time.time()), "chat": self.chat,
                                           "from": reply_to.user, "text": "…"}  # fmt: skip
        elif reply_to is not None:
            content["reply_to_message"] = self.fake.message_json(reply_to)
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return await self._message(expect, **content)

    async def send_contact(self, phone: str, own: bool = True, expect: int = 1) -> list[Sent]:
        contact = {
            "phone_number": phone,
            "first_name": self.user["first_name"],
            "user_id": self.id if own else self.id + 1,
        }
        return await self._message(expect, contact=contact)

    async def send_photo(self, expect: int = 1, *, content: bytes | None = None) -> list[Sent]:
        """A photo in two sizes; with ``content`` the bot may download the larger one."""
        n = next(self._message_ids)
        sizes = [
            {"file_id": f"PHOTO{n}-{w}", "file_unique_id": f"UP{n}-{w}", "width": w, "height": w, "file_size": w * 100}
            for w in (90, 800)
        ]
        if content is not None:
            self.fake.files[sizes[-1]["file_id"]] = content
            sizes[-1]["file_size"] = len(content)
        return await self._message(expect, photo=sizes)

    async def send_document(self, name: str = "ban-ve.pdf", expect: int = 1, *, content: bytes | None = None,
                            caption: str | None = None) -> list[Sent]:  # fmt: skip
        """A document; with ``content`` the bot may download it; a ``caption`` such as ``/recognise`` is a command."""
        n = next(self._message_ids)
        doc = {
            "file_id": f"DOC{n}",
            "file_unique_id": f"UD{n}",
            "file_name": name,
            "mime_type": "application/pdf",
            "file_size": 12345 if content is None else len(content),
        }
        extra: dict[str, Any] = {}
        if content is not None:
            self.fake.files[doc["file_id"]] = content
        if caption is not None:
            extra["caption"] = caption
            if caption.startswith("/"):
                extra["caption_entities"] = [{"type": "bot_command", "offset": 0, "length": len(caption.split()[0])}]
        return await self._message(expect, document=doc, **extra)

    async def send_sticker(self, expect: int = 1) -> list[Sent]:
        sticker = {
            "file_id": "STK",
            "file_unique_id": "USTK",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return await self._message(expect, sticker=sticker)

    async def send_voice(self, expect: int = 1) -> list[Sent]:
        return await self._message(expect, voice={"file_id": "V", "file_unique_id": "UV", "duration": 3})

    async def send_location(self, expect: int = 1) -> list[Sent]:
        return await self._message(expect, location={"latitude": 21.85, "longitude": 106.76})

    def find_button(self, text: str, message: Sent | None = None) -> tuple[Sent, dict[str, Any]]:
        candidates = [message] if message else reversed(self.history)
        for m in candidates:
            for row in m.buttons:
                for button in row:
                    if button["text"] == text or button["text"].endswith(" " + text):
                        return m, button
        raise AssertionError(f"no button {text!r}; last message: {self.last.text!r} {self.last.button_texts()}")

    async def click(self, text: str, message: Sent | None = None, expect: int = 1) -> list[Sent]:
        """Press an inline button (found by its label) on ``message`` or the newest message that has it."""
        m, button = self.find_button(text, message)
        if "callback_data" not in button:  # a reply-keyboard button sends its text
            return await self.send(button["text"], expect)
        return await self.press(m, button["callback_data"], expect)

    async def press(self, message: Sent, data: str, expect: int = 1) -> list[Sent]:
        last_id = self._last_id()
        query = {
            "id": str(next(_query_ids)),
            "from": self.user,
            "chat_instance": f"ci{self.id}",
            "message": self.fake.message_json(message),
            "data": data,
        }
        await self.deliver({"callback_query": query}, self, expect)
        return self._since(last_id)
