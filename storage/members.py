"""Members: the Telegram users who registered, with their language, unit and phone."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, func, select

from storage.cache import MISSING
from storage.db import Database
from storage.events import event_stmt
from storage.models import Member, MemberAddress, utcnow
from storage.writer import Stmt

EDITABLE = ("full_name", "language", "unit_id", "phone", "username", "weekly_digest")


async def get_member(db: Database, tg_user_id: int) -> Member | None:
    """The member at this address: their first (``tg_user_id``) or one they linked from /profile."""
    cached = db.cache.get(("member", tg_user_id))
    if cached is not MISSING:
        return cached
    async with db.read_engine.connect() as conn:
        row = (await conn.execute(select(Member).where(Member.tg_user_id == tg_user_id))).first()
        if row is None:
            linked = select(MemberAddress.member_id).where(MemberAddress.address == tg_user_id)
            row = (await conn.execute(select(Member).where(col(Member.id).in_(linked)))).first()
            if row is not None:  # not cached: the cache is refreshed under the first address only
                return Member.model_validate(row._mapping)
    member = Member.model_validate(row._mapping) if row is not None else None
    db.cache.put(("member", tg_user_id), member)
    return member


async def member_by_username(db: Database, username: str) -> Member | None:
    async with db.session() as session:
        query = select(Member).where(func.lower(Member.username) == username.strip().lower())
        return (await session.exec(query)).first()


async def members_of_unit(db: Database, unit_id: int, limit: int = 30) -> list[Member]:
    query = select(Member).where(Member.unit_id == unit_id).order_by(Member.full_name).limit(limit)
    async with db.session() as session:
        return list((await session.exec(query)).all())


async def member_by_id(db: Database, member_id: int) -> Member | None:
    async with db.session() as session:
        return await session.get(Member, member_id)


async def register(
    db: Database,
    *,
    tg_user_id: int,
    full_name: str,
    language: str,
    unit_id: int,
    phone: str | None,
    username: str | None = None,
) -> Member:
    now = utcnow()
    values = {
        "tg": tg_user_id,
        "full_name": full_name,
        "language": language,
        "unit_id": unit_id,
        "phone": phone,
        "username": username,
        "now": now,
    }
    result = await db.write(
        Stmt(
            "INSERT INTO member (tg_user_id, full_name, language, unit_id, phone, username, created_at, updated_at) "
            "VALUES (:tg, :full_name, :language, :unit_id, :phone, :username, :now, :now) "
            "ON CONFLICT (tg_user_id) DO UPDATE "
            "SET full_name = excluded.full_name, language = excluded.language, unit_id = excluded.unit_id, "
            "phone = excluded.phone, username = excluded.username, updated_at = excluded.updated_at RETURNING id",
            values,
            returning=True,
        ),
        event_stmt(
            "member.registered",
            {"unit_id": unit_id, "language": language, "phone": bool(phone)},
            member_sql="SELECT id FROM member WHERE tg_user_id = :tg",
            tg=tg_user_id,
        ),
    )
    member = Member(
        id=result.rows[0][0],
        tg_user_id=tg_user_id,
        full_name=full_name,
        language=language,
        unit_id=unit_id,
        phone=phone,
        username=username,
        created_at=now,
        updated_at=now,
    )
    db.cache.put(("member", tg_user_id), member)
    return member


async def update_member(db: Database, member: Member, **changes: Any) -> Member:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    now = utcnow()
    assignments = ", ".join(f"{name} = :{name}" for name in changes)
    await db.write(
        Stmt(
            f"UPDATE member SET {assignments}, updated_at = :now WHERE id = :id",
            {**changes, "now": now, "id": member.id},
        ),
        event_stmt("member.updated", changes, member_id=member.id),
    )
    updated = Member(**{**member.model_dump(), **changes, "updated_at": now})
    db.cache.put(("member", member.tg_user_id), updated)
    return updated


async def digest_readers(db: Database) -> list[Member]:
    async with db.session() as session:
        return list((await session.exec(select(Member).where(Member.weekly_digest == True))).all())  # noqa: E712


async def set_reachable(db: Database, member: Member, reachable: bool) -> Member:
    """Whether the bot can write to the member (False after they blocked it; True again once they write)."""
    await db.write_unmarked(
        Stmt("UPDATE member SET reachable = :reachable WHERE id = :id", {"reachable": reachable, "id": member.id})
    )
    updated = Member(**{**member.model_dump(), "reachable": reachable})
    db.cache.put(("member", member.tg_user_id), updated)
    return updated
