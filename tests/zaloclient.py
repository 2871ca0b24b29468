"""A simulated Zalo user: writes to the bot through the fake platform (privately, or in a group) and returns
what the bot sent back into that chat."""

from __future__ import annotations

import re
from typing import Any

from tests.fake_zalo import DEFAULT_PHOTO_URL, DEFAULT_STICKER, FakeZalo, Sent

DEFAULT_TIMEOUT = 15.0
_CHOICE = re.compile(r"^\s*(\d+)\.\s+(.+)$", re.MULTILINE)


def choices(sent: Sent | str) -> list[str]:
    """The labels of a numbered list in a bot message ("1. Đồng ý" lines), in order."""
    text = sent if isinstance(sent, str) else sent.body
    return [m[2].strip() for m in _CHOICE.finditer(text)]


def numbered(sent: Sent | str) -> dict[str, str]:
    """Label -> the number to answer to choose it."""
    text = sent if isinstance(sent, str) else sent.body
    return {m[2].strip(): m[1] for m in _CHOICE.finditer(text)}


class ZaloUser:
    def __init__(
        self, fake: FakeZalo, user_id: str | None = None, name: str = "Nguyễn Văn An", chat: str | None = None
    ) -> None:
        """A person; ``chat`` is a group id when they write in that group (the group is added if new)."""
        self.fake, self.name = fake, name
        self.id = fake.add_user(user_id, name)
        if chat is not None and chat not in fake.groups:
            fake.add_group(chat)
        self.group = chat
        self.chat_id = chat if chat is not None else self.id
        self.last_update: dict[str, Any] | None = None  # the last update this user sent, for redelivery tests

    # -- what the user sees ------------------------------------------------------------------------------
    @property
    def history(self) -> list[Sent]:
        return self.fake.in_chat(self.chat_id)

    @property
    def last(self) -> Sent:
        history = self.history
        if not history:
            raise AssertionError(f"the bot has sent nothing in chat {self.chat_id}")
        return history[-1]

    @property
    def _sender(self) -> str | None:
        """The sender to name in a group; in a private chat the chat id is the sender."""
        return self.id if self.group is not None else None

    def _last_seq(self) -> int:
        history = self.history
        return history[-1].seq if history else 0

    def _since(self, seq: int) -> list[Sent]:
        return [s for s in self.history if s.seq > seq]

    # -- what the user does ------------------------------------------------------------------------------
    async def _send(self, update: dict[str, Any], expect: int, timeout: float) -> list[Sent]:
        """Push ``update``; wait for ``expect`` new bot messages in this chat (for expect=0: until the bot took
        the update) and return everything the bot sent in this chat since."""
        seq = self._last_seq()
        self.last_update = update
        if expect <= 0:
            await self.fake.deliver(update, timeout)
            return self._since(seq)
        self.fake.push(update)
        try:
            await self.fake.wait_for(lambda: len(self._since(seq)) >= expect, timeout)
        except TimeoutError:
            got = [s.body or s.kind for s in self._since(seq)]
            raise AssertionError(
                f"expected {expect} bot message(s) in chat {self.chat_id} within {timeout}s, got {len(got)}: {got}"
            ) from None
        return self._since(seq)

    def in_group(self, group_id: str) -> ZaloUser:
        """The same person, writing in a group chat."""
        return ZaloUser(self.fake, self.id, self.name, chat=group_id)

    async def send(self, text: str, expect: int = 1, timeout: float = DEFAULT_TIMEOUT) -> list[Sent]:
        return await self._send(self.fake.text_update(self.chat_id, text, self._sender), expect, timeout)

    async def send_photo(
        self,
        url: str = DEFAULT_PHOTO_URL,
        caption: str | None = None,
        expect: int = 1,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> list[Sent]:
        update = self.fake.image_update(self.chat_id, url, caption, self._sender)
        return await self._send(update, expect, timeout)

    async def send_sticker(
        self, sticker: str = DEFAULT_STICKER, expect: int = 1, timeout: float = DEFAULT_TIMEOUT
    ) -> list[Sent]:
        return await self._send(self.fake.sticker_update(self.chat_id, sticker, self._sender), expect, timeout)

    async def send_unsupported(self, expect: int = 1, timeout: float = DEFAULT_TIMEOUT) -> list[Sent]:
        return await self._send(self.fake.unsupported_update(self.chat_id, self._sender), expect, timeout)

    async def choose(
        self, label: str, message: Sent | None = None, expect: int = 1, timeout: float = DEFAULT_TIMEOUT
    ) -> list[Sent]:
        """Answer the number of ``label`` in the numbered list of ``message`` (or the newest message listing it)."""
        candidates = [message] if message is not None else list(reversed(self.history))
        for sent in candidates:
            if label in (options := numbered(sent)):
                return await self.send(options[label], expect, timeout)
        raise AssertionError(f"no choice {label!r}; last message: {self.last.body!r}")
