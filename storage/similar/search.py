"""Suggestions: the initiatives most like a new one, in the subtree of its unit's parent (its own unit, its
siblings and everything below them), scored precisely with rapidfuzz on the folded text.

The index proposes the ``CANDIDATES`` initiatives sharing the most rare terms; each is then scored as the share of
characters its title and its solution's start have in common with the new one's, words in alphabetical order
(so word order does not count, and a typo costs only its letters)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import Indel
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database
from storage.similar.store import index_of
from storage.similar.text import Prepared, prepare

CANDIDATES = 100
SHOWN = 3
MIN_PERCENT = 60  # below this, two initiatives are not worth comparing by hand
TITLE_WEIGHT = 0.6
LISTED = ("submitted", "in_review", "changes_requested", "confirmed", "rejected")  # not drafts, not duplicates

_TOP = text(
    "SELECT coalesce((SELECT parent_id FROM unit WHERE id = :unit), :unit), "
    "(SELECT parent_id FROM unit WHERE id = coalesce((SELECT parent_id FROM unit WHERE id = :unit), :unit)), "
    "(SELECT count(*) FROM unit WHERE parent_id IS NULL)"
)
_DOWN = (
    "WITH RECURSIVE down(id, depth) AS (SELECT CAST(:top AS INTEGER), 0 "  # typed: PostgreSQL reads text otherwise
    "UNION ALL SELECT u.id, down.depth + 1 FROM unit u JOIN down ON u.parent_id = down.id WHERE down.depth < 64) "
    "SELECT {} FROM down"
)
_JOINED = {True: text(_DOWN.format("group_concat(id)")), False: text(_DOWN.format("string_agg(id::text, ',')"))}
_DOCS = text(
    "SELECT d.initiative_id, d.title, d.body, i.number, i.title, i.status FROM similar_doc d "
    "JOIN initiative i ON i.id = d.initiative_id WHERE d.initiative_id IN :ids AND i.status IN :listed"
).bindparams(bindparam("ids", expanding=True), bindparam("listed", expanding=True))


@dataclass(frozen=True)
class Similar:
    initiative_id: int
    number: str
    title: str
    status: str
    percent: int


def similarity(a: Prepared, b_title: str, b_body: str) -> int:
    """0–100: how alike two initiatives read (title 60 %, solution 40 %; the title alone when a solution is
    missing)."""
    title = Indel.normalized_similarity(a.title, b_title)
    if not a.body or not b_body:
        return round(100 * title)
    return round(100 * (TITLE_WEIGHT * title + (1 - TITLE_WEIGHT) * Indel.normalized_similarity(a.body, b_body)))


async def scope(conn: AsyncConnection, unit_id: int | None, sqlite: bool) -> np.ndarray | None:
    """The ids of the units whose initiatives are compared (the subtree of the unit's parent); None for every
    unit (no unit given, or the whole tree)."""
    if unit_id is None:
        return None
    top, above, roots = (await conn.execute(_TOP, {"unit": unit_id})).one()
    if above is None and roots == 1:
        return None
    joined = (await conn.execute(_JOINED[sqlite], {"top": top})).scalar() or str(top)  # one row: fast to read
    return np.array(joined.split(","), np.int64)


async def suggest(db: Database, *, title: str, solution: str, unit_id: int | None, exclude: int | None = None,
                  limit: int = SHOWN) -> list[Similar]:  # fmt: skip
    """Up to ``limit`` existing initiatives like this one, most alike first, each at least MIN_PERCENT alike."""
    query = prepare(title, solution)
    async with db.read_engine.connect() as conn:  # one connection: on PostgreSQL each costs a ping
        index = await index_of(db, conn)
        allowed = await scope(conn, unit_id, db.is_sqlite)
        ids = [i for i in index.find(np.frombuffer(query.terms, "<u4"), allowed, CANDIDATES + 1) if i != exclude]
        rows = (await conn.execute(_DOCS, {"ids": ids[:CANDIDATES], "listed": LISTED})).all() if ids else []
    found = [Similar(iid, number, name or "", status, similarity(query, t, b))
             for iid, t, b, number, name, status in rows]  # fmt: skip
    found.sort(key=lambda s: (-s.percent, s.initiative_id))
    return [s for s in found if s.percent >= MIN_PERCENT][:limit]
