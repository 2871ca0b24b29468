"""The recognition dossier's own answers (date of birth, workplace…, see ``reports.dossier_data``), kept in the
initiative's ``answers`` JSON under "dossier" rather than in a table; who may have the dossier; and the dossiers of
the author's earlier initiatives, whose answers are reused."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlmodel import col, select

from storage.db import Database
from storage.events import event_stmt
from storage.models import Initiative, Member, Unit
from storage.roles import may_review
from storage.writer import Stmt

KEY = "dossier"
ATTEMPTS = 5  # a save that lost a race with an edit of the same initiative reads it again
_ANSWERS = text("SELECT answers FROM initiative WHERE id = :id AND status <> 'deleted'")
_EARLIER = text(
    "SELECT answers FROM initiative WHERE author_id = :author AND id <> :id AND status <> 'deleted' "
    "AND answers LIKE :key ORDER BY id DESC LIMIT 20"
)


@dataclass(frozen=True)
class Subject:
    """An initiative (a draft or later) with its author and unit."""

    initiative: Initiative
    author: Member
    unit: Unit | None

    @property
    def id(self) -> int:
        return self.initiative.id or 0

    @property
    def answers(self) -> dict[str, Any]:
        return dict(json.loads(self.initiative.answers))

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.answers.get(KEY) or {})


async def subject(db: Database, initiative_id: int) -> Subject | None:
    async with db.session() as session:
        item = await session.get(Initiative, initiative_id)
        if item is None or item.status == "deleted":
            return None
        author = await session.get(Member, item.author_id)
        unit = await session.get(Unit, item.unit_id) if item.unit_id else None
    return None if author is None else Subject(item, author, unit)


async def subject_by_number(db: Database, number: str) -> Subject | None:
    wanted = number.strip().upper()
    wanted = f"SK-{int(wanted):06d}" if wanted.isdigit() and len(wanted) < 10 else wanted
    async with db.session() as session:
        found = (await session.exec(select(Initiative.id).where(Initiative.number == wanted))).first()
    return None if found is None else await subject(db, found)


async def may_have(db: Database, item: Subject, member: Member | None, *, admin: bool) -> bool:
    """The author, the support team and officers of the initiative's unit or a unit above it, bot admins."""
    if admin:
        return True
    if member is None or member.id is None:
        return False
    return member.id == item.initiative.author_id or await may_review(db, member.id, item.initiative.unit_id)


async def earlier(db: Database, item: Subject) -> list[dict[str, Any]]:
    """The dossier data of the author's other initiatives, newest first."""
    params = {"author": item.initiative.author_id, "id": item.id, "key": f'%"{KEY}"%'}
    async with db.read_engine.connect() as conn:
        rows = (await conn.execute(_EARLIER, params)).all()
    found = [json.loads(row[0]).get(KEY) for row in rows]
    return [data for data in found if isinstance(data, dict)]


async def save(db: Database, initiative_id: int, data: dict[str, Any], *, actor_id: int | None, item: str) -> bool:
    """Store the dossier data, leaving every other answer as it is now: a compare-and-set on the whole answers
    text, read again when an edit came in between. False when the initiative is gone."""
    for _ in range(ATTEMPTS):
        async with db.read_engine.connect() as conn:
            old = (await conn.execute(_ANSWERS, {"id": initiative_id})).scalar()
        if old is None:
            return False
        answers = {**json.loads(old), KEY: data}
        result = await db.write(
            Stmt(
                "UPDATE initiative SET answers = :new WHERE id = :id AND answers = :old AND status <> 'deleted'",
                {"new": json.dumps(answers, ensure_ascii=False), "id": initiative_id, "old": old},
                guard=True,
            ),
            event_stmt("dossier.answer", {"item": item}, member_id=actor_id, initiative_id=initiative_id),
        )
        db.cache.drop(("draft", initiative_id))  # the form's cached copy would write the answers back without it
        if result.applied:
            return True
    return False


async def initiatives_of(db: Database, member: Member, limit: int = 20) -> list[Initiative]:
    """The member's initiatives, drafts included, newest first."""
    query = (
        select(Initiative)
        .where(Initiative.author_id == member.id, Initiative.status != "deleted")
        .order_by(col(Initiative.id).desc())
        .limit(limit)
    )
    async with db.session() as session:
        return list((await session.exec(query)).all())
