"""The outbox: side effects that must follow a commit, written in the same transaction as the state change.

A sender claims an item (compare-and-set on ``claimed_until``, so two senders never deliver the same one),
delivers it and marks it done; a failed delivery is retried later, and one that can never succeed is closed
with the reason. A sender killed mid-delivery leaves a claim that lapses after ``LEASE``."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlmodel.sql.sqltypes import UTCDateTime

from storage.db import Database
from storage.handled import current
from storage.models import utcnow
from storage.writer import Stmt

LEASE = timedelta(seconds=20)
GIVE_UP_AFTER = 12  # attempts that failed for an unexpected reason; network errors and 429s are retried for ever


def outbox_stmt(kind: str, payload: dict[str, Any]) -> Stmt:
    """An outbox insert for the same op as the change, tagged with the update being handled (if any), so the
    handler can deliver just its own items right after its commit."""
    handling = current.get()
    return Stmt(
        "INSERT INTO outbox (kind, payload, origin, created_at, due_at, attempts) "
        "VALUES (:kind, :payload, :origin, :now, :now, 0)",
        {"kind": kind, "payload": json.dumps(payload, ensure_ascii=False), "now": utcnow(),
         "origin": handling.key if handling else None},
    )  # fmt: skip


@dataclass(frozen=True)
class Item:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    token: str = ""  # the claim this sender holds on it


_NOW = bindparam("now", type_=UTCDateTime())  # compared as the writer stores times, on SQLite as on PostgreSQL
_DUE = (
    "SELECT id, kind, payload, attempts FROM outbox WHERE done_at IS NULL AND due_at <= :now "
    "AND (claimed_until IS NULL OR claimed_until < :now)"
)


async def due(db: Database, origin: str | None = None, limit: int = 20) -> list[Item]:
    """What is due now and not being delivered, oldest first; only what one update's handling wrote when
    ``origin`` is given."""
    sql = text(_DUE + (" AND origin = :origin" if origin else "") + " ORDER BY id LIMIT :limit").bindparams(_NOW)
    async with db.read_engine.connect() as conn:
        rows = (await conn.execute(sql, {"now": utcnow(), "limit": limit, "origin": origin})).all()
    return [Item(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]


async def claim(db: Database, item: Item) -> Item | None:
    """Claim one item for ``LEASE`` (renewed while it is delivered); None when another sender has it."""
    now, token = utcnow(), secrets.token_hex(8)
    result = await db.write_unmarked(
        Stmt(
            "UPDATE outbox SET claimed_until = :until, claim = :token, attempts = attempts + 1 "
            "WHERE id = :id AND done_at IS NULL AND (claimed_until IS NULL OR claimed_until < :now)",
            {"until": now + LEASE, "token": token, "now": now, "id": item.id},
            guard=True,
        )
    )
    return replace(item, attempts=item.attempts + 1, token=token) if result.applied else None


async def renew(db: Database, item: Item) -> bool:
    """Keep the claim while a slow delivery goes on (group pacing may wait a minute); False if it was lost."""
    result = await db.write_unmarked(
        Stmt(
            "UPDATE outbox SET claimed_until = :until WHERE id = :id AND claim = :token AND done_at IS NULL",
            {"until": utcnow() + LEASE, "id": item.id, "token": item.token},
            guard=True,
        )
    )
    return result.applied


def done_stmt(item: Item, error: str | None = None) -> Stmt:
    return Stmt(
        "UPDATE outbox SET done_at = :now, claimed_until = NULL, error = :error WHERE id = :id AND claim = :token",
        {"now": utcnow(), "error": error[:300] if error else None, "id": item.id, "token": item.token},
    )


async def finish(db: Database, item: Item, *stmts: Stmt, error: str | None = None) -> None:
    """Mark the item delivered (or closed with ``error``), with whatever records the delivery."""
    await db.write_unmarked(*stmts, done_stmt(item, error))


async def retry_later(db: Database, item: Item, delay: timedelta, error: str) -> None:
    await db.write_unmarked(
        Stmt(
            "UPDATE outbox SET claimed_until = NULL, due_at = :due, error = :error WHERE id = :id AND claim = :token",
            {"due": utcnow() + delay, "error": error[:300], "id": item.id, "token": item.token},
        )
    )


async def release_claims(db: Database) -> None:
    """Forget every claim: only for a database one process owns (SQLite), at start, after a crash."""
    await db.write_unmarked(Stmt("UPDATE outbox SET claimed_until = NULL WHERE done_at IS NULL"))


async def pending(db: Database) -> list[tuple[int, str, datetime, str | None]]:
    """Items not yet delivered: id, kind, due time, last error."""
    sql = text("SELECT id, kind, due_at, error FROM outbox WHERE done_at IS NULL ORDER BY id")
    async with db.read_engine.connect() as conn:
        return [(r[0], r[1], r[2], r[3]) for r in (await conn.execute(sql)).all()]


async def count_pending(db: Database) -> int:
    """How many items are not yet delivered nor closed (a gauge for /metrics)."""
    async with db.read_engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM outbox WHERE done_at IS NULL"))).scalar() or 0)
