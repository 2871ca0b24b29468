"""Review by the support team: take, confirm, return for changes, reject. Each is one compare-and-set
statement, so of several members pressing at once exactly one decides."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import text
from sqlmodel import col, select

from storage.db import Database
from storage.events import event_stmt
from storage.models import Author, Event, Initiative, Member, ReviewCard, Unit, utcnow
from storage.progress import counted_change
from storage.writer import Stmt

OPEN = ("submitted", "in_review")


class Decision(StrEnum):
    CONFIRM = "confirmed"
    CHANGES = "changes_requested"
    REJECT = "rejected"


async def take(db: Database, initiative_id: int, member_id: int) -> bool:
    change = Stmt(
        "UPDATE initiative SET status = 'in_review', taken_by_id = :m, taken_at = :now, updated_at = :now "
        "WHERE id = :id AND status IN ('submitted', 'in_review')",
        {"m": member_id, "now": utcnow(), "id": initiative_id},
        guard=True,
    )
    result = await db.write_all(
        [
            *counted_change(initiative_id, change),
            event_stmt("review.taken", {}, member_id=member_id, initiative_id=initiative_id),
        ]
    )
    return result.applied


async def decide(db: Database, initiative_id: int, member_id: int, decision: Decision, reason: str | None) -> bool:
    """Record the decision unless someone else already decided (then False)."""
    now = utcnow()
    change = Stmt(
        "UPDATE initiative SET status = :status, decided_by_id = :m, decided_at = :now, decision_reason = :reason, "
        "updated_at = :now WHERE id = :id AND status IN ('submitted', 'in_review')",
        {"status": decision.value, "m": member_id, "now": now, "reason": reason, "id": initiative_id},
        guard=True,
    )
    event = event_stmt(f"review.{decision.value}", {"reason": reason}, member_id=member_id, initiative_id=initiative_id)
    result = await db.write_all([*counted_change(initiative_id, change), event])
    db.cache.drop(("draft", initiative_id))
    return result.applied


@dataclass(frozen=True)
class Review:
    """An initiative as the support team sees it."""

    initiative: Initiative
    author: Member
    unit: Unit | None
    authors: list[Author]
    taken_by: Member | None
    decided_by: Member | None
    changed: tuple[str, ...] = ()  # fields changed by the latest resubmission


async def load(db: Database, initiative_id: int) -> Review | None:
    async with db.session() as session:
        item = await session.get(Initiative, initiative_id)
        if item is None or item.status in ("draft", "deleted"):
            return None
        author = await session.get(Member, item.author_id)
        assert author is not None
        unit = await session.get(Unit, item.unit_id) if item.unit_id else None
        authors = await session.exec(
            select(Author).where(Author.initiative_id == item.id).order_by(col(Author.position))
        )
        taken = await session.get(Member, item.taken_by_id) if item.taken_by_id else None
        decided = await session.get(Member, item.decided_by_id) if item.decided_by_id else None
        submitted = select(Event).where(Event.initiative_id == item.id, Event.kind == "initiative.submitted")
        last = (await session.exec(submitted.order_by(col(Event.id).desc()))).first()
        changed = tuple(json.loads(last.detail).get("changed", [])) if last else ()
        return Review(item, author, unit, list(authors.all()), taken, decided, changed)


async def record_card(db: Database, *, initiative_id: int, chat_id: int, message_id: int, round_: int) -> None:
    await db.write(
        Stmt(
            "INSERT INTO review_card (initiative_id, chat_id, message_id, round, created_at) "
            "VALUES (:iid, :chat, :msg, :round, :now)",
            {"iid": initiative_id, "chat": chat_id, "msg": message_id, "round": round_, "now": utcnow()},
        )
    )


async def cards(db: Database, initiative_id: int) -> list[ReviewCard]:
    async with db.session() as session:
        query = select(ReviewCard).where(ReviewCard.initiative_id == initiative_id).order_by(col(ReviewCard.id))
        return list((await session.exec(query)).all())


@dataclass(frozen=True)
class Waiting:
    number: str
    title: str
    submitted_at: datetime
    taken_by: str | None


async def queue(db: Database, chat_id: int) -> list[Waiting]:
    """What waits in this group, oldest first, with who took it."""
    sql = text(
        "SELECT i.number, i.title, i.submitted_at, m.full_name FROM initiative i "
        "JOIN review_card c ON c.initiative_id = i.id AND c.round = i.review_round "
        "LEFT JOIN member m ON m.id = i.taken_by_id "
        "WHERE c.chat_id = :chat AND i.status IN ('submitted', 'in_review') ORDER BY i.submitted_at"
    )
    async with db.read_engine.connect() as conn:
        rows = (await conn.execute(sql, {"chat": chat_id})).all()
    return [Waiting(r[0], r[1], _aware(r[2]), r[3]) for r in rows]


def _aware(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def by_number(db: Database, number: str) -> Initiative | None:
    async with db.session() as session:
        return (await session.exec(select(Initiative).where(Initiative.number == number.strip().upper()))).first()


async def history(db: Database, initiative_id: int) -> list[tuple[Event, str | None]]:
    """The initiative's event log, oldest first, with the actor's name."""
    query = (
        select(Event, Member.full_name)
        .join(Member, col(Member.id) == col(Event.member_id), isouter=True)
        .where(Event.initiative_id == initiative_id)
        .order_by(col(Event.id))
    )
    async with db.session() as session:
        return [(event, name) for event, name in (await session.exec(query)).all()]
