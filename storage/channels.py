"""Channels other than Telegram: the ids of their users and groups, members who use two channels, and the inbox
of updates fetched from a platform whose fetch is its acknowledgment."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import text

from storage.cache import MISSING
from storage.db import Database
from storage.events import event_stmt
from storage.models import utcnow
from storage.writer import Stmt

LINK_TTL = timedelta(minutes=30)
CLAIM_TTL = timedelta(days=30)  # the code the team gives a person it added, to become that member on their phone
NO_CHAT = -(2**62)  # members added by the team get addresses below this: no chat of any channel is there
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read aloud or copied from a phone


async def remember_address(db: Database, address: int, channel: str, external_id: str) -> None:
    """Record which platform id an address stands for (once; the address is derived from the id)."""
    if db.cache.get(("address", address)) == external_id:
        return
    await db.write_unmarked(
        Stmt(
            "INSERT INTO channel_address (address, channel, external_id, created_at) "
            "VALUES (:address, :channel, :external, :now) ON CONFLICT DO NOTHING",
            {"address": address, "channel": channel, "external": external_id, "now": utcnow()},
        )
    )
    db.cache.put(("address", address), external_id)


async def external_id(db: Database, address: int) -> str | None:
    """The platform's own id of an address, or None when no update from it was ever seen."""
    cached = db.cache.get(("address", address))
    if cached is not MISSING:
        return str(cached)
    async with db.read_engine.connect() as conn:
        found = (
            await conn.execute(
                text("SELECT external_id FROM channel_address WHERE address = :address"), {"address": address}
            )
        ).scalar()
    if found is not None:
        db.cache.put(("address", address), found)
    return found


async def new_link_code(db: Database, member_id: int, now: datetime | None = None, ttl: timedelta = LINK_TTL) -> str:
    """A one-time code that links the channel it is typed on to this member, valid for ``ttl`` (30 minutes; 30 days
    for a person the team added, who gets it on paper or by phone)."""
    now = now or utcnow()
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    await db.write(
        Stmt(
            "INSERT INTO link_code (code, member_id, expires_at) VALUES (:code, :member, :expires)",
            {"code": code, "member": member_id, "expires": now + ttl},
        )
    )
    return code


class Linked(StrEnum):
    LINKED = "linked"
    UNKNOWN = "unknown"  # no such code, used, or expired
    TAKEN = "taken"  # this account is already another member
    SAME = "same"  # this account already is that member
    CLAIMED = "claimed"  # a person the team added now uses the bot: this account is theirs
    MERGED = "merged"  # a person the team added had registered on their own meanwhile: now one member


async def use_link_code(
    db: Database, code: str, address: int, now: datetime | None = None
) -> tuple[Linked, int | None]:
    """Link ``address`` to the member who asked for ``code``; it becomes their first address (where notices go),
    the one they had stays linked. Returns the outcome and the member's id."""
    now = now or utcnow()
    code = code.strip().upper()
    async with db.read_engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT member_id FROM link_code WHERE code = :code AND used_at IS NULL AND expires_at > :now"),
                {"code": code, "now": now},
            )
        ).first()
        if row is None:
            return Linked.UNKNOWN, None
        owner = (
            await conn.execute(
                text(
                    "SELECT id FROM member WHERE tg_user_id = :a "
                    "UNION SELECT member_id FROM member_address WHERE address = :a"
                ),
                {"a": address},
            )
        ).scalar()
        primary = (await conn.execute(text("SELECT tg_user_id FROM member WHERE id = :m"), {"m": row[0]})).scalar()
    member_id = int(row[0])
    used = Stmt(
        "UPDATE link_code SET used_at = :now WHERE code = :code AND used_at IS NULL AND expires_at > :now",
        {"code": code, "now": now},
        guard=True,
    )
    added = primary is not None and int(primary) <= NO_CHAT  # a person the team added, with no chat until now
    if owner is not None and owner != member_id and added and not await _has_roles(db, member_id):
        result = await db.write(used, *_merge(member_id, int(owner), now))  # registered meanwhile: one member
        db.cache.drop(("member", address))
        return (Linked.MERGED if result.applied else Linked.UNKNOWN), int(owner)
    if owner is not None:
        return (Linked.SAME if owner == member_id else Linked.TAKEN), member_id
    keep_old = () if added else (Stmt(
        "INSERT INTO member_address (address, member_id, created_at) VALUES (:old, :member, :now)",
        {"old": primary, "member": member_id, "now": now}),)  # fmt: skip
    result = await db.write(
        used,
        *keep_old,
        Stmt(
            "UPDATE member SET tg_user_id = :new, reachable = :yes, updated_at = :now WHERE id = :member",
            {"new": address, "yes": True, "member": member_id, "now": now},
        ),
        event_stmt("member.linked", {"address": address, "previous": primary}, member_id=member_id),
    )
    db.cache.drop(("member", address))
    db.cache.drop(("member", primary))
    return ((Linked.CLAIMED if added else Linked.LINKED) if result.applied else Linked.UNKNOWN), member_id


async def _has_roles(db: Database, member_id: int) -> bool:
    async with db.read_engine.connect() as conn:
        sql = text("SELECT 1 FROM role WHERE member_id = :m LIMIT 1")
        return (await conn.execute(sql, {"m": member_id})).first() is not None


def _merge(added: int, owner: int, now: datetime) -> list[Stmt]:
    """The person the team added (``added``, no chat) registered on their own meanwhile (``owner``): what was
    written for them becomes the registered member's, and the added record goes."""
    moves = {"initiative": "author_id", "author": "member_id", "event": "member_id"}
    return [
        *(Stmt(f"UPDATE {table} SET {column} = :owner WHERE {column} = :added", {"owner": owner, "added": added})
          for table, column in moves.items()),
        Stmt("DELETE FROM link_code WHERE member_id = :added", {"added": added}),
        Stmt("DELETE FROM member_address WHERE member_id = :added", {"added": added}),
        Stmt("DELETE FROM member WHERE id = :added", {"added": added}),
        event_stmt("member.merged", {"added": added}, member_id=owner),
    ]  # fmt: skip


async def inbox_put(db: Database, key: str, source: str, payload: str) -> None:
    """Keep a fetched update until it is handled (before handling it: the platform will not send it again)."""
    await db.write_unmarked(
        Stmt(
            "INSERT INTO inbox (key, source, payload, received_at) VALUES (:key, :source, :payload, :now) "
            "ON CONFLICT DO NOTHING",
            {"key": key, "source": source, "payload": payload, "now": utcnow()},
        )
    )


async def inbox_done(db: Database, key: str) -> None:
    await db.write_unmarked(Stmt("DELETE FROM inbox WHERE key = :key", {"key": key}))


async def inbox_left(db: Database, source: str) -> list[tuple[str, str]]:
    """What an earlier run fetched and did not finish, oldest first."""
    async with db.read_engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT key, payload FROM inbox WHERE source = :source ORDER BY received_at, key"), {"source": source}
        )
        return [(str(key), str(payload)) for key, payload in rows]
