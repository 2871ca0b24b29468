"""Channels other than Telegram: the ids of their users and groups, members who use two channels, and the inbox
of updates fetched from a platform whose fetch is its acknowledgment."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import text

from forms.text import fold
from storage.cache import MISSING
from storage.db import Database
from storage.events import event_stmt
from storage.models import utcnow
from storage.writer import Stmt

LINK_TTL = timedelta(minutes=30)
CLAIM_TTL = timedelta(days=30)  # the code the team gives a person it added, to become that member on their phone
NO_CHAT = -(2**62)  # members added by the team get addresses below this: no chat of any channel is there
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: read aloud or copied from a phone
_TYPED_GAPS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")  # spaces and dashes people add to read a code in parts


def random_code(length: int) -> str:
    """A code of ``length`` symbols of ``CODE_ALPHABET`` (5 bits each), for people to type."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def as_typed(code: str) -> str:
    """A code as typed ("k7qmx 4pdr9", "K7QMX-4PDR9") in the form it is stored: no spaces or dashes, upper case."""
    return _TYPED_GAPS.sub("", code).upper()


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
    code = random_code(8)
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
    code = as_typed(code)
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
    if owner is not None and owner != member_id and added:  # they registered on their own meanwhile
        if not await _same_person(db, member_id, int(owner)):
            return Linked.TAKEN, member_id
        moved = await _initiatives_of(db, member_id)
        result = await db.write(used, *_merge(member_id, int(owner), now))
        db.cache.drop(("member", address))
        for initiative_id in moved:  # cached drafts still name the removed record as their author
            db.cache.drop(("draft", initiative_id))
        return (Linked.MERGED if result.applied else Linked.UNKNOWN), int(owner)
    if owner is not None:
        return (Linked.SAME if owner == member_id else Linked.TAKEN), member_id
    keep_old = () if added else (Stmt(
        "INSERT INTO member_address (address, member_id, created_at) VALUES (:old, :member, :now)",
        {"old": primary, "member": member_id, "now": now}),)  # fmt: skip
    # a claimed person has a chat now: their other codes (one each time the team wrote for them) are void
    void_others = [Stmt("DELETE FROM link_code WHERE member_id = :member AND code <> :code",
                        {"member": member_id, "code": code})] if added else []  # fmt: skip
    result = await db.write(
        used,
        *keep_old,
        Stmt(
            "UPDATE member SET tg_user_id = :new, reachable = :yes, updated_at = :now "
            "WHERE id = :member AND tg_user_id = :old",  # as read: a code used at the same moment changes nothing
            {"new": address, "yes": True, "member": member_id, "now": now, "old": primary},
            guard=True,
        ),
        *void_others,
        event_stmt("member.linked", {"address": address, "previous": primary}, member_id=member_id),
    )
    db.cache.drop(("member", address))
    db.cache.drop(("member", primary))
    return ((Linked.CLAIMED if added else Linked.LINKED) if result.applied else Linked.UNKNOWN), member_id


async def _same_person(db: Database, added: int, owner: int) -> bool:
    """Whether the registered member ``owner`` may take over what the team wrote for ``added``: neither holds a role
    (a helper who knows the code is not the person), and they have the same phone or the same name (its words in
    any order, with or without diacritics)."""
    async with db.read_engine.connect() as conn:
        roles = (await conn.execute(text("SELECT 1 FROM role WHERE member_id IN (:a, :o) LIMIT 1"),
                                    {"a": added, "o": owner})).first()  # fmt: skip
        found = await conn.execute(text("SELECT id, full_name, phone FROM member WHERE id IN (:a, :o)"),
                                   {"a": added, "o": owner})  # fmt: skip
        rows = {r[0]: (r[1], r[2]) for r in found}
    if roles is not None or len(rows) != 2:
        return False
    (name_a, phone_a), (name_o, phone_o) = rows[added], rows[owner]
    return bool(phone_a and phone_a == phone_o) or sorted(fold(name_a).split()) == sorted(fold(name_o).split())


async def _initiatives_of(db: Database, member_id: int) -> list[int]:
    async with db.read_engine.connect() as conn:
        rows = await conn.execute(text("SELECT id FROM initiative WHERE author_id = :m"), {"m": member_id})
        return [int(r[0]) for r in rows]


def _merge(added: int, owner: int, now: datetime) -> list[Stmt]:
    """The person the team added (``added``, no chat) registered on their own meanwhile (``owner``): what was
    written for them becomes the registered member's, and the added record goes (with every code made for it)."""
    moves = {"initiative": "author_id", "author": "member_id", "event": "member_id"}
    return [
        Stmt("SELECT 1 FROM member WHERE id = :added AND tg_user_id <= :no_chat",  # still without a chat
             {"added": added, "no_chat": NO_CHAT}, guard=True, returning=True),
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
