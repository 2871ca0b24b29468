"""The support team writes for a member: drafts started on a member's behalf, people added without a chat account,
and drafts a member hands to the team. Every change names its actor in the event log; the author stays the author."""

from __future__ import annotations

import json

from sqlalchemy import text

from forms.engine import FormState
from forms.text import fold
from storage.channels import NO_CHAT
from storage.db import Database
from storage.events import event_stmt
from storage.initiatives import DRAFT, Draft
from storage.models import Member, utcnow
from storage.outbox import outbox_stmt
from storage.roles import may_review
from storage.units import search_words
from storage.writer import Stmt

_SUBTREE = (
    "WITH RECURSIVE down(id) AS ("
    " SELECT r.unit_id FROM role r WHERE r.member_id = :actor AND r.role IN ('support', 'officer')"
    " UNION SELECT u.id FROM unit u JOIN down ON u.parent_id = down.id) "
)


def has_chat(member: Member) -> bool:
    return member.tg_user_id > NO_CHAT


async def is_team(db: Database, member_id: int | None) -> bool:
    """A support-team member or officer of some unit."""
    sql = text("SELECT 1 FROM role WHERE member_id = :m AND role IN ('support', 'officer') LIMIT 1")
    async with db.read_engine.connect() as conn:
        return (await conn.execute(sql, {"m": member_id})).first() is not None


async def members_for(db: Database, actor_id: int, query: str, limit: int = 8) -> list[tuple[Member, str]]:
    """Members of the units the actor supports (their subtree) whose name holds every word typed, with their unit's
    name; ignoring case, diacritics and đ/d as the unit search does."""
    words = search_words(query)
    if not words:
        return []
    sql = text(_SUBTREE + "SELECT DISTINCT m.*, u.name AS unit_name FROM member m JOIN down ON m.unit_id = down.id "
               "JOIN unit u ON u.id = m.unit_id ORDER BY m.full_name, m.id")  # fmt: skip
    async with db.read_engine.connect() as conn:
        rows = [dict(row) for row in (await conn.execute(sql, {"actor": actor_id})).mappings()]
    found = [(Member.model_validate(row), str(row.pop("unit_name")))
             for row in rows if all(w in fold(row["full_name"]) for w in words)]  # fmt: skip
    return found[:limit]


async def units_for(db: Database, actor_id: int, query: str, limit: int = 8) -> list[tuple[int, str]]:
    """Units of the actor's subtree whose name holds every word typed, or whose code it is."""
    words = search_words(query)
    sql = text(_SUBTREE + "SELECT u.id, u.code, u.name, u.name_folded FROM unit u JOIN down ON u.id = down.id "
               "ORDER BY length(u.name), u.name")  # fmt: skip
    async with db.read_engine.connect() as conn:
        rows = list(await conn.execute(sql, {"actor": actor_id}))
    code = query.strip().lower()
    hits = [(r[0], r[2]) for r in rows if r[1].lower() == code or (words and all(w in r[3] for w in words))]
    return hits[:limit]


async def add_person(db: Database, actor: Member, *, full_name: str, unit_id: int, phone: str) -> Member | None:
    """A member without a chat account yet, added by a team member or officer of the unit; None if not theirs."""
    if not await may_review(db, actor.id, unit_id):
        return None
    now = utcnow()
    result = await db.write(
        Stmt(
            "INSERT INTO member (tg_user_id, full_name, language, unit_id, phone, weekly_digest, reachable, "
            "created_at, updated_at) SELECT coalesce(min(tg_user_id), :base) - 1, :name, 'vi', :unit, :phone, "
            ":no, :no, :now, :now FROM member WHERE tg_user_id <= :base RETURNING id, tg_user_id",
            {"base": NO_CHAT, "name": full_name, "unit": unit_id, "phone": phone, "no": False, "now": now},
            returning=True,
        ),
        event_stmt("member.added", {"unit_id": unit_id, "name": full_name}, member_id=actor.id),
    )
    member_id, address = result.rows[0]
    return Member(id=member_id, tg_user_id=address, full_name=full_name, unit_id=unit_id, phone=phone,
                  reachable=False, created_at=now, updated_at=now)  # fmt: skip


async def start_for(db: Database, actor: Member, author: Member, state: FormState) -> Draft | None:
    """A draft of ``author``'s that ``actor`` fills in; None unless the author is in the actor's subtree. The author,
    when they have a chat, is told (through the outbox) and finds it in /drafts."""
    if author.id == actor.id or not await may_review(db, actor.id, author.unit_id):
        return None
    now = utcnow()
    stmts = [
        Stmt(
            "INSERT INTO initiative (author_id, unit_id, status, answers, step, pending, editing, has_social_benefit, "
            "helper_id, created_at, updated_at) VALUES (:author, :unit, 'draft', :answers, :step, '[]', :no, :no, "
            ":helper, :now, :now) RETURNING id",
            {
                "author": author.id,
                "unit": author.unit_id,
                "answers": json.dumps(state.answers, ensure_ascii=False),
                "step": state.step,
                "no": False,
                "helper": actor.id,
                "now": now,
            },
            returning=True,
        ),
        event_stmt(
            "draft.created",
            {"for": author.id},
            member_id=actor.id,
            initiative_sql="SELECT max(id) FROM initiative WHERE helper_id = :member_id",
        ),
    ]
    if has_chat(author):
        stmts.append(outbox_stmt("proxy.started", {"author": author.id, "helper": actor.id}))
    result = await db.write_all(stmts)
    draft = Draft(result.rows[0][0], author.id or 0, DRAFT, None, state, helper_id=actor.id)
    db.cache.put(("draft", draft.id), draft)
    return draft


async def ask_help(db: Database, member: Member, draft_id: int) -> bool:
    """The author hands their draft to the support team: once, while nobody writes it for them."""
    result = await db.write(
        Stmt(
            "UPDATE initiative SET help_asked_at = :now WHERE id = :iid AND author_id = :author AND status = 'draft' "
            "AND helper_id IS NULL AND help_asked_at IS NULL",
            {"now": utcnow(), "iid": draft_id, "author": member.id},
            guard=True,
        ),
        event_stmt("help.asked", {}, member_id=member.id, initiative_id=draft_id),
        outbox_stmt("proxy.asked", {"iid": draft_id}),
    )
    return result.applied


async def take_help(db: Database, actor: Member, draft_id: int, unit_id: int | None) -> bool:
    """One team member takes a handed-over draft (compare-and-set: of several pressing at once, one wins)."""
    if not await may_review(db, actor.id, unit_id):
        return False
    result = await db.write(
        Stmt(
            "UPDATE initiative SET helper_id = :actor WHERE id = :iid AND status = 'draft' AND helper_id IS NULL "
            "AND help_asked_at IS NOT NULL",
            {"actor": actor.id, "iid": draft_id},
            guard=True,
        ),
        event_stmt("help.taken", {}, member_id=actor.id, initiative_id=draft_id),
        outbox_stmt("proxy.taken", {"iid": draft_id, "helper": actor.id}),
    )
    db.cache.drop(("draft", draft_id))
    return result.applied


async def handover(db: Database, draft_id: int) -> tuple[Member, Member | None, str, int | None, str] | None:
    """The author, the helper (if any), the title, the unit and the status of a draft."""
    sql = text("SELECT author_id, helper_id, answers, unit_id, status FROM initiative WHERE id = :iid")
    async with db.read_engine.connect() as conn:
        row = (await conn.execute(sql, {"iid": draft_id})).first()
    if row is None:
        return None
    async with db.session() as session:
        author = await session.get(Member, row[0])
        helper = await session.get(Member, row[1]) if row[1] else None
    if author is None:
        return None
    return author, helper, str(json.loads(row[2]).get("title") or ""), row[3], row[4]
