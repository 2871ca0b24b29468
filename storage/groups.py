"""Support groups: a group chat bound to a unit; a submission goes to the nearest unit up the tree that has one."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import select

from storage.db import Database
from storage.events import event_stmt
from storage.models import ReviewGroup, utcnow
from storage.review import strays
from storage.roles import _ANCESTORS
from storage.writer import Stmt


async def group_of_chat(db: Database, chat_id: int) -> ReviewGroup | None:
    async with db.session() as session:
        return (await session.exec(select(ReviewGroup).where(ReviewGroup.chat_id == chat_id))).first()


async def group_of_unit(db: Database, unit_id: int) -> ReviewGroup | None:
    async with db.session() as session:
        return (await session.exec(select(ReviewGroup).where(ReviewGroup.unit_id == unit_id))).first()


async def bind(db: Database, *, chat_id: int, unit_id: int, title: str, language: str, by_id: int | None) -> bool:
    """Make the chat the unit's support group; False when the unit already has another group. Whatever in the
    unit's subtree waits without a card (submitted before any group existed) gets one through the outbox."""
    result = await db.write(
        Stmt(
            "INSERT INTO review_group (chat_id, unit_id, title, language, reachable, bound_by_id, created_at) "
            "SELECT :chat, :unit, :title, :lang, :yes, :by, :now "
            "WHERE NOT EXISTS (SELECT 1 FROM review_group WHERE unit_id = :unit AND chat_id <> :chat) "
            "ON CONFLICT (chat_id) DO UPDATE SET unit_id = excluded.unit_id, title = excluded.title, "
            "language = excluded.language, reachable = excluded.reachable, bound_by_id = excluded.bound_by_id",
            {"chat": chat_id, "unit": unit_id, "title": title[:255], "lang": language, "yes": True, "by": by_id,
             "now": utcnow()},
            guard=True,
        ),
        event_stmt("group.bound", {"chat_id": chat_id, "unit_id": unit_id}, member_id=by_id),
        *await strays(db, unit_id),
    )  # fmt: skip
    return result.applied


async def unbind(db: Database, *, chat_id: int, by_id: int | None) -> bool:
    result = await db.write(
        Stmt("DELETE FROM review_group WHERE chat_id = :chat", {"chat": chat_id}, guard=True),
        event_stmt("group.unbound", {"chat_id": chat_id}, member_id=by_id),
    )
    return result.applied


async def migrate_chat(db: Database, *, old_chat_id: int, new_chat_id: int) -> None:
    """Telegram turned the group into a supergroup with a new id: the binding and the cards follow it."""
    await db.write(
        Stmt("UPDATE review_group SET chat_id = :new WHERE chat_id = :old", {"new": new_chat_id, "old": old_chat_id}),
        Stmt("UPDATE review_card SET chat_id = :new WHERE chat_id = :old", {"new": new_chat_id, "old": old_chat_id}),
        event_stmt("group.migrated", {"from": old_chat_id, "to": new_chat_id}),
    )


async def route(db: Database, unit_id: int | None) -> ReviewGroup | None:
    """The support group of the unit, or of the nearest unit above it that has one."""
    if unit_id is None:
        return None
    sql = text(_ANCESTORS + "SELECT g.* FROM review_group g JOIN up ON g.unit_id = up.id ORDER BY up.depth LIMIT 1")
    async with db.read_engine.connect() as conn:
        row = (await conn.execute(sql, {"unit": unit_id})).mappings().first()
    return None if row is None else ReviewGroup.model_validate(dict(row))


async def mark_unreachable(db: Database, chat_id: int) -> None:
    await db.write(
        Stmt("UPDATE review_group SET reachable = :no WHERE chat_id = :chat", {"no": False, "chat": chat_id}),
        event_stmt("group.unreachable", {"chat_id": chat_id}),
    )


async def set_reminder(db: Database, *, chat_id: int, hour: int | None, days: int, by_id: int | None) -> None:
    await db.write(
        Stmt(
            "UPDATE review_group SET reminder_hour = :hour, reminder_days = :days WHERE chat_id = :chat",
            {"hour": hour, "days": days, "chat": chat_id},
        ),
        event_stmt("group.reminder", {"chat_id": chat_id, "hour": hour, "days": days}, member_id=by_id),
    )


async def due_for_reminder(db: Database, hour: int) -> list[ReviewGroup]:
    query = select(ReviewGroup).where(ReviewGroup.reminder_hour == hour, ReviewGroup.reachable == True)  # noqa: E712
    async with db.session() as session:
        return list((await session.exec(query)).all())


async def reachable_groups(db: Database) -> list[ReviewGroup]:
    async with db.session() as session:
        return list((await session.exec(select(ReviewGroup).where(ReviewGroup.reachable == True))).all())  # noqa: E712
