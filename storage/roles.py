"""Roles per unit: officers (cán bộ công đoàn) and support-team members; a role covers the unit's subtree."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import col, select

from storage.db import Database
from storage.events import event_stmt
from storage.models import Member, Role, utcnow
from storage.writer import Stmt

OFFICER, SUPPORT = "officer", "support"
_ANCESTORS = (
    "WITH RECURSIVE up(id, parent_id, depth) AS ("
    " SELECT id, parent_id, 0 FROM unit WHERE id = :unit"
    " UNION ALL SELECT u.id, u.parent_id, up.depth + 1 FROM unit u JOIN up ON u.id = up.parent_id"
    " WHERE up.depth < 64) "
)


async def ancestors(db: Database, unit_id: int) -> list[int]:
    """The unit itself, then its parent, and so on up to the root."""
    async with db.read_engine.connect() as conn:
        rows = await conn.execute(text(_ANCESTORS + "SELECT id FROM up ORDER BY depth"), {"unit": unit_id})
        return [row[0] for row in rows]


async def roles_over(db: Database, member_id: int | None, unit_id: int) -> set[str]:
    """The roles a member holds on this unit or on any unit above it."""
    if member_id is None:
        return set()
    sql = text(_ANCESTORS + "SELECT DISTINCT r.role FROM role r JOIN up ON r.unit_id = up.id WHERE r.member_id = :m")
    async with db.read_engine.connect() as conn:
        return {row[0] for row in await conn.execute(sql, {"unit": unit_id, "m": member_id})}


async def grant(db: Database, *, member_id: int, unit_id: int, role: str, by_id: int | None) -> bool:
    """Give a role; False when the member already had it."""
    result = await db.write(
        Stmt(
            "INSERT INTO role (member_id, unit_id, role, granted_by_id, created_at) "
            "VALUES (:m, :u, :role, :by, :now) ON CONFLICT (member_id, unit_id, role) DO NOTHING",
            {"m": member_id, "u": unit_id, "role": role, "by": by_id, "now": utcnow()},
            guard=True,
        ),
        event_stmt("role.granted", {"member_id": member_id, "unit_id": unit_id, "role": role}, member_id=by_id),
    )
    return result.applied


async def revoke(db: Database, *, member_id: int, unit_id: int, role: str, by_id: int | None) -> bool:
    result = await db.write(
        Stmt(
            "DELETE FROM role WHERE member_id = :m AND unit_id = :u AND role = :role",
            {"m": member_id, "u": unit_id, "role": role},
            guard=True,
        ),
        event_stmt("role.revoked", {"member_id": member_id, "unit_id": unit_id, "role": role}, member_id=by_id),
    )
    return result.applied


async def holders(db: Database, unit_ids: list[int], role: str) -> list[Member]:
    """Members holding ``role`` on any of these units, by name."""
    query = (
        select(Member)
        .join(Role, col(Role.member_id) == col(Member.id))
        .where(col(Role.unit_id).in_(unit_ids), Role.role == role)
        .order_by(Member.full_name)
        .distinct()
    )
    async with db.session() as session:
        return list((await session.exec(query)).all())


async def may_review(db: Database, member_id: int | None, unit_id: int | None) -> bool:
    """Support-team members and officers of the unit or of a unit above it."""
    return unit_id is not None and bool(await roles_over(db, member_id, unit_id) & {SUPPORT, OFFICER})


async def roles_held(db: Database, member_id: int | None) -> set[str]:
    """Every role the member holds on any unit."""
    if member_id is None:
        return set()
    async with db.read_engine.connect() as conn:
        rows = await conn.execute(text("SELECT DISTINCT role FROM role WHERE member_id = :m"), {"m": member_id})
        return {row[0] for row in rows}


async def officer_units(db: Database, member_id: int | None) -> list[int]:
    """The units a member is an officer of, highest first."""
    sql = text(
        "WITH RECURSIVE depth(id, d) AS (SELECT id, 0 FROM unit WHERE parent_id IS NULL UNION ALL "
        "SELECT u.id, depth.d + 1 FROM unit u JOIN depth ON u.parent_id = depth.id) "
        "SELECT r.unit_id FROM role r JOIN depth ON depth.id = r.unit_id WHERE r.member_id = :m AND r.role = 'officer' "
        "ORDER BY depth.d, r.unit_id"
    )
    async with db.read_engine.connect() as conn:
        return [row[0] for row in await conn.execute(sql, {"m": member_id})]


async def nearest_team(db: Database, unit_id: int) -> list[Member]:
    """The support-team members of the unit, or of the nearest unit above it that has any."""
    sql = text(_ANCESTORS + "SELECT m.*, up.depth AS depth FROM member m JOIN role r ON r.member_id = m.id "
               "JOIN up ON up.id = r.unit_id WHERE r.role = 'support' ORDER BY up.depth, m.id")  # fmt: skip
    async with db.read_engine.connect() as conn:
        rows = [dict(row) for row in (await conn.execute(sql, {"unit": unit_id})).mappings()]
    nearest = [row for row in rows if row["depth"] == rows[0]["depth"]] if rows else []
    return [Member.model_validate({k: v for k, v in row.items() if k != "depth"}) for row in nearest]


async def officers_above(db: Database, unit_id: int) -> list[Member]:
    """Officers of the unit and of every unit above it, in one query."""
    sql = text(_ANCESTORS + "SELECT DISTINCT m.* FROM member m JOIN role r ON r.member_id = m.id "
               "JOIN up ON up.id = r.unit_id WHERE r.role = 'officer'")  # fmt: skip
    async with db.read_engine.connect() as conn:
        return [Member.model_validate(dict(row)) for row in (await conn.execute(sql, {"unit": unit_id})).mappings()]
