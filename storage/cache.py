"""A bounded write-through cache of rows the hot path reads on every update (member, draft, FSM record).

Only used where one process owns the database (SQLite): every write goes through this process's group
committer, which refreshes the entry after the commit. With PostgreSQL and several workers it is off.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

MISSING = object()


class RowCache:
    def __init__(self, *, enabled: bool, size: int = 50_000) -> None:
        self.enabled, self._size = enabled, size
        self._rows: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        if not self.enabled:
            return MISSING
        value = self._rows.get(key, MISSING)
        if value is not MISSING:
            self._rows.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        if not self.enabled:
            return
        self._rows[key] = value
        self._rows.move_to_end(key)
        if len(self._rows) > self._size:
            self._rows.popitem(last=False)

    def drop(self, key: Hashable) -> None:
        self._rows.pop(key, None)
