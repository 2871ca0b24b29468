"""Drafts and initiatives: the hot write of each answer, submission, listing and deletion."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlmodel import col, or_, select

from forms.dates import first_day
from forms.engine import Form, FormState
from forms.money import Money
from storage.cache import MISSING
from storage.db import Database
from storage.events import event_stmt
from storage.models import Initiative, Member, utcnow
from storage.outbox import outbox_stmt
from storage.progress import lock_row, retally, untally
from storage.similar.search import Similar, suggest
from storage.similar.store import doc_stmt
from storage.writer import Stmt

log = logging.getLogger(__name__)
DRAFT, SUBMITTED, DELETED, RETURNED = "draft", "submitted", "deleted", "changes_requested"
EDITABLE = (DRAFT, RETURNED)  # the author may change these; a returned initiative is edited and resubmitted


class DraftClosed(Exception):
    """The draft is no longer a draft (submitted or deleted meanwhile)."""


def number_for(initiative_id: int) -> str:
    return f"SK-{initiative_id:06d}"


@dataclass(frozen=True, slots=True)
class Draft:
    """What the form needs of an initiative, with its answers already parsed (cached on the hot path)."""

    id: int
    author_id: int
    status: str
    number: str | None
    state: FormState
    round: int = 0  # rounds of review so far: a preview's Submit carries it, so one shown before a return is stale
    helper_id: int | None = None  # a support-team member or officer who writes it for the author

    def writable_by(self, member_id: int | None) -> bool:
        """The author, or the team member writing it for them, may fill it in."""
        return member_id is not None and member_id in (self.author_id, self.helper_id)


def _state(answers: str, step: str, pending: str, editing: bool) -> FormState:
    return FormState(json.loads(answers), step, tuple(json.loads(pending)), bool(editing))


_PREVIOUS = text("SELECT submitted_answers, review_round FROM initiative WHERE id = :id")
_DRAFT = text(
    "SELECT id, author_id, status, number, answers, step, pending, editing, review_round, helper_id "
    "FROM initiative WHERE id = :id"
)


async def get_draft(db: Database, initiative_id: int) -> Draft | None:
    cached = db.cache.get(("draft", initiative_id))
    if cached is not MISSING:
        return cached
    async with db.read_engine.connect() as conn:
        row = (await conn.execute(_DRAFT, {"id": initiative_id})).first()
    draft = None if row is None else Draft(row[0], row[1], row[2], row[3], _state(*row[4:8]), row[8], row[9])
    db.cache.put(("draft", initiative_id), draft)
    return draft


async def create_draft(db: Database, member: Member, state: FormState) -> Draft:
    now = utcnow()
    result = await db.write(
        Stmt(
            "INSERT INTO initiative (author_id, unit_id, status, answers, step, pending, editing, "
            "has_social_benefit, created_at, updated_at) VALUES (:author, :unit, 'draft', :answers, :step, '[]', "
            ":editing, :no, :now, :now) RETURNING id",
            {
                "author": member.id,
                "unit": member.unit_id,
                "answers": json.dumps(state.answers, ensure_ascii=False),
                "step": state.step,
                "editing": False,
                "no": False,
                "now": now,
            },
            returning=True,
        ),
        event_stmt(
            "draft.created",
            {},
            member_id=member.id,
            initiative_sql="SELECT max(id) FROM initiative WHERE author_id = :member_id",
        ),
    )
    draft = Draft(result.rows[0][0], member.id or 0, DRAFT, None, state)
    db.cache.put(("draft", draft.id), draft)
    return draft


async def save_form(
    db: Database, draft: Draft, state: FormState, *, actor_id: int | None, kind: str, detail: dict[str, Any]
) -> Draft:
    """Store the draft's new state with its event in one op; raises DraftClosed if it is no longer a draft."""
    now = utcnow()
    values = {
        "answers": json.dumps(state.answers, ensure_ascii=False),
        "step": state.step,
        "pending": json.dumps(state.pending, ensure_ascii=False),
        "editing": state.editing,
    }
    result = await db.write(
        Stmt(
            "UPDATE initiative SET answers = :answers, step = :step, pending = :pending, editing = :editing, "
            "updated_at = :now WHERE id = :id AND status IN ('draft', 'changes_requested')",
            {**values, "now": now, "id": draft.id},
            guard=True,
        ),
        event_stmt(kind, detail, member_id=actor_id, initiative_id=draft.id),
    )
    if not result.applied:
        db.cache.drop(("draft", draft.id))
        raise DraftClosed
    saved = replace(draft, state=state)
    db.cache.put(("draft", draft.id), saved)
    return saved


@dataclass(frozen=True)
class Submitted:
    number: str
    initiative_id: int
    unit_id: int | None
    round: int
    changed: tuple[str, ...] = ()  # the fields that differ from the previous submission


# the author's money benefit a year is what it was (an UPDATE's expressions read the row as it was)
_SAME_BENEFIT = "coalesce(benefit_per_year, -1) = coalesce(CAST(:benefit_per_year AS BIGINT), -1)"
# the support team's figure was for the author's figure as it was: a new one is to be checked again
_KEEP_TEAM_FIGURE = ", ".join(
    f"{c} = CASE WHEN {_SAME_BENEFIT} THEN {c} END"
    for c in ("checked_benefit", "checked_benefit_note", "checked_benefit_by_id")
)


def _summary(answers: dict[str, Any]) -> dict[str, Any]:
    money = Money.from_json(answers["benefit_money"]) if "benefit_money" in answers else None
    return {
        "title": answers.get("title"),
        "solution_type": answers.get("solution_type"),
        "field_of_work": answers.get("field"),
        "applied_on": first_day(answers["applied_since"]) if "applied_since" in answers else None,
        "benefit_per_year": money.per_year if money else None,
        "has_social_benefit": bool(answers.get("benefit_social")),
    }


async def submit(db: Database, draft: Draft, member: Member, form: Form, today: date | None = None, *,
                 note: str | None = None, actor_id: int | None = None) -> Submitted | None:  # fmt: skip
    """Move a complete draft to ``submitted`` (compare-and-set); None when it was not a draft any more. ``note``
    is the author's line on why it is not a duplicate of what looked like it (kept on a resubmission without one).
    ``member`` is the author; ``actor_id`` who pressed Submit when a team member writes for them."""
    answers = draft.state.answers
    if form.missing(answers):
        raise ValueError("the draft is incomplete")
    title, solution = str(answers.get("title") or ""), str(answers.get("solution") or "")
    alike = await similar_to(db, title, solution, member.unit_id, draft.id)
    now, number = utcnow(), draft.number or number_for(draft.id)
    previous, round_ = None, 1
    if draft.number is not None:  # a resubmission: compare with what the team saw last time
        async with db.read_engine.connect() as conn:
            row = (await conn.execute(_PREVIOUS, {"id": draft.id})).one()
        previous, round_ = json.loads(row[0]) if row[0] else None, row[1] + 1
    keys = {**answers, **(previous or {})}
    changed = () if previous is None else tuple(k for k in keys if answers.get(k) != previous.get(k))
    iid = {"iid": draft.id}
    authors = answers.get("authors") or [{"name": member.full_name, "share": 100}]
    stmts = [
        lock_row(draft.id),
        untally(draft.id),
        Stmt(
            "UPDATE initiative SET status = 'submitted', number = :number, submitted_at = :now, updated_at = :now, "
            "review_round = :round, submitted_answers = :snapshot, taken_by_id = NULL, taken_at = NULL, "
            "phase_id = coalesce(phase_id, (SELECT id FROM phase WHERE :today BETWEEN starts_on AND ends_on)), "
            "unit_id = :unit, title = :title, solution_type = :solution_type, field_of_work = :field_of_work, "
            "applied_on = :applied_on, benefit_per_year = :benefit_per_year, "
            "has_social_benefit = :has_social_benefit, pending = '[]', editing = :no, "
            f"differs_note = coalesce(:note, differs_note), {_KEEP_TEAM_FIGURE} "
            "WHERE id = :iid AND status IN ('draft', 'changes_requested') AND author_id = :author",
            {
                **iid,
                **_summary(answers),
                "number": number,
                "now": now,
                "round": round_,
                "snapshot": json.dumps(answers, ensure_ascii=False),
                "today": today or now.date(),
                "unit": member.unit_id,
                "no": False,
                "author": member.id,
                "note": note,
            },
            guard=True,
        ),
        retally(draft.id),
        doc_stmt(db, draft.id, member.unit_id, title, solution),  # the duplicate search reads it from now on
        Stmt("DELETE FROM author WHERE initiative_id = :iid", iid),
        Stmt("DELETE FROM attachment WHERE initiative_id = :iid", iid),
    ]
    for position, author in enumerate(authors, start=1):
        stmts.append(
            Stmt(
                "INSERT INTO author (initiative_id, position, full_name, share, member_id) "
                "VALUES (:iid, :position, :name, :share, :member)",
                {
                    **iid,
                    "position": position,
                    "name": author["name"],
                    "share": author["share"],
                    "member": member.id if position == 1 else None,
                },
            )
        )
    for f in answers.get("files", []):
        stmts.append(
            Stmt(
                "INSERT INTO attachment (initiative_id, kind, file_id, file_unique_id, file_name, mime_type, size) "
                "VALUES (:iid, :kind, :file_id, :file_unique_id, :file_name, :mime_type, :size)",
                {
                    **iid,
                    "kind": f["kind"],
                    "file_id": f["file_id"],
                    "file_unique_id": f["file_unique_id"],
                    "file_name": f.get("file_name"),
                    "mime_type": f.get("mime_type"),
                    "size": f.get("size"),
                },
            )
        )
    detail = {"number": number, "round": round_, "changed": list(changed),
              "similar": [[s.initiative_id, s.percent] for s in alike]}  # fmt: skip
    actor = actor_id or member.id
    stmts.append(event_stmt("initiative.submitted", detail, member_id=actor, initiative_id=draft.id))
    stmts.append(outbox_stmt("card.post", {"iid": draft.id, "round": round_, "notify": True}))  # card, then author
    result = await db.write_all(stmts)
    db.cache.drop(("draft", draft.id))
    return Submitted(number, draft.id, member.unit_id, round_, changed) if result.applied else None


async def similar_to(db: Database, title: str, solution: str, unit_id: int | None, exclude: int) -> list[Similar]:
    """What the card will list as most like this initiative; nothing (and a log line) if the search fails, so a
    submission never depends on it."""
    try:
        return await suggest(db, title=title, solution=solution, unit_id=unit_id, exclude=exclude)
    except Exception:
        log.exception("duplicate search failed for initiative %s; submitted without suggestions", exclude)
        return []


async def delete_draft(db: Database, member: Member, draft_id: int) -> bool:
    result = await db.write(
        Stmt(
            "UPDATE initiative SET status = 'deleted', updated_at = :now "
            "WHERE id = :iid AND author_id = :author AND status = 'draft'",
            {"now": utcnow(), "iid": draft_id, "author": member.id},
            guard=True,
        ),
        event_stmt("draft.deleted", {}, member_id=member.id, initiative_id=draft_id),
    )
    db.cache.drop(("draft", draft_id))
    return result.applied


async def list_for_author(db: Database, member: Member, *, drafts: bool) -> list[Initiative]:
    """The member's drafts and returned initiatives (newest edit first), or everything they submitted."""
    query = select(Initiative).where(Initiative.author_id == member.id)
    if drafts:  # with those a team member writes for their authors
        query = select(Initiative).where(or_(Initiative.author_id == member.id, Initiative.helper_id == member.id))
        query = query.where(col(Initiative.status).in_(EDITABLE)).order_by(col(Initiative.updated_at).desc())
    else:
        query = query.where(col(Initiative.status).not_in([DRAFT, DELETED])).order_by(col(Initiative.id).desc())
    async with db.session() as session:
        return list((await session.exec(query.limit(50))).all())
