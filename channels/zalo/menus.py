"""The choices a chat was last shown, so that what a person types next can be read as one of them.

Kept in the conversation-state storage (Redis or the database), so any worker reads what another showed and a
restart forgets nothing. A private chat has one menu, its latest; in a group every review card has its own,
named by the initiative (``ref``), because several cards are open at once."""

from __future__ import annotations

from aiogram.fsm.storage.base import BaseStorage, StorageKey

from channels.text import Menu

NO_USER = 0  # no person has id 0: the key never meets a person's own conversation state


class Menus:
    def __init__(self, storage: BaseStorage, bot_id: int) -> None:
        self.storage, self.bot_id = storage, bot_id

    def _key(self, chat_id: int, ref: int) -> StorageKey:
        return StorageKey(bot_id=self.bot_id, chat_id=chat_id, user_id=NO_USER, thread_id=ref or None)

    async def save(self, chat_id: int, menu: Menu, ref: int = 0) -> None:
        await self.storage.set_data(self._key(chat_id, ref), {"menu": menu.to_json()})

    async def clear(self, chat_id: int, ref: int = 0) -> None:
        await self.storage.set_data(self._key(chat_id, ref), {})

    async def load(self, chat_id: int, ref: int = 0) -> Menu | None:
        data = await self.storage.get_data(self._key(chat_id, ref))
        return Menu.from_json(data["menu"]) if data.get("menu") else None
