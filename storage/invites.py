"""Invite links: a token that places a new worker in a unit.

A token is a code people type as often as they open a link (Zalo has no link that opens the bot with a code): ten
letters and digits of ``CODE_ALPHABET`` (no 0/O, 1/I, no case: 50 bits), found however it is typed ("k7qmx 4pdr9",
"K7QMX-4PDR9"). Tokens made before (``token_urlsafe``: twelve of A-Z, a-z, 0-9, - and _) are found as they are
written, exactly as before; the two kinds never meet, their lengths differ."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, text
from sqlmodel import col, select

from storage.channels import CODE_ALPHABET, as_typed, random_code
from storage.db import Database
from storage.events import event_stmt
from storage.models import Invite, utcnow
from storage.writer import Stmt

CODE_LENGTH = 10  # 32 symbols: 50 bits, and a Telegram start payload (A-Z, a-z, 0-9, _ and -, at most 64)


def typed_code(typed: str) -> str | None:
    """The code of the current kind that ``typed`` stands for (any case, spaces and dashes left out), or None."""
    code = as_typed(typed)
    return code if len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code) else None


def shown_code(token: str) -> str:
    """A token as people read and type it: a current code in two groups of five ("K7QMX-4PDR9"), an older token
    as it is (its dashes are part of it)."""
    return f"{token[:5]}-{token[5:]}" if typed_code(token) == token else token


async def create_invite(db: Database, *, unit_id: int, by_id: int | None, days: int | None) -> Invite:
    if days is not None and not 1 <= days <= 3650:  # 0 would mean "never expires", a huge number overflows
        raise ValueError(f"days out of range: {days}")
    token, now = random_code(CODE_LENGTH), utcnow()
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


async def valid_invite(db: Database, typed: str, now: datetime | None = None) -> Invite | None:
    """The invite a typed or opened token names, if it exists, is not revoked and has not expired."""
    now = now or utcnow()
    exact = typed.strip()
    if not exact:
        return None
    tokens = [exact] + [code for code in (typed_code(exact),) if code and code != exact]
    async with db.session() as session:
        found = {i.token: i for i in (await session.exec(select(Invite).where(col(Invite.token).in_(tokens)))).all()}
    invite = next((found[token] for token in tokens if token in found), None)  # as written first
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
