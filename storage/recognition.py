"""After the team's check: the workplace's recognition (công nhận) of an initiative, then its upload to the TLĐ
system. Each is one compare-and-set that also moves the initiative between tally rows, writes the history and
tells the author through the outbox; many at once are one transaction (all or nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select

from storage.db import Database
from storage.events import event_stmt
from storage.models import Initiative, utcnow
from storage.outbox import outbox_stmt
from storage.progress import counted_change
from storage.writer import Stmt


@dataclass(frozen=True)
class Decision:
    """The recognition decision: its number, date and the body that issued it."""

    number: str
    on: date
    body: str | None = None


def _recognise(initiative_id: int, member_id: int, decision: Decision) -> list[Stmt]:
    change = Stmt(
        "UPDATE initiative SET decision_no = :no, decision_on = :on, decision_body = :body, recognised_by_id = :m, "
        "updated_at = :now WHERE id = :id AND status = 'confirmed' AND decision_no IS NULL",
        {"no": decision.number, "on": decision.on, "body": decision.body, "m": member_id, "now": utcnow(),
         "id": initiative_id},
        guard=True,
    )  # fmt: skip
    detail = {"no": decision.number, "on": decision.on.isoformat(), "body": decision.body}
    return [
        *counted_change(initiative_id, change),
        event_stmt("recognition.recorded", detail, member_id=member_id, initiative_id=initiative_id),
        outbox_stmt("author.notice", {"iid": initiative_id, "status": "recognised", "reason": None}),
    ]


async def recognise(db: Database, member_id: int, decisions: dict[int, Decision]) -> bool:
    """Record the decisions (initiative id → decision); False, and nothing recorded, when any of them is not a
    checked initiative without a recognition any more."""
    stmts = [s for iid, decision in decisions.items() for s in _recognise(iid, member_id, decision)]
    return bool(stmts) and (await db.write_all(stmts)).applied


def _upload(initiative_id: int, member_id: int, on: date) -> list[Stmt]:
    change = Stmt(
        "UPDATE initiative SET uploaded_on = :on, uploaded_by_id = :m, updated_at = :now "
        "WHERE id = :id AND status = 'confirmed' AND decision_no IS NOT NULL AND uploaded_on IS NULL",
        {"on": on, "m": member_id, "now": utcnow(), "id": initiative_id},
        guard=True,
    )
    return [
        *counted_change(initiative_id, change),
        event_stmt("recognition.uploaded", {"on": on.isoformat()}, member_id=member_id, initiative_id=initiative_id),
        outbox_stmt("author.notice", {"iid": initiative_id, "status": "uploaded", "reason": None}),
    ]


async def mark_uploaded(db: Database, member_id: int, initiative_ids: list[int], on: date) -> bool:
    """Mark recognised initiatives as uploaded to the TLĐ system on ``on``; all or none."""
    stmts = [s for iid in initiative_ids for s in _upload(iid, member_id, on)]
    return bool(stmts) and (await db.write_all(stmts)).applied


async def undo(db: Database, member_id: int, initiative_id: int, reason: str, *, uploaded: bool) -> bool:
    """Take back the last step: the upload when ``uploaded``, else the recognition (only when not uploaded)."""
    if uploaded:
        sql = ("UPDATE initiative SET uploaded_on = NULL, uploaded_by_id = NULL, updated_at = :now "
               "WHERE id = :id AND uploaded_on IS NOT NULL")  # fmt: skip
    else:
        sql = ("UPDATE initiative SET decision_no = NULL, decision_on = NULL, decision_body = NULL, "
               "recognised_by_id = NULL, updated_at = :now WHERE id = :id AND decision_no IS NOT NULL "
               "AND uploaded_on IS NULL")  # fmt: skip
    change = Stmt(sql, {"now": utcnow(), "id": initiative_id}, guard=True)
    kind = "recognition.upload_undone" if uploaded else "recognition.undone"
    result = await db.write_all(
        [
            *counted_change(initiative_id, change),
            event_stmt(kind, {"reason": reason}, member_id=member_id, initiative_id=initiative_id),
            outbox_stmt("author.notice", {"iid": initiative_id, "status": kind, "reason": reason}),
        ]
    )
    return result.applied


async def by_numbers(db: Database, numbers: list[str]) -> dict[str, Initiative]:
    """The initiatives with these numbers (those that exist)."""
    if not numbers:
        return {}
    async with db.session() as session:
        rows = await session.exec(select(Initiative).where(col(Initiative.number).in_(numbers)))
        return {item.number or "": item for item in rows.all()}


CHECKABLE = ("submitted", "in_review", "changes_requested", "confirmed")  # the team may weigh the benefit then


async def set_checked_benefit(db: Database, member_id: int, initiative_id: int, per_year: int | None,
                              note: str | None) -> bool:  # fmt: skip
    """Record the support team's own figure for the money benefit a year, with its note, next to the author's
    (None takes it away). Totals use it from now on; the history, the author and the cards are told."""
    change = Stmt(
        "UPDATE initiative SET checked_benefit = :v, checked_benefit_note = :note, checked_benefit_by_id = :m, "
        f"updated_at = :now WHERE id = :id AND status IN {CHECKABLE!r}"
        + (" AND checked_benefit IS NOT NULL" if per_year is None else ""),
        {"v": per_year, "note": note, "m": member_id if per_year is not None else None, "now": utcnow(),
         "id": initiative_id},
        guard=True,
    )  # fmt: skip
    kind = "benefit.checked" if per_year is not None else "benefit.check_removed"
    result = await db.write_all(
        [
            *counted_change(initiative_id, change),
            event_stmt(kind, {"amount": per_year, "reason": note}, member_id=member_id, initiative_id=initiative_id),
            outbox_stmt("author.notice", {"iid": initiative_id, "status": kind, "reason": note, "amount": per_year}),
            outbox_stmt("card.refresh", {"iid": initiative_id}),
        ]
    )
    return result.applied
