"""A unit's own guide or video (``unit.guide_url``): set by its officers, shown to the members of its subtree."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from storage.db import Database
from storage.events import event_stmt
from storage.models import utcnow
from storage.writer import Stmt

_NEAREST = text(
    "WITH RECURSIVE up(id, parent_id, depth) AS ("
    " SELECT id, parent_id, 0 FROM unit WHERE id = :unit"
    " UNION ALL SELECT u.id, u.parent_id, up.depth + 1 FROM unit u JOIN up ON u.id = up.parent_id"
    " WHERE up.depth < 64) "
    "SELECT u.name, u.guide_url FROM unit u JOIN up ON up.id = u.id "
    "WHERE u.guide_url IS NOT NULL AND u.guide_url <> '' ORDER BY up.depth LIMIT 1"
)


@dataclass(frozen=True)
class Guide:
    unit: str  # the name of the unit that set it
    url: str


async def guide_for(db: Database, unit_id: int | None) -> Guide | None:
    """The guide of the unit, or of the nearest unit above it that has one."""
    if unit_id is None:
        return None
    async with db.read_engine.connect() as conn:
        row = (await conn.execute(_NEAREST, {"unit": unit_id})).first()
    return None if row is None else Guide(row[0], row[1])


async def set_guide(db: Database, *, unit_id: int, url: str | None, by_id: int | None) -> bool:
    """Set (or, with None, remove) the unit's guide, with its event; False when the unit does not exist."""
    result = await db.write(
        Stmt(
            "UPDATE unit SET guide_url = :url, updated_at = :now WHERE id = :unit",
            {"url": url, "now": utcnow(), "unit": unit_id},
            guard=True,
        ),
        event_stmt("unit.guide", {"unit_id": unit_id, "url": url}, member_id=by_id),
    )
    return result.applied
