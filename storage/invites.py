"""Invite links: a token that places a new worker in a unit."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, text
from sqlmodel import col, select

from storage.db import Database
from storage.events import event_stmt
from storage.models import Invite, utcnow
from storage.writer import Stmt


async def create_invite(db: Database, *, unit_id: int, by_id: int | None, days: int | None) -> Invite:
    if days is not None and not 1 <= days <= 3650:  # 0 would mean "never expires", a huge number overflows
        raise ValueError(f"days out of range: {days}")
    token, now = secrets.token_urlsafe(9), utcnow()
    expires = now + timedelta(days=days) if days is not None else None
    await db.write(
        Stmt(
            "INSERT INTO invite (token, unit_id, created_by_id, created_at, expires_at, uses) "
            "VALUES (:token, :unit, :by, :now, :expires, 0)",
            {"token": token, "unit": unit_id, "by": by_id, "now": now, "expires": expires},
        ),
        event_stmt("invite.created", {"unit_id": unit_id, "days": days}, member_id=by_id),
    )
    return Invite(token=token, unit_id=unit_id, created_by_id=by_id, created_at=now, expires_at=expires)


async def valid_invite(db: Database, token: str, now: datetime | None = None) -> Invite | None:
    """The invite if it exists, is not revoked and has not expired."""
    now = now or utcnow()
    async with db.session() as session:
        invite = (await session.exec(select(Invite).where(Invite.token == token))).first()
    if invite is None or invite.revoked_at is not None or (invite.expires_at and invite.expires_at <= now):
        return None
    return invite


async def use_invite(db: Database, token: str) -> None:
    await db.write(Stmt("UPDATE invite SET uses = uses + 1 WHERE token = :token", {"token": token}))


async def active_invites(db: Database, unit_ids: list[int] | None) -> list[Invite]:
    """Unexpired, unrevoked links of these units and every unit below them (of every unit: None), newest first."""
    if unit_ids is None:
        return await _active(db, None)
    if not unit_ids:
        return []
    subtree = text(
        "WITH RECURSIVE down(id) AS (SELECT id FROM unit WHERE id IN :roots "
        "UNION ALL SELECT u.id FROM unit u JOIN down ON u.parent_id = down.id) SELECT id FROM down"
    ).bindparams(bindparam("roots", expanding=True))
    async with db.read_engine.connect() as conn:
        units = [row[0] for row in await conn.execute(subtree, {"roots": tuple(unit_ids)})]
    return await _active(db, units)


async def _active(db: Database, units: list[int] | None) -> list[Invite]:
    now = utcnow()
    query = select(Invite).where(col(Invite.revoked_at).is_(None))
    if units is not None:
        query = query.where(col(Invite.unit_id).in_(units))
    async with db.session() as session:
        invites = (await session.exec(query.order_by(col(Invite.id).desc()))).all()
    return [i for i in invites if not i.expires_at or i.expires_at > now]


async def revoke_invite(db: Database, invite_id: int, by_id: int | None) -> bool:
    result = await db.write(
        Stmt("UPDATE invite SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL",
             {"now": utcnow(), "id": invite_id}, guard=True),
        event_stmt("invite.revoked", {"invite_id": invite_id}, member_id=by_id),
    )  # fmt: skip
    return result.applied
