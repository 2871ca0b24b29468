"""Which earlier initiative a reviewer says a new one repeats: "2" (the second one the card lists), "SK-000045",
"sk 45" or "45", optionally followed by a note ("SK-000045: same pump, same station"). The original must be a
submitted initiative of the same comparison scope as the suggestions; one that is itself a duplicate stands for its
own original."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import text

from storage.db import Database
from storage.models import Initiative
from storage.similar.search import Similar

_PICK = re.compile(r"^\s*(?:SK[\s\-–—]*)?0*([0-9]{1,9})(?![0-9])\s*[:\-–—,;.]?\s*", re.IGNORECASE)
_IN_SCOPE = text(
    "WITH RECURSIVE down(id, depth) AS (SELECT coalesce((SELECT parent_id FROM unit WHERE id = :unit), :unit), 0 "
    "UNION ALL SELECT u.id, down.depth + 1 FROM unit u JOIN down ON u.parent_id = down.id WHERE down.depth < 64) "
    "SELECT 1 FROM down WHERE id = :other"
)


class Problem(StrEnum):
    UNREADABLE = "unreadable"  # neither a position in the list nor a number
    UNKNOWN = "unknown"  # no submitted initiative has that number
    ITSELF = "itself"
    ELSEWHERE = "elsewhere"  # outside the units it is compared with


@dataclass(frozen=True)
class Pick:
    original: Initiative | None
    note: str = ""
    problem: Problem | None = None
    named: str = ""  # the number as the reviewer gave it, for the message about a problem


async def _get(db: Database, initiative_id: int) -> Initiative | None:
    async with db.session() as session:
        item = await session.get(Initiative, initiative_id)
    return item if item is not None and item.number and item.status not in ("draft", "deleted") else None


async def _in_scope(db: Database, unit_id: int | None, other_unit: int | None) -> bool:
    if unit_id is None or other_unit is None:
        return unit_id == other_unit or unit_id is None
    async with db.read_engine.connect() as conn:
        return (await conn.execute(_IN_SCOPE, {"unit": unit_id, "other": other_unit})).first() is not None


async def pick_original(db: Database, item: Initiative, listed: Sequence[Similar], typed: str) -> Pick:
    found = _PICK.match(typed)
    if found is None:
        return Pick(None, problem=Problem.UNREADABLE)
    n, note = int(found.group(1)), typed[found.end() :].strip()
    by_list = not re.match(r"\s*SK", typed, re.IGNORECASE) and 1 <= n <= len(listed)
    wanted = listed[n - 1].initiative_id if by_list else n
    named = f"SK-{wanted:06d}"
    original = await _get(db, wanted)
    if original is not None and original.status == "duplicate" and original.duplicate_of_id:
        original = await _get(db, original.duplicate_of_id)
    if original is None:
        return Pick(None, problem=Problem.UNKNOWN, named=named)
    if original.id == item.id:
        return Pick(None, problem=Problem.ITSELF, named=named)
    if not await _in_scope(db, item.unit_id, original.unit_id):
        return Pick(None, problem=Problem.ELSEWHERE, named=named)
    return Pick(original, note)
