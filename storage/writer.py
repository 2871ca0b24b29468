"""Group commit: every write of the bot goes through one queue; whatever queued while the previous commit
ran is written in the next single transaction, and each caller is answered only after that commit.

On SQLite the whole batch runs in one hop to a dedicated thread that owns a plain ``sqlite3`` connection
(the same design aiosqlite uses, without one thread hop per statement). On PostgreSQL a batch is one
transaction on an SQLAlchemy async connection. Writes are declarative statements with named parameters,
so the same SQL runs on both.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import deque
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stmt:
    sql: str
    params: Mapping[str, Any] = field(default_factory=dict)
    guard: bool = False  # when it changes no row, the whole op is undone and reported as not applied
    returning: bool = False
    duplicate: bool = False  # a guard whose failure means "this update was already handled"


@dataclass(frozen=True)
class OpResult:
    applied: bool
    rows: Sequence[Sequence[Any]] = ()
    duplicate: bool = False  # undone because its update was already handled


class _NotApplied(Exception):
    def __init__(self, duplicate: bool) -> None:
        self.duplicate = duplicate


class Backend(Protocol):
    async def start(self) -> None: ...
    async def run_batch(self, ops: Sequence[Sequence[Stmt]]) -> list[OpResult]: ...
    async def close(self) -> None: ...


def _sqlite_param(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.utcoffset() is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


class SqliteBackend:
    def __init__(self, path: str, busy_timeout_ms: int) -> None:
        self._path, self._busy = path, busy_timeout_ms
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._conn: sqlite3.Connection | None = None

    def _open(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, timeout=self._busy / 1000)
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            f"busy_timeout={self._busy}",
            "foreign_keys=ON",
        ):
            conn.execute(f"PRAGMA {pragma}")
        self._conn = conn

    async def start(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._pool, self._open)

    def _run(self, ops: Sequence[Sequence[Stmt]]) -> list[OpResult]:
        conn = self._conn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            results = [self._op(conn, op) for op in ops]
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return results

    @staticmethod
    def _op(conn: sqlite3.Connection, op: Sequence[Stmt]) -> OpResult:
        guarded = any(s.guard or s.duplicate for s in op)
        if guarded:
            conn.execute("SAVEPOINT op")
        rows: list[Any] = []
        for s in op:
            cur = conn.execute(s.sql, {k: _sqlite_param(v) for k, v in s.params.items()})
            fetched = cur.fetchall() if s.returning else []
            if s.returning:
                rows = fetched
            if (s.guard or s.duplicate) and (len(fetched) if s.returning else cur.rowcount) == 0:
                conn.execute("ROLLBACK TO op")
                conn.execute("RELEASE op")
                return OpResult(False, duplicate=s.duplicate)
        if guarded:
            conn.execute("RELEASE op")
        return OpResult(True, rows)

    async def run_batch(self, ops: Sequence[Sequence[Stmt]]) -> list[OpResult]:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._run, ops)

    async def close(self) -> None:
        if self._conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._pool, self._conn.close)
        self._pool.shutdown(wait=True)


class SqlAlchemyBackend:
    """PostgreSQL (or any SQLAlchemy async engine): one transaction per batch, a savepoint per guarded op."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def start(self) -> None:
        return None

    async def run_batch(self, ops: Sequence[Sequence[Stmt]]) -> list[OpResult]:
        async with self._engine.connect() as conn, conn.begin():
            return [await self._op(conn, op) for op in ops]

    @staticmethod
    async def _op(conn: AsyncConnection, op: Sequence[Stmt]) -> OpResult:
        savepoint = await conn.begin_nested() if any(s.guard or s.duplicate for s in op) else None
        rows: list[Any] = []
        try:
            for s in op:
                result = await conn.execute(text(s.sql), dict(s.params))
                fetched = [tuple(r) for r in result.fetchall()] if s.returning else []
                if s.returning:
                    rows = fetched
                if (s.guard or s.duplicate) and (len(fetched) if s.returning else result.rowcount) == 0:
                    raise _NotApplied(s.duplicate)
        except _NotApplied as not_applied:
            assert savepoint is not None
            await savepoint.rollback()
            return OpResult(False, duplicate=not_applied.duplicate)
        if savepoint is not None:
            await savepoint.commit()
        return OpResult(True, rows)

    async def close(self) -> None:
        return None


class GroupCommitter:
    def __init__(self, backend: Backend, max_batch: int = 512) -> None:
        self._backend, self._max_batch = backend, max_batch
        self._queue: deque[tuple[Sequence[Stmt], asyncio.Future[OpResult]]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.batches = 0
        self.ops = 0

    async def start(self) -> None:
        await self._backend.start()
        self._task = asyncio.create_task(self._loop(), name="group-commit")

    async def submit(self, op: Sequence[Stmt]) -> OpResult:
        if self._closing or self._task is None:
            raise RuntimeError("the database writer is not running")
        future: asyncio.Future[OpResult] = asyncio.get_running_loop().create_future()
        self._queue.append((op, future))
        self._wake.set()
        return await future

    async def _loop(self) -> None:
        while not (self._closing and not self._queue):
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self._max_batch))]
                await self._commit(batch)

    async def _commit(self, batch: list[tuple[Sequence[Stmt], asyncio.Future[OpResult]]]) -> None:
        try:
            results: list[OpResult | BaseException] = list(await self._backend.run_batch([op for op, _ in batch]))
        except Exception:
            results = []  # one op failed: run each alone so only that one fails
            for op, _ in batch:
                try:
                    results.extend(await self._backend.run_batch([op]))
                except Exception as exc:
                    log.warning("database write failed: %s", exc)
                    results.append(exc)
        self.batches += 1
        self.ops += len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self._backend.close()
