"""The duplicate search and the database: what a submission writes (``doc_stmt``), and each process's index of
the ``similar_doc`` table, loaded at the first search and brought up to date before every search by reading the
rows changed since (so a submission made by another worker is found too).

``changed_ms`` is the database's clock when the row was written. What changed in the last OVERLAP_MS is looked at
again (its ids and stamps only), so a transaction that committed after a later one is still read."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database
from storage.similar.index import TermIndex
from storage.similar.text import prepare
from storage.writer import Stmt

log = logging.getLogger(__name__)
OVERLAP_MS = 30_000
LOAD_ROWS = 100_000
BACKFILL_ROWS = 2_000
_UPSERT = (
    "INSERT INTO similar_doc (initiative_id, unit_id, title, body, terms, changed_ms) "
    "VALUES (:iid, :unit, :title, :body, :terms, :ms) ON CONFLICT (initiative_id) DO "
)
_ROWS = "SELECT initiative_id, coalesce(unit_id, 0), terms, changed_ms FROM similar_doc"
_NOW_MS = {True: "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
           False: "CAST(extract(epoch FROM now()) * 1000 AS BIGINT)"}  # fmt: skip
_LEAST = {True: "min", False: "least"}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def doc_stmt(db: Database, initiative_id: int, unit_id: int | None, title: str, solution: str, *,
             replace: bool = True) -> Stmt:  # fmt: skip
    """Index (again) what an initiative says now: written in the same transaction as its submission."""
    p = prepare(title, solution)
    action = (
        "UPDATE SET unit_id = excluded.unit_id, title = excluded.title, body = excluded.body, "
        "terms = excluded.terms, changed_ms = excluded.changed_ms"
        if replace
        else "NOTHING"
    )
    params = {"iid": initiative_id, "unit": unit_id, "title": p.title, "body": p.body, "terms": p.terms}
    return Stmt(_UPSERT.replace(":ms", _NOW_MS[db.is_sqlite]) + action, params)


class Search:
    """One process's index of one database."""

    def __init__(self) -> None:
        self.index = TermIndex()
        self.loaded = False
        self.latest = 0  # the highest changed_ms read
        self.recent: dict[int, int] = {}  # initiative → changed_ms, for the rows inside the overlap
        self._lock = asyncio.Lock()

    async def ready(self, db: Database, conn: AsyncConnection) -> TermIndex:
        async with self._lock:
            if not self.loaded:
                await backfill(db)
                self.index = TermIndex()  # afresh, should an earlier attempt have failed half-way
                await self._load(db)
                self.loaded = True
            await self._catch_up(conn, db.is_sqlite)
        return self.index

    async def _load(self, db: Database) -> None:
        """Every row, in chunks: each chunk's segment is built in a thread while the next chunk is read."""
        started, stamps, building = time.monotonic(), [], None
        async for rows in _chunks(db):
            ids, units, blobs, ms = zip(*rows, strict=True)
            if building is not None:
                await building
            building = asyncio.create_task(asyncio.to_thread(self.index.load, ids, units, blobs))
            stamps.append(np.array([ids, ms], np.int64))
        if building is not None:
            await building
        if stamps:
            ids, ms = np.concatenate(stamps, axis=1)
            self.latest = int(ms.max())
            fresh = ms > self.latest - OVERLAP_MS
            self.recent = dict(zip(ids[fresh].tolist(), ms[fresh].tolist(), strict=True))
        log.info("duplicate search: %d initiatives indexed in %.1f s", self.index.live, time.monotonic() - started)

    async def _catch_up(self, conn: AsyncConnection, sqlite: bool) -> None:
        """Read what was written since the latest row read, and look again at the last OVERLAP_MS."""
        since = f"{_LEAST[sqlite]}(:latest, {_NOW_MS[sqlite]} - :overlap)"
        stamps = (await conn.execute(text(f"SELECT initiative_id, changed_ms, {since} FROM similar_doc "
                                          f"WHERE changed_ms > {since}"),
                                     {"latest": self.latest, "overlap": OVERLAP_MS})).all()  # fmt: skip
        unseen = [iid for iid, ms, _ in stamps if self.recent.get(iid) != ms]
        rows = (await conn.execute(_BY_ID, {"ids": unseen})).all() if unseen else []
        for iid, unit, blob, ms in sorted(rows, key=lambda r: r[3]):
            self.index.put(iid, unit, bytes(blob))
            self.recent[iid], self.latest = ms, max(self.latest, ms)
        if stamps:
            floor = stamps[0][2]
            self.recent = {i: ms for i, ms in self.recent.items() if ms > floor}


async def _chunks(db: Database) -> AsyncIterator[list[Any]]:
    """The rows of ``similar_doc`` through the driver itself: SQLAlchemy's rows cost twice the time at 1,000,000."""
    async with db.read_engine.connect() as conn:
        raw: Any = (await conn.get_raw_connection()).driver_connection  # aiosqlite's or asyncpg's connection
        if db.is_sqlite:
            cursor = await raw.execute(_ROWS)
            while rows := await cursor.fetchmany(LOAD_ROWS):
                yield rows
            await cursor.close()
            return
        async with raw.transaction():
            cursor = await raw.cursor(_ROWS)
            while rows := await cursor.fetch(LOAD_ROWS):
                yield rows


_BY_ID = text(_ROWS + " WHERE initiative_id IN :ids").bindparams(bindparam("ids", expanding=True))
_searches: WeakKeyDictionary[Database, Search] = WeakKeyDictionary()


async def index_of(db: Database, conn: AsyncConnection) -> TermIndex:
    """This process's index of the database, current as of now (loaded on first use)."""
    search = _searches.get(db)
    if search is None:
        search = _searches[db] = Search()
    return await search.ready(db, conn)


async def warm(db: Database) -> None:
    """Load the index now (at start-up) rather than at the first search; a failure is logged, and the first search
    tries again."""
    try:
        async with db.read_engine.connect() as conn:
            await index_of(db, conn)
    except Exception:
        log.exception("duplicate search: the index could not be loaded at start-up")


_COUNTS = text("SELECT (SELECT count(*) FROM initiative WHERE number IS NOT NULL), (SELECT count(*) FROM similar_doc)")
_MISSING = text(
    "SELECT i.id, i.unit_id, i.title, coalesce(i.submitted_answers, i.answers) FROM initiative i "
    "LEFT JOIN similar_doc d ON d.initiative_id = i.id "
    "WHERE i.id > :after AND i.number IS NOT NULL AND d.initiative_id IS NULL ORDER BY i.id LIMIT :n"
)


async def backfill(db: Database) -> int:
    """Index the submitted initiatives that have no row yet (those of a database from before this search, or
    loaded by other means), in batches in the order of their ids; returns how many."""
    done, after = 0, 0
    async with db.read_engine.connect() as conn:
        numbered, indexed = (await conn.execute(_COUNTS)).one()
    while numbered > indexed + done:
        async with db.read_engine.connect() as conn:
            rows = (await conn.execute(_MISSING, {"after": after, "n": BACKFILL_ROWS})).all()
        if not rows:
            break
        await db.write_unmarked(*await asyncio.to_thread(_docs, db, rows))  # folding is CPU: off the event loop
        done, after = done + len(rows), rows[-1][0]
    if done:
        log.info("duplicate search: %d submitted initiatives indexed for the first time", done)
    return done


def _docs(db: Database, rows: Sequence[Any]) -> list[Stmt]:
    return [doc_stmt(db, iid, unit, title or "", _solution(answers), replace=False)
            for iid, unit, title, answers in rows]  # fmt: skip


def _solution(answers: Any) -> str:
    try:
        value = json.loads(answers or "{}").get("solution")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""
