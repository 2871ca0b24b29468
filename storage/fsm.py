"""aiogram FSM storage in our database, so a worker's place in a conversation survives ``kill -9``.

Its writes are not an update's effect: they never carry the handled-update record (see ``storage.handled``), which
goes with the handler's own change."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from sqlalchemy import text

from storage.cache import MISSING
from storage.db import Database
from storage.writer import Stmt

_SELECT = text("SELECT state, data FROM fsm_record WHERE key = :key")
_UPSERT = (
    "INSERT INTO fsm_record (key, state, data) VALUES (:key, :state, :data) "
    "ON CONFLICT (key) DO UPDATE SET state = excluded.state, data = excluded.data"
)


class SqlStorage(BaseStorage):
    def __init__(self, db: Database, key_builder: KeyBuilder | None = None) -> None:
        self.db = db
        self.key_builder = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)

    async def _load(self, key: str) -> tuple[str | None, dict[str, Any]]:
        cached = self.db.cache.get(("fsm", key))
        if cached is not MISSING:
            return cached
        async with self.db.read_engine.connect() as conn:
            row = (await conn.execute(_SELECT, {"key": key})).first()
        value = (row[0], json.loads(row[1])) if row else (None, {})
        self.db.cache.put(("fsm", key), value)
        return value

    async def _save(self, key: str, state: str | None, data: dict[str, Any]) -> None:
        if state is None and not data:
            await self.db.write_unmarked(Stmt("DELETE FROM fsm_record WHERE key = :key", {"key": key}))
        else:
            await self.db.write_unmarked(Stmt(_UPSERT, {"key": key, "state": state, "data": json.dumps(data)}))
        self.db.cache.put(("fsm", key), (state, data))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        k = self.key_builder.build(key)
        _, data = await self._load(k)
        await self._save(k, state.state if isinstance(state, State) else state, data)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._load(self.key_builder.build(key)))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        k = self.key_builder.build(key)
        state, _ = await self._load(k)
        await self._save(k, state, dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self._load(self.key_builder.build(key)))[1])

    async def close(self) -> None:
        return None
