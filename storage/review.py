"""Review by the support team: take, confirm, return for changes, reject, mark as a duplicate of an earlier one.
Each is one compare-and-set statement, so of several members pressing at once exactly one decides."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Database
from storage.events import event_stmt
from storage.models import Author, Event, Initiative, Member, ReviewCard, Unit, utcnow
from storage.outbox import outbox_stmt
from storage.progress import counted_change
from storage.similar.search import Similar
from storage.writer import Stmt

OPEN = ("submitted", "in_review")


class Decision(StrEnum):
    CONFIRM = "confirmed"
    CHANGES = "changes_requested"
    REJECT = "rejected"
    DUPLICATE = "duplicate"  # with the original it repeats (``duplicate_of_id``); counted as a rejection


async def take(db: Database, initiative_id: int, member_id: int, round_: int) -> bool:
    """Take the item in this round of review; False when someone took it first, or it was decided or resubmitted
    meanwhile."""
    change = Stmt(
        "UPDATE initiative SET status = 'in_review', taken_by_id = :m, taken_at = :now, updated_at = :now "
        "WHERE id = :id AND status = 'submitted' AND review_round = :round",
        {"m": member_id, "now": utcnow(), "id": initiative_id, "round": round_},
        guard=True,
    )
    result = await db.write_all(
        [
            *counted_change(initiative_id, change),
            event_stmt("review.taken", {}, member_id=member_id, initiative_id=initiative_id),
            outbox_stmt("card.refresh", {"iid": initiative_id}),
        ]
    )
    return result.applied


async def decide(db: Database, initiative_id: int, member_id: int, decision: Decision, reason: str | None,
                 round_: int, original: Initiative | None = None) -> bool:  # fmt: skip
    """Record the decision for this round unless someone already decided (then False); a duplicate names its
    ``original``. The card's new look and the author's notice go through the outbox, in the same transaction."""
    if (decision is Decision.DUPLICATE) != (original is not None and original.id != initiative_id):
        raise ValueError("a duplicate, and only a duplicate, names another initiative as its original")
    now = utcnow()
    change = Stmt(
        "UPDATE initiative SET status = :status, decided_by_id = :m, decided_at = :now, decision_reason = :reason, "
        "duplicate_of_id = :original, updated_at = :now "
        "WHERE id = :id AND status IN ('submitted', 'in_review') AND review_round = :round",
        {"status": decision.value, "m": member_id, "now": now, "reason": reason, "id": initiative_id,
         "round": round_, "original": original.id if original else None},
        guard=True,
    )  # fmt: skip
    detail = {"reason": reason, **({"of": original.number} if original else {})}
    event = event_stmt(f"review.{decision.value}", detail, member_id=member_id, initiative_id=initiative_id)
    notice = {"iid": initiative_id, "status": decision.value, "reason": reason}
    result = await db.write_all(
        [
            *counted_change(initiative_id, change),
            event,
            outbox_stmt("card.refresh", {"iid": initiative_id}),
            outbox_stmt("author.notice", notice),
        ]
    )
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
    similar: tuple[Similar, ...] = ()  # what was most like it when it was (last) submitted
    duplicate_of: Initiative | None = None


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
        detail = json.loads(last.detail) if last else {}
        similar = await listed(session, detail.get("similar", []))
        original = await session.get(Initiative, item.duplicate_of_id) if item.duplicate_of_id else None
        return Review(item, author, unit, list(authors.all()), taken, decided, tuple(detail.get("changed", [])),
                      similar, original)  # fmt: skip


async def listed(session: AsyncSession, pairs: list[list[int]]) -> tuple[Similar, ...]:
    """The suggestions recorded at submission ([id, percent] pairs) as they stand now."""
    ids = [int(iid) for iid, _ in pairs]
    rows = (await session.exec(select(Initiative).where(col(Initiative.id).in_(ids)))).all() if ids else []
    by_id = {row.id: row for row in rows}
    return tuple(Similar(iid, by_id[iid].number or "", by_id[iid].title or "", by_id[iid].status, int(percent))
                 for iid, percent in pairs if iid in by_id)  # fmt: skip


def card_stmt(*, initiative_id: int, chat_id: int, message_id: int, round_: int) -> Stmt:
    return Stmt(
        "INSERT INTO review_card (initiative_id, chat_id, message_id, round, created_at) "
        "VALUES (:iid, :chat, :msg, :round, :now)",
        {"iid": initiative_id, "chat": chat_id, "msg": message_id, "round": round_, "now": utcnow()},
    )


async def cards(db: Database, initiative_id: int, round_: int | None = None) -> list[ReviewCard]:
    """The initiative's cards, oldest first; only those of one round of review when ``round_`` is given."""
    query = select(ReviewCard).where(ReviewCard.initiative_id == initiative_id)
    if round_ is not None:
        query = query.where(ReviewCard.round == round_)
    async with db.session() as session:
        return list((await session.exec(query.order_by(col(ReviewCard.id)))).all())


async def card_at(db: Database, chat_id: int, message_id: int) -> ReviewCard | None:
    """The card that is this very message, if it is one."""
    query = select(ReviewCard).where(ReviewCard.chat_id == chat_id, ReviewCard.message_id == message_id)
    async with db.session() as session:
        return (await session.exec(query)).first()


_STRAYS = text(
    "WITH RECURSIVE down(id, depth) AS (SELECT id, 0 FROM unit WHERE id = :unit UNION ALL "
    "SELECT u.id, down.depth + 1 FROM unit u JOIN down ON u.parent_id = down.id WHERE down.depth < 64) "
    "SELECT i.id, i.review_round FROM initiative i JOIN down ON i.unit_id = down.id "
    "WHERE i.status IN ('submitted', 'in_review') AND NOT EXISTS "
    "(SELECT 1 FROM review_card c WHERE c.initiative_id = i.id AND c.round = i.review_round AND c.chat_id < 0) "
    "ORDER BY i.id"
)


async def strays(db: Database, unit_id: int) -> list[Stmt]:
    """Outbox rows that post a card for everything in the unit's subtree that waits without one in a group (a
    team that had the cards privately sees them in its new group too)."""
    async with db.read_engine.connect() as conn:
        rows = (await conn.execute(_STRAYS, {"unit": unit_id})).all()
    return [outbox_stmt("card.post", {"iid": r[0], "round": r[1], "notify": False}) for r in rows]


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


async def initiative(db: Database, initiative_id: int) -> Initiative | None:
    async with db.session() as session:
        return await session.get(Initiative, initiative_id)


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


async def acting_member(db: Database, tg_user_id: int, full_name: str, username: str | None,
                        language: str) -> Member:  # fmt: skip
    """A bot admin may decide before ever registering: they get a member record (no unit) on first use."""
    await db.write_unmarked(
        Stmt(
            "INSERT INTO member (tg_user_id, full_name, language, username, weekly_digest, created_at, updated_at) "
            "VALUES (:tg, :name, :lang, :username, :no, :now, :now) ON CONFLICT (tg_user_id) DO NOTHING",
            {"tg": tg_user_id, "name": full_name[:100] or str(tg_user_id), "lang": language,
             "username": username, "no": False, "now": utcnow()},
        )
    )  # fmt: skip
    db.cache.drop(("member", tg_user_id))
    async with db.session() as session:
        return (await session.exec(select(Member).where(Member.tg_user_id == tg_user_id))).one()
