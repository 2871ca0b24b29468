"""Engine set-up and the Database handle passed to handlers.

SQLite: WAL, ``synchronous=FULL``, ``busy_timeout``, ``foreign_keys``; SQLAlchemy transactions start with
``BEGIN IMMEDIATE`` (a deferred BEGIN lets two writers read, then one silently loses its update), except
read-only sessions, which use a plain BEGIN and read a WAL snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.cache import RowCache
from storage.handled import HANDLED, HIGHEST, AlreadyHandled, Handling, current
from storage.writer import GroupCommitter, OpResult, SqlAlchemyBackend, SqliteBackend, Stmt

READ_ONLY = "sangkien_read_only"


class DatabaseUnavailable(Exception):
    """The database cannot be opened; the message is one line for the person running the bot."""


def create_engine(
    url: str, *, busy_timeout_ms: int = 5000, foreign_keys: bool = True, pool_size: int = 10
) -> AsyncEngine:
    sa_url = make_url(url)
    if not sa_url.drivername.startswith("sqlite"):  # a connection per update in flight, kept open: no churn
        return create_async_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size)
    engine = create_async_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        fks = "ON" if foreign_keys else "OFF"
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            f"busy_timeout={busy_timeout_ms}",
            f"foreign_keys={fks}",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

    return engine


class Database:
    def __init__(
        self, url: str, *, busy_timeout_ms: int = 5000, cache: bool | None = None, pool_size: int = 10
    ) -> None:
        self.url = url
        sa_url = make_url(url)
        self.is_sqlite = sa_url.drivername.startswith("sqlite")
        self.sqlite_path = sa_url.database if self.is_sqlite else None
        self.engine = create_engine(url, busy_timeout_ms=busy_timeout_ms, pool_size=pool_size)
        self.read_engine = self.engine.execution_options(**{READ_ONLY: True})
        backend = (
            SqliteBackend(str(self.sqlite_path), busy_timeout_ms) if self.is_sqlite else SqlAlchemyBackend(self.engine)
        )
        self.writer = GroupCommitter(backend)
        self.cache = RowCache(enabled=self.is_sqlite if cache is None else cache)
        self.count_basis = "recognised"  # what counts toward the quota: COUNT_TOWARD_QUOTA, set by the dispatcher

    async def check(self) -> None:
        """Open a connection once, creating the SQLite folder; raise DatabaseUnavailable with a clear reason."""
        if self.sqlite_path and self.sqlite_path != ":memory:":
            try:
                Path(self.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(f"cannot create the folder for {self.sqlite_path}: {exc}") from exc
        try:
            async with self.read_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise DatabaseUnavailable(f"cannot open the database {self.safe_url}: {reason}") from exc

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    async def start(self) -> None:
        await self.check()
        await self.writer.start()

    async def close(self) -> None:
        await self.writer.close()
        await self.engine.dispose()

    async def write(self, *stmts: Stmt) -> OpResult:
        """Run the statements as one op in the next group commit; returns after the commit.

        The first write made while an update is handled also records the update as handled, in the same
        transaction; raises ``AlreadyHandled`` when it was (and then nothing of the op is applied)."""
        handling = current.get()
        if handling is None or handling.recorded:
            return await self.writer.submit(stmts)
        result = await self.writer.submit((handling.stmt(), *stmts))
        if result.duplicate:
            raise AlreadyHandled(handling.key)
        handling.recorded = result.applied
        return result

    async def write_all(self, stmts: Sequence[Stmt]) -> OpResult:
        return await self.write(*stmts)

    async def write_unmarked(self, *stmts: Stmt) -> OpResult:
        """A write that is harmless to repeat (housekeeping), so it does not count as the update's effect."""
        return await self.writer.submit(stmts)

    async def was_handled(self, key: str) -> bool:
        async with self.read_engine.connect() as conn:
            return (await conn.execute(HANDLED, {"key": key})).first() is not None

    async def highest_handled(self, source: str) -> int | None:
        async with self.read_engine.connect() as conn:
            return (await conn.execute(HIGHEST, {"source": source})).scalar()

    async def record_handled(self, handling: Handling) -> None:
        """Record an update that changed nothing (harmless if it is already recorded)."""
        await self.writer.submit((handling.stmt(guard=False),))

    def session(self) -> AsyncSession:
        """A read-only session (plain BEGIN, WAL snapshot)."""
        return AsyncSession(self.read_engine, expire_on_commit=False)
